"""The machine a benchmark ran on: CPU, versions, and NumPy's BLAS with its kernel and threads."""

from __future__ import annotations

import importlib.metadata
import os
import platform

import numpy as np

import fnmlp


def blas_info() -> dict:
    """NumPy's BLAS: library, version, the kernel in use and its threads, and the ``OPENBLAS_*``
    variables set. The kernel comes from threadpoolctl's ``architecture`` (what OpenBLAS chose at run
    time); without threadpoolctl, from NumPy's build configuration (the build's target, which
    ``OPENBLAS_CORETYPE`` may override), and the threads from the environment."""
    env = {k: v for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_")}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
        for pool in threadpool_info():
            ours = pool["filepath"].startswith(numpy_dir) and "numpy" in pool["filepath"]
            if pool.get("user_api") == "blas" and ours:
                return {"library": pool["internal_api"], "version": pool.get("version"),
                        "kernel": pool.get("architecture"), "kernel_source": "threadpoolctl",
                        "threads": pool["num_threads"], "threads_source": "threadpoolctl", "env": env}
    config = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
    blas = config.get("Build Dependencies", {}).get("blas", {})
    built = blas.get("openblas configuration", "")
    kernel = next((word for word in built.split() if word[:1].isupper() and word.isalpha()
                   and word not in {"OpenBLAS", "USE64BITINT", "DYNAMIC_ARCH", "NO_AFFINITY"}), None)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            threads, source = int(os.environ[var]), var
            break
    else:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        source = "assumed: one per usable core"
    return {"library": blas.get("name", "?"), "version": blas.get("version", "?"), "kernel": kernel,
            "kernel_source": "NumPy's build configuration", "threads": threads, "threads_source": source,
            "env": env}


def describe_blas(info: dict) -> str:
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items()) or "none"
    return (f"{info['library']} {info['version']}, {info['kernel']} kernels ({info['kernel_source']}), "
            f"{info['threads']} threads; OPENBLAS_* set: {env}")


def machine(blas: dict) -> dict:
    """The report's ``machine`` entry: CPU, cores, Python, NumPy, BLAS (``blas_info``), fnmlp, torch, scikit-learn."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for module, distribution in (("torch", "torch"), ("sklearn", "scikit-learn"), ("threadpoolctl", "threadpoolctl")):
        try:
            versions[module] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[module] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "blas": describe_blas(blas), "blas_kernel": blas["kernel"], "threads": blas["threads"],
            "blas_info": blas, "openblas_env": blas["env"], "fnmlp": fnmlp.__version__, **versions}
