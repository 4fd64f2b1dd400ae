"""Hypothesis settings: ``ci`` (chosen when the environment has ``CI`` set) draws the same examples on
every run, so a CI failure reproduces locally with ``HYPOTHESIS_PROFILE=ci``; ``dev`` explores new
examples each run and remembers failing ones in ``.hypothesis/``. No deadline in either: timings
on a shared 2-core machine vary too much for one."""

import importlib.util
import os

import pytest
from hypothesis import settings

from fnmlp import cli

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, request):
    """A small run, one per test module that asks: 500 rows, 2 epochs, one hidden layer of 32
    (float64, the handout's sigmoid)."""
    directory = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]) / "run"
    assert cli.main(["train", "--limit", "500", "--epochs", "2", "--hidden", "32", "--out", str(directory),
                     "--progress", "none"]) == 0
    return directory


@pytest.fixture(scope="module")
def bench(request):
    """``scripts/bench.py`` loaded as a module of its own for each test module that asks."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "bench.py")
    spec = importlib.util.spec_from_file_location(f"fnmlp_bench_{request.module.__name__.rsplit('.', 1)[-1]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
