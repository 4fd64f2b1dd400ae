"""The research-style example script runs and learns."""

import os
import re
import subprocess
import sys
from pathlib import Path

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
