"""Training on augmented batches: fit's ``augment`` and its own generator, resuming bit for bit, the
checkpoint's ``augment_rng``, ``TrainConfig.augment``, runs, the command line and sweeps."""

import copy
import gzip
import json
import struct
import threading
from pathlib import Path

import attrs
import numpy as np
import pytest

import fnmlp
import fnmlp.training.batches as batches
import fnmlp.training.loop as loop
from fnmlp import cli
from fnmlp.cli.train import describe_recipe
from fnmlp.model.initializers import as_rng
from fnmlp.plots.augment import plot_augment
from fnmlp.runs import resume_run, train_run
from fnmlp.runs.augmentation import row_augment
from fnmlp.runs.checkpoint import load_train_state, save_train_state
from fnmlp.sweep.plan import SweepError, make_plan, trial_config
from fnmlp.training.augment import Compose, Elastic, RowAugment, Shift
from fnmlp.training.config import RECIPES, ConfigError, TrainConfig
from fnmlp.training.loop import derived_rng, fit, fit_from

OLD_RUN = Path(__file__).parent / "data" / "run-d196804"
AUGMENT = RowAugment(Compose([Shift(1), (Elastic(2.0, 1.0), 0.5)]), (4, 4))


def problem(n=90, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 16))
    return x, (x @ rng.standard_normal((16, 3))).argmax(axis=1)


def setup():
    spec = fnmlp.MLPSpec.from_hidden_sizes(16, [12], 3, activation="relu", num_bn_layers=1, dropout=(0.1, 0.2))
    params, state = fnmlp.init_params(spec, 1, weight_init="he")
    return spec, params, state, fnmlp.sgd(0.05, momentum=0.9)


