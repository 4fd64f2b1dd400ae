"""The pieces of ``scripts/bench.py``: workloads and their data, the contenders (fnmlp and its peers),
the throughput rounds, time to accuracy, peak memory, profiles, the machine header and the report."""
