"""The research-style example script runs and learns."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import attrs

import fnmlp

ROOT = Path(__file__).resolve().parent.parent


def test_train_mnist_script_runs_an_epoch_and_learns():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_mnist.py"), "--epochs", "1", "--lr", "0.05"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(fnmlp.__file__).parent.parent)})
    assert done.returncode == 0, done.stderr
    epoch = re.search(r"epoch +1 +train loss ([\d.]+) +validation loss ([\d.]+) +error ([\d.]+)", done.stdout)
    test = re.search(r"test loss ([\d.]+) +error ([\d.]+)", done.stdout)
    assert epoch and test, done.stdout
    assert float(epoch.group(2)) < 0.5 and float(epoch.group(3)) < 0.15, "one epoch at lr 0.05 learns"
    assert float(test.group(2)) < 0.15


def test_train_mnist_script_takes_the_batches_fit_takes(monkeypatch, capsys):
    """Consecutive ``--batch-size`` rows of a fresh permutation, the last batch smaller, as ``fit`` does."""
    full = fnmlp.load_mnist()
    small = attrs.evolve(full, train=fnmlp.Split(full.train.x[:250], full.train.y[:250]),
                         validation=fnmlp.Split(full.validation.x[:50], full.validation.y[:50]),
                         test=fnmlp.Split(full.test.x[:50], full.test.y[:50]))
    monkeypatch.setattr(fnmlp, "load_mnist", lambda **kwargs: small)
    sizes, loss_and_grads = [], fnmlp.loss_and_grads
    monkeypatch.setattr(fnmlp, "loss_and_grads",
                        lambda spec, params, state, x, y: sizes.append(len(x)) or loss_and_grads(spec, params, state, x, y))
    monkeypatch.setattr(sys, "argv", ["train_mnist.py", "--epochs", "2", "--batch-size", "100"])
    script = importlib.util.spec_from_file_location("train_mnist", ROOT / "scripts" / "train_mnist.py")
    module = importlib.util.module_from_spec(script)
    script.loader.exec_module(module)
    module.main()
    assert sizes == [100, 100, 50] * 2
    assert "test loss" in capsys.readouterr().out


def test_compare_sklearn_script_runs_both_tasks_and_writes_its_json(tmp_path, capsys):
    pytest = __import__("pytest")
    pytest.importorskip("sklearn")
    script = importlib.util.spec_from_file_location("compare_sklearn", ROOT / "scripts" / "compare_sklearn.py")
    compare = importlib.util.module_from_spec(script)
    script.loader.exec_module(compare)
    path = tmp_path / "compare.json"
    report = compare.main(["--tasks", "mnist", "digits", "--rows", "1000", "--test-rows", "300", "--hidden", "16",
                           "--epochs", "2", "--repeats", "2", "--lr", "0.05", "--batch-size", "50",
                           "--digits-settings", '{"hidden_layer_sizes": [8], "max_iter": 3, "random_state": 0}',
                           "--digits-fallback", '{"solver": "sgd"}', "--json", str(path)])
    import json
    assert json.loads(path.read_text()) == json.loads(json.dumps(report))
    mnist = report["mnist"]
    assert mnist["settings"]["rows"] == 1000 and len(mnist["rounds"]) == 2
    for r in mnist["rounds"]:
        assert r["fnmlp"]["epochs"] == r["sklearn"]["epochs"] == 2
        assert r["fnmlp"]["test_accuracy"] > 0.6 and r["sklearn"]["test_accuracy"] > 0.6
        assert r["speedup"] == r["sklearn"]["fit_seconds"] / r["fnmlp"]["fit_seconds"]
    digits = report["digits"]
    assert len(digits["sklearn"]["fold_accuracies"]) == 5
    assert len(digits["fnmlp"]["fold_accuracies"]) == 5  # scikit-learn's defaults train in fnmlp
    assert digits["fallback_settings"]["solver"] == "sgd" and len(digits["fnmlp_fallback"]["fold_accuracies"]) == 5
    out = capsys.readouterr().out
    assert "| round | fnmlp fit (s) |" in out and "median speed-up" in out and "| fnmlp |" in out


def test_compare_tables_script_trains_both_on_the_same_rows(tmp_path, capsys):
    pytest = __import__("pytest")
    pytest.importorskip("sklearn")
    script = importlib.util.spec_from_file_location("compare_tables", ROOT / "scripts" / "compare_tables.py")
    compare = importlib.util.module_from_spec(script)
    script.loader.exec_module(compare)
    path = tmp_path / "tables.json"
    report = compare.main(["--tasks", "wine", "diabetes", "--seeds", "0", "--epochs", "20", "--hidden", "8",
                           "--lr", "0.01", "--json", str(path)])
    import json
    assert json.loads(path.read_text()) == json.loads(json.dumps(report))
    wine, diabetes = report["tasks"]["wine"], report["tasks"]["diabetes"]
    assert wine["rows"] == 178 and diabetes["rows"] == 442
    assert wine["seeds"][0]["fnmlp"]["score"] > 0.8 and wine["seeds"][0]["sklearn"]["score"] > 0.8
    assert 0.0 < diabetes["seeds"][0]["fnmlp"]["score"] < 1.0 and 0.0 < diabetes["seeds"][0]["sklearn"]["score"] < 1.0
    assert "--data" in wine["seeds"][0]["fnmlp"]["command"]
    out = capsys.readouterr().out
    assert "| wine | 178 | test accuracy |" in out and "| diabetes | 442 | test R^2 |" in out