def same_params(a, b):
    return fnmlp.tree_allclose(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("prefetch", [True, False])
def test_training_with_augmentation_resumes_bit_for_bit_through_a_checkpoint(prefetch, monkeypatch, tmp_path):
    monkeypatch.setattr(loop, "PREFETCH", prefetch)
    spec, params, state, opt = setup()
    train = problem()
    whole = fit(spec, params, state, opt, train, epochs=3, batch_size=20, rng=4, augment=AUGMENT)
    part = fit(spec, params, state, opt, train, epochs=2, batch_size=20, rng=4, augment=AUGMENT)
    save_train_state(tmp_path / "c.npz", spec, opt, part.final)
    _, _, loaded, _ = load_train_state(tmp_path / "c.npz")
    assert loaded.augment_rng.bit_generator.state == part.final.augment_rng.bit_generator.state
    rest = fit_from(spec, opt, loaded, train, epochs=3, batch_size=20, augment=AUGMENT)
    assert same_params(rest.params, whole.params) and same_params(rest.bn_state, whole.bn_state)
    assert [s.train_loss for s in rest.history] == [s.train_loss for s in whole.history[2:]]
    monkeypatch.setattr(loop, "PREFETCH", not prefetch)
    other = fit(spec, params, state, opt, train, epochs=3, batch_size=20, rng=4, augment=AUGMENT)
    assert same_params(other.params, whole.params)
    plain = fit(spec, params, state, opt, train, epochs=3, batch_size=20, rng=4)
    assert not fnmlp.tree_allclose(plain.params, whole.params, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("prefetch", [True, False])
def test_batches_augmented_several_at_a_time_train_as_one_at_a_time(prefetch, monkeypatch):
    """A ``RowAugment`` takes ``GROUP_IMAGES // batch_size`` batches a call (its ``batched``), from
    each epoch's first; a function without ``batched`` takes one. Both train to the same bits."""
    monkeypatch.setattr(loop, "PREFETCH", prefetch)
    monkeypatch.setattr(batches, "GROUP_IMAGES", 45)  # two batches of 20 a call: 40, 40, then 10
    spec, params, state, opt = setup()
    calls = []

    class Counted(RowAugment):
        def batched(self, x_rows, batch_size, rng, rows=None):
            calls.append((rows.size, batch_size))
            return super().batched(x_rows, batch_size, rng, rows)

    grouped = fit(spec, params, state, opt, problem(), epochs=2, batch_size=20, rng=4,
                  augment=Counted(AUGMENT.transform, AUGMENT.image_shape))
    in_turn = fit(spec, params, state, opt, problem(), epochs=2, batch_size=20, rng=4,
                  augment=lambda x_rows, rng: AUGMENT(x_rows, rng))
    assert calls == [(40, 20), (40, 20), (10, 20)] * 2
    assert same_params(grouped.params, in_turn.params) and same_params(grouped.bn_state, in_turn.bn_state)
    assert grouped.final.augment_rng.bit_generator.state == in_turn.final.augment_rng.bit_generator.state


def test_prefetch_by_default_only_where_a_core_is_spare_beyond_fnmlps_threads(monkeypatch):
    from fnmlp.utils import threads
    monkeypatch.setattr(loop, "PREFETCH", None)
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    with threads.limit(4):
        assert loop.prefetching() is False
    with threads.limit(3):
        assert loop.prefetching() is True
    monkeypatch.setattr(loop, "PREFETCH", False)
    with threads.limit(1):
        assert loop.prefetching() is False
    monkeypatch.setattr(loop, "PREFETCH", True)
    with threads.limit(4):
        assert loop.prefetching() is True


def test_augmentation_draws_from_its_own_generator_and_leaves_the_others_alone():
    spec, params, state, opt = setup()
    x, labels = problem()
    seen = []

    def identity(batch, rng):
        seen.append((batch.copy(), rng, rng.bit_generator.state if not seen else None))
        return batch + 0.0

    plain = fit(spec, params, state, opt, (x, labels), epochs=2, batch_size=20, rng=4)
    same = fit(spec, params, state, opt, (x, labels), epochs=2, batch_size=20, rng=4, augment=identity)
    assert same_params(same.params, plain.params) and same_params(same.final.opt_state, plain.final.opt_state)
    for name in ("rng", "dropout_rng"):
        drawn = [copy.deepcopy(getattr(result.final, name)).random(4) for result in (same, plain)]
        assert np.array_equal(*drawn)
    assert plain.final.augment_rng is None and same.final.augment_rng is not None
    assert seen[0][2] == derived_rng(as_rng(4), "augment_rng").bit_generator.state
    assert seen[0][2] != derived_rng(as_rng(4)).bit_generator.state  # not the dropout generator
    assert len({id(rng) for _, rng, _ in seen}) == 1 and len(seen) == 10
    first_epoch = np.concatenate([batch for batch, _, _ in seen[:5]])
    assert [b.shape for b, _, _ in seen[:5]] == [(20, 16)] * 4 + [(10, 16)]
    np.testing.assert_array_equal(np.sort(first_epoch, axis=0), np.sort(x, axis=0))


def test_a_failing_augmentation_stops_training_and_its_worker():
    spec, params, state, opt = setup()
    threads = threading.active_count()
    calls = []

    def failing(batch, rng):
        calls.append(len(calls))
        if len(calls) == 3:
            raise RuntimeError("broken augmentation")
        return batch * 1.0

    with pytest.raises(RuntimeError, match="broken augmentation"):
        fit(spec, params, state, opt, problem(), epochs=2, batch_size=20, rng=4, augment=failing)
    with pytest.raises(fnmlp.TrainingDiverged):
        fit(spec, params, state, fnmlp.sgd(1e300), problem(), epochs=2, batch_size=20, rng=4, augment=AUGMENT)
    assert calls == [0, 1, 2] and threading.active_count() == threads


def test_checkpoints_without_augmentation_store_no_augment_generator(tmp_path):
    _, _, old, _ = load_train_state(OLD_RUN / "checkpoint.npz")
    assert old.augment_rng is None and old.dropout_rng is not None
    spec, params, state, opt = setup()
    plain = fit(spec, params, state, opt, problem(), epochs=1, batch_size=20, rng=4)
    save_train_state(tmp_path / "c.npz", spec, opt, plain.final)
    with np.load(tmp_path / "c.npz") as npz:
        header = json.loads(npz["fnmlp.json"].tobytes())
        assert "augment_rng" not in header["train"] and not any("augment" in name for name in npz.files)
    assert load_train_state(tmp_path / "c.npz")[2].augment_rng is None


def test_the_configuration_keeps_checked_tokens():
    config = TrainConfig(augment="shift:2 affine:rot=15,scale=0.1")
    assert config.augment == ("shift:2", "affine:rot=15,scale=0.1")
    assert TrainConfig(augment=["elastic:alpha=34,sigma=4"]).augment == ("elastic:alpha=34,sigma=4",)
    assert TrainConfig.from_dict(config.to_dict()) == config and config.to_dict()["augment"] == list(config.augment)
    old = TrainConfig().to_dict()
    del old["augment"]
    assert TrainConfig.from_dict(old).augment == ()
    with pytest.raises(ConfigError, match=r"^augment: 'shift:x': max_pixels: expected an integer, got 'x'$"):
        TrainConfig(augment=["shift:x"])
    with pytest.raises(ConfigError, match="^augment: expected a list of augmentation tokens"):
        TrainConfig(augment=[2])


def test_best_aug_is_best_with_augmentation_lighter_dropout_and_more_epochs():
    best, aug = RECIPES["best"], RECIPES["best-aug"]
    assert attrs.evolve(aug, epochs=best.epochs, augment=(), dropout=best.dropout) == best
    assert (aug.epochs, aug.dropout, best.dropout) == (90, (0.1, 0.3), (0.2, 0.5))
    assert [token.split(":")[0] for token in aug.augment] == ["affine", "elastic"]
    assert ("--augment affine:rot=10,scale=0.1,translate=2,p=0.4 elastic:alpha=34,sigma=4,p=0.4"
            in describe_recipe(aug))


def test_rows_must_be_square_images_and_fill_is_a_blank_pixel():
    config = TrainConfig(augment=("shift:1",))
    with pytest.raises(ConfigError, match="^augment: expected a data set of square images to transform, got rows "
                                          "of 30 features"):
        row_augment(config, 30)
    augment = row_augment(config, 9, pixel_mean=0.25, pixel_std=0.5)
    assert augment == RowAugment(Compose([Shift(1, fill=-0.5)]), (3, 3))
    assert row_augment(TrainConfig(), 30) is None


def test_a_run_with_augmentation_records_it_and_resumes_bit_for_bit(tmp_path):
    config = TrainConfig(hidden=(8,), epochs=2, limit=120, batch_size=40, dtype="float32", lr=0.05,
                         augment=("shift:2", "elastic:alpha=8,sigma=3,p=0.5"))
    whole = train_run(config, tmp_path / "whole")
    train_run(attrs.evolve(config, epochs=1), tmp_path / "part")
    resumed = resume_run(tmp_path / "part", epochs=2)
    assert same_params(resumed.state.params, whole.state.params)
    summary = json.loads((tmp_path / "whole" / "summary.json").read_text())
    assert summary["config"]["augment"] == ["shift:2", "elastic:alpha=8,sigma=3,p=0.5"]
    assert load_train_state(tmp_path / "part" / "checkpoint.npz")[3]["config"]["augment"] == summary["config"]["augment"]
    plain = train_run(attrs.evolve(config, augment=()), tmp_path / "plain")
    assert not fnmlp.tree_allclose(plain.state.params, whole.state.params, rtol=1e-3, atol=1e-3)


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes(), mtime=0))


