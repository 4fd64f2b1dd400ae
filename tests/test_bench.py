"""scripts/bench.py runs on a tiny workload and writes the JSON it promises (timings are not checked)."""

import importlib.util
import json
import os

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "bench.py")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("fnmlp_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_run_writes_every_figure_for_every_contender(bench, tmp_path, capsys):
    path = tmp_path / "bench.json"
    report = bench.main(["--tiny", "--workloads", "handout", "gemm", "--json", str(path)])
    table = capsys.readouterr().out
    assert json.loads(path.read_text()) == json.loads(json.dumps(report, default=float))
    assert not [name for name in os.listdir(tmp_path) if name != "bench.json"]  # no temporary left behind

    assert {"cpu", "cores", "numpy", "blas", "threads", "torch", "sklearn"} <= set(report["machine"])
    assert report["settings"]["rows"] == 512 and report["settings"]["repeats"] == 1
    assert [w["workload"]["name"] for w in report["workloads"]] == ["handout", "gemm"]
    for result in report["workloads"]:
        expected = {f"{name}_{dtype}" for name in ("fnmlp", "torch", "sklearn", "gemm-limit")
                    for dtype in ("float32", "float64")} | {"hw1_float64"}
        ran, skipped = set(result["train"]), set(result["skipped"])
        assert ran | skipped == expected and not ran & skipped
        assert {"fnmlp_float32", "fnmlp_float64", "gemm-limit_float32", "gemm-limit_float64", "hw1_float64"} <= ran
        for dtype in ("float32", "float64"):
            peers = [key for key in result["train"] if key.endswith(dtype) and not key.startswith("fnmlp")]
            ours = result["train"][f"fnmlp_{dtype}"]["rounds"]
            assert len(ours) == max(1, len(peers))  # one run beside each peer, in each of the 1 rounds
            for key, theirs in zip(peers, ours):  # peers run in the order of the table, each beside fnmlp
                assert result["train"][key]["rounds"] == [result["train"][key]["median"]]
                assert result["ratios"][f"fnmlp_{dtype}/{key}"]["rounds"] == [
                    pytest.approx(theirs / result["train"][key]["median"])]
                assert key.startswith("gemm-limit") or result["eval"][key]["median"] > 0
                assert key.replace("_", " ") in table
            assert min(ours) > 0 and result["eval"][f"fnmlp_{dtype}"]["median"] > 0
        for key, why in result["skipped"].items():
            assert why and f"{key.replace('_', ' ')}" in table and "skipped" in table

    gemm = report["workloads"][1]
    sizes, rows, batch = (784, 256, 256, 10), 512, 256
    pairs = list(zip(sizes[:-1], sizes[1:]))
    per_row = sum(2 * m * n for m, n in pairs) * 2 + sum(2 * m * n for m, n in pairs[1:])
    assert tuple(gemm["workload"]["hidden"]) == (256, 256) and gemm["workload"]["batch_size"] == batch
    assert gemm["gemm_flops_per_epoch"] == per_row * rows


def test_batchnorm_variants_and_peer_selection(bench, capsys):
    report = bench.main(["--tiny", "--workloads", "handout", "--bn", "1", "--peers", "gemm-limit"])
    names = [w["workload"]["name"] for w in report["workloads"]]
    assert names == ["handout", "handout-bn1"]
    assert [w["workload"]["num_bn_layers"] for w in report["workloads"]] == [0, 1]
    for result in report["workloads"]:
        assert set(result["train"]) == {"fnmlp_float32", "fnmlp_float64", "gemm-limit_float32", "gemm-limit_float64"}
        assert set(result["ratios"]) == {"fnmlp_float32/gemm-limit_float32", "fnmlp_float64/gemm-limit_float64"}
    assert "handout-bn1: 784-64-64-32-10 sigmoid, BatchNorm on 1" in capsys.readouterr().out


def test_a_peer_failing_is_skipped_with_its_error_but_fnmlp_failing_stops_the_run(bench, monkeypatch):
    def fail(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(bench.GemmLimit, "train_epoch", fail)
    report = bench.main(["--tiny", "--workloads", "handout", "--peers", "gemm-limit"])
    result = report["workloads"][0]
    assert set(result["train"]) == {"fnmlp_float32", "fnmlp_float64"} and result["ratios"] == {}
    assert result["skipped"]["gemm-limit_float32"] == "failed in the warm-up: RuntimeError: boom"
    monkeypatch.setattr(bench.FnmlpFit, "train_epoch", fail)
    with pytest.raises(RuntimeError, match="boom"):
        bench.main(["--tiny", "--workloads", "handout", "--peers"])


def test_fnmlp_can_train_with_adam(bench, capsys, monkeypatch):
    built = []
    monkeypatch.setattr(bench.FnmlpFit, "evaluate", lambda self: built.append(self.opt))
    report = bench.main(["--tiny", "--workloads", "handout", "--peers", "--optimizer", "adam"])
    assert report["settings"]["optimizer"] == "adam"
    assert built and all(opt == bench.fnmlp.adam(1e-3) for opt in built)
    assert report["workloads"][0]["train"]["fnmlp_float32"]["median"] > 0
