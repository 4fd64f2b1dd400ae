"""scripts/bench.py --array-backend: the table of fnmlp on other array libraries, one line and exit
status 2 for a library that cannot run here (timings are not checked)."""

import importlib.util
import os
import sys

import numpy as np
import fnmlp
import pytest

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed here")
def test_cupy_without_cupy_is_one_line_and_exit_status_2(bench, capsys):
    with pytest.raises(SystemExit) as done:
        bench.main(["--array-backend", "cupy"])
    assert done.value.code == 2
    assert capsys.readouterr().out == "--array-backend cupy: cupy is not installed here, nothing measured\n"


def test_numpy_backend_measures_fnmlp_on_the_gemm_network(bench, capsys):
    report = bench.main(["--array-backend", "numpy", "--tiny"])
    result = report["array_backends"]
    assert "workloads" not in report and result["rows"] == 512
    assert result["workload"].startswith("784-1024-1024-10 relu, batch 256") and result["workload"].endswith("float32")
    assert len(result["train"]["fnmlp numpy"]["rounds"]) == 1 and result["train"]["fnmlp numpy"]["median"] > 0
    assert "fnmlp numpy" in capsys.readouterr().out.split("array backends:")[1]


def test_fnmlp_on_another_namespace_trains_what_numpy_trains(bench):
    xs = pytest.importorskip("array_api_strict")
    sys.path.insert(0, SCRIPTS)
    from benchmarks.array_backends import FnmlpOn
    from benchmarks.peers import FnmlpFit
    from benchmarks.workloads import WORKLOADS, make_data

    data = make_data(256, 0, 0, ("float32",))
    ours, theirs = FnmlpFit(WORKLOADS["gemm"], data, "float32", 0), FnmlpOn(data, 0, xs)
    assert abs(theirs.train_epoch() - ours.train_epoch()) < 1e-5
    assert np.allclose(fnmlp.to_numpy(theirs.params.W[2]), ours.params.W[2], rtol=0, atol=1e-5)