def test_the_command_line_refuses_augmenting_images_that_are_not_square(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = tmp_path / "wide"
    data.mkdir()
    for split, n in (("train", 5010), ("t10k", 20)):
        write_idx(data / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 5, 6), dtype=np.uint8))
        write_idx(data / f"{split}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    code = cli.main(["train", "--dataset", str(data), "--augment", "shift:1", "--epochs", "1", "--hidden", "4", "--batch-size", "5",
                     "--out", str(tmp_path / "run"), "--progress", "none"])
    assert code == 2 and not (tmp_path / "run").exists()
    assert capsys.readouterr().err == ("fnmlp: error: --augment: expected a data set of square images to transform, "
                                       "got rows of 30 features, which is not a square number\n")


def test_show_augment_draws_the_picture_without_training(tmp_path, capsys):
    code = cli.main(["train", "--augment", "shift:2", "elastic:alpha=34,sigma=4", "--limit", "200", "--show-augment",
                     "--out", str(tmp_path / "pic")])
    assert code == 0 and sorted(p.name for p in (tmp_path / "pic").iterdir()) == ["augment.png"]
    assert capsys.readouterr().out == f"augmentation drawn in {tmp_path / 'pic' / 'augment.png'}\n"
    assert (tmp_path / "pic" / "augment.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"^images: expected an array \(m, H, W\) with m >= 1"):
        plot_augment(np.zeros((0, 3, 3)), tmp_path / "none.png")


def test_sweep_files_take_augmentation_in_base_and_grid():
    plan = make_plan({"base": {"augment": "shift:2", "limit": 100},
                      "grid": {"augment": [[], ["shift:1", "elastic:alpha=8"], "affine:rot=5"]}}, "sweep.toml")
    configs = [trial_config(trial["options"]) for trial in plan["trials"]]
    assert [c.augment for c in configs] == [(), ("shift:1", "elastic:alpha=8"), ("affine:rot=5",)]
    assert trial_config(make_plan({"base": {"augment": "shift:2"}, "grid": {"lr": [0.1]}}, "s")["trials"][0]
                        ["options"]).augment == ("shift:2",)
    with pytest.raises(SweepError, match=r"^s.toml: grid.augment\[1\]: 'blur': expected a transform among"):
        make_plan({"grid": {"augment": [["shift:1"], ["blur"]]}}, "s.toml")


def test_show_augment_draws_sixteen_draws_beside_the_original(tmp_path, monkeypatch):
    import fnmlp.plots.augment as picture
    from fnmlp.runs import preview
    from fnmlp.training.config import TrainConfig

    drawn = {}
    monkeypatch.setattr(picture, "plot_augment", lambda images, path, title="": drawn.update(images=images, title=title))
    preview.show_augment(TrainConfig(augment=("shift:2",), limit=200), tmp_path)
    images = drawn["images"]
    assert images.shape == (17, 28, 28) and drawn["title"] == "shift:2"
    assert images.min() >= -1e-6 and images.max() <= 1 + 1e-6
    # a shift of at most 2 pixels keeps every draw's ink within 2 rows and columns of the original's
    ink = images > 0.5
    rows = [np.flatnonzero(tile.any(axis=1)) for tile in ink]
    assert all(abs(r[0] - rows[0][0]) <= 2 and abs(r[-1] - rows[0][-1]) <= 2 for r in rows[1:])
    assert sum(not np.array_equal(tile, images[0]) for tile in images[1:]) >= 12


def test_augment_picture_is_the_original_beside_a_four_by_four_grid(tmp_path):
    plot_augment(np.zeros((17, 6, 6)), tmp_path / "a.png", title="t")
    header = (tmp_path / "a.png").read_bytes()[16:24]
    width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")
    assert (width, height) == (round(5.2 * 1.3 * 100), round(4 * 1.3 * 100 + 40))
