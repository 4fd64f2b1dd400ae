"""Files written before the layout moved (by main at d196804, in tests/data/run-d196804: a 2-epoch run of
784-8-10 with BatchNorm, dropout, AdamW and a cosine schedule on 200 MNIST rows) still load and resume."""

import json
import shutil
from pathlib import Path

import numpy as np

import fnmlp
from fnmlp.runs import resume_run, train_run
from fnmlp.runs.train import recipe_config

OLD_RUN = Path(__file__).parent / "data" / "run-d196804"


def test_params_and_checkpoints_written_before_the_move_still_load():
    spec, params, bn_state, meta = fnmlp.load_params(OLD_RUN / "params.npz")
    assert spec.layer_sizes == (784, 8, 10) and spec.num_bn_layers == 1 and spec.dropout == (0.0, 0.1)
    assert meta["dataset"]["name"] == "mnist"
    spec2, optimizer, state, meta2 = fnmlp.load_train_state(OLD_RUN / "checkpoint.npz")
    assert spec2 == spec and state.epoch == 2 and len(meta2["history"]) == 2
    assert fnmlp.tree_allclose(state.params, params, rtol=0, atol=0)


def test_a_run_written_before_the_move_resumes_bit_for_bit(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(OLD_RUN, old)
    resumed = resume_run(old, epochs=3)
    options = dict(json.loads((OLD_RUN / "summary.json").read_text())["config"])
    recipe = options.pop("recipe")
    first = train_run(recipe_config(recipe, options), tmp_path / "fresh")  # today's code, the same 2 epochs
    assert fnmlp.tree_allclose(first.state.params, fnmlp.load_train_state(OLD_RUN / "checkpoint.npz")[2].params,
                               rtol=0, atol=0)
    fresh = resume_run(tmp_path / "fresh", epochs=3)
    assert resumed.status == fresh.status == "completed" and resumed.state.epoch == 3
    assert fnmlp.tree_allclose(resumed.state.params, fresh.state.params, rtol=0, atol=0)
    with np.load(old / "params.npz") as a, np.load(tmp_path / "fresh" / "params.npz") as b:
        assert all(np.array_equal(a[name], b[name]) for name in a.files if name != "fnmlp.json")
