"""scripts/bench.py runs on a tiny workload and writes the JSON it promises (timings are not checked)."""

import json
import os

import attrs
import numpy as np
import pytest

import fnmlp
from fnmlp.config import RECIPES, build, layer_dropout, learning_rate

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "bench.py")


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
        expected = {f"{name}_{dtype}" for name in ("fnmlp", "torch", "sklearn", "numpy-loop", "gemm-limit")
                    for dtype in ("float32", "float64")} | {"hw1_float64"}
        ran, skipped = set(result["train"]), set(result["skipped"])
        assert ran | skipped == expected and not ran & skipped
        assert {"fnmlp_float32", "fnmlp_float64", "gemm-limit_float32", "gemm-limit_float64", "hw1_float64",
                "numpy-loop_float32", "numpy-loop_float64"} <= ran
        for dtype in ("float32", "float64"):
            peers = [key for key in result["train"] if key.endswith(dtype) and not key.startswith("fnmlp")]
            ours = result["train"][f"fnmlp_{dtype}"]["rounds"]
            assert len(ours) == max(1, len(peers))  # one run beside each peer, in each of the 1 rounds
            for key, theirs in zip(peers, ours):  # peers run in the order of the table, each beside fnmlp
                assert result["train"][key]["rounds"] == [result["train"][key]["median"]]
                assert result["ratios"][f"fnmlp_{dtype}/{key}"]["rounds"] == [
                    pytest.approx(theirs / result["train"][key]["median"])]
                assert result["eval"][key]["median"] > 0
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


@pytest.mark.parametrize("name", ["handout", "gemm"])
def test_the_hand_written_numpy_loop_trains_what_fit_trains(bench, name):
    """The reference loop is the same training as ``fit`` with SGD and momentum (float64, one epoch
    from the same weights and the same shuffle), so its speed is a fair ceiling for fnmlp's."""
    import numpy as np

    import fnmlp
    from fnmlp.training import fit

    w = bench.WORKLOADS[name]
    w = bench.attrs.evolve(w, hidden=bench.TINY_HIDDEN[name])
    data = bench.make_data(700, 50, seed=3)
    loop = bench.NumpyLoop(w, data, "float64", seed=5)
    loss = loop.train_epoch()
    params, state = fnmlp.init_params(w.spec, 5, weight_init="lecun", dtype=np.float64)
    result = fit(w.spec, params, state, fnmlp.sgd(w.lr, w.momentum), (data.x["float64"], data.y), epochs=1,
                 batch_size=w.batch_size, rng=5)
    for ours, theirs in zip(result.params.W + result.params.b, loop.W + loop.b):
        np.testing.assert_allclose(theirs, ours, rtol=1e-9, atol=1e-12)
    assert loss == pytest.approx(result.history[0].train_loss, rel=1e-12)
    assert not np.allclose(loop.W[0], params.W[0])


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


def test_fnmlp_can_train_with_dropout(bench, capsys, monkeypatch):
    specs = []
    monkeypatch.setattr(bench.FnmlpFit, "evaluate", lambda self: specs.append(self.spec))
    report = bench.main(["--tiny", "--workloads", "gemm", "--peers", "--dropout", "0.2", "0.5"])
    assert report["settings"]["dropout"] == [0.2, 0.5]
    assert specs and all(spec.dropout == (0.2, 0.5, 0.5) for spec in specs)
    assert report["workloads"][0]["train"]["fnmlp_float32"]["median"] > 0


def test_header_names_the_blas_kernel_threads_and_openblas_variables(bench, monkeypatch, capsys):
    monkeypatch.setenv("OPENBLAS_BENCH_TEST_VARIABLE", "7")
    info = bench.blas_info()
    assert {"library", "version", "kernel", "kernel_source", "threads", "env"} <= set(info)
    assert info["env"]["OPENBLAS_BENCH_TEST_VARIABLE"] == "7"
    assert all(name.startswith("OPENBLAS_") for name in info["env"])
    assert isinstance(info["threads"], int) and info["threads"] >= 1
    report = bench.main(["--tiny", "--workloads", "handout", "--peers", "gemm-limit"])
    out = capsys.readouterr().out
    m = report["machine"]
    assert m["blas_kernel"] == m["blas_info"]["kernel"] and m["threads"] == m["blas_info"]["threads"]
    assert m["openblas_env"]["OPENBLAS_BENCH_TEST_VARIABLE"] == "7"
    assert "OPENBLAS_BENCH_TEST_VARIABLE=7" in out and f"{m['blas_kernel']} kernels" in out


def test_blas_header_falls_back_to_numpys_build_configuration(bench, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_threadpoolctl(name, *args, **kwargs):
        if name == "threadpoolctl":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_threadpoolctl)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    info = bench.blas_info()
    assert info["kernel_source"] == "NumPy's build configuration"
    assert info["threads"] == 3 and info["threads_source"] == "OPENBLAS_NUM_THREADS"


def test_time_to_accuracy_on_a_tiny_slice_writes_its_table_plot_and_json(bench, tmp_path, capsys):
    path, plot = tmp_path / "tta.json", tmp_path / "tta.png"
    report = bench.main(["--tiny", "--time-to-accuracy", "--json", str(path), "--plot", str(plot)])
    out = capsys.readouterr().out
    assert json.loads(path.read_text()) == json.loads(json.dumps(report, default=float))
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["tta.json", "tta.png"]
    assert "workloads" not in report  # the throughput table is not run beside it
    tta = json.loads(path.read_text())["time_to_accuracy"]
    assert tta["targets"] == [50.0, 80.0, 99.9] and tta["train_rows"] == 2000 and tta["test_rows"] == 1000
    assert tta["recipe"]["hidden"] == [64, 64] and tta["recipe"]["epochs"] == 2
    assert set(tta["contenders"]) == {"fnmlp", "torch", "sklearn"}
    ran = {name: res for name, res in tta["contenders"].items() if "skipped" not in res}
    assert {"fnmlp", "sklearn"} <= set(ran)
    for name, res in ran.items():
        assert res["epochs"] == len(res["curve"]) == 2  # 99.9% is never reached in 2 epochs
        seconds = [s for s, _, _ in res["curve"]]
        assert [e for _, e, _ in res["curve"]] == [1, 2] and seconds == sorted(seconds) and seconds[0] > 0
        assert set(res["reached"]) == {"50", "80", "99.9"} and res["reached"]["99.9"] is None
        errors = [e for _, _, e in res["curve"]]
        assert res["best_error"] == min(errors) and all(0 <= e <= 1 for e in errors)
        for target, when in res["reached"].items():  # the first epoch at or past the target, if any
            passed = [(s, epoch) for s, epoch, e in res["curve"] if 100 * (1 - e) >= float(target)]
            assert (when, res["reached_epoch"][target]) == (passed[0] if passed else (None, None))
        assert res["seconds_per_epoch"] == pytest.approx(seconds[-1] / 2)
        assert name in out
    for peer, ratio in tta["ratios"].items():  # fnmlp's times over each peer's, as the table prints them
        ours, theirs = ran["fnmlp"], ran[peer]
        assert ratio["per_epoch"] == pytest.approx(ours["seconds_per_epoch"] / theirs["seconds_per_epoch"])
        for target, r in ratio["targets"].items():
            both = ours["reached"][target] is not None and theirs["reached"][target] is not None
            assert r == (pytest.approx(ours["reached"][target] / theirs["reached"][target]) if both else None)
        assert f"fnmlp / {peer}: " in out and f"{ratio['per_epoch']:.2f}x per epoch" in out
    assert set(tta["ratios"]) == set(ran) - {"fnmlp"}
    # every contender runs the best recipe at the tiny sizes, BatchNorm and weight decay in play
    assert tta["recipe"] == json.loads(json.dumps(
        bench.attrs.asdict(bench.attrs.evolve(bench.BEST_RECIPE, hidden=(64, 64), epochs=2))))
    assert tta["recipe"]["bn"] == 2 and tta["recipe"]["weight_decay"] > 0 and tta["seed"] == bench.BEST_RECIPE.seed
    assert ran["fnmlp"]["differences"] == [] and ran["fnmlp"]["description"] == tta["description"]
    assert "BatchNorm on 2 layers" in tta["description"] and "weight decay 0.0001" in tta["description"]
    if "torch" in ran:  # the one known difference, printed under the table
        assert ran["torch"]["description"] == tta["description"]
        assert ran["torch"]["differences"] == ["BatchNorm's running variance averages the unbiased batch "
                                               "variance (fnmlp: the biased one)"]
        assert f"torch differs from fnmlp: {ran['torch']['differences'][0]}" in out


def test_time_to_accuracy_stops_at_the_last_target(bench, capsys):
    report = bench.main(["--tiny", "--time-to-accuracy", "--tta-peers", "--targets", "5", "10", "--epochs", "3"])
    fnmlp_run = report["time_to_accuracy"]["contenders"]["fnmlp"]
    assert set(report["time_to_accuracy"]["contenders"]) == {"fnmlp"}
    assert fnmlp_run["epochs"] == 1 and fnmlp_run["reached"]["5"] == fnmlp_run["reached"]["10"] > 0


def test_memory_mode_measures_each_contender_in_its_own_process(bench, tmp_path, capsys):
    path = tmp_path / "memory.json"
    report = bench.main(["--tiny", "--memory", "--workloads", "handout", "--peers", "sklearn", "--json", str(path)])
    assert json.loads(path.read_text()) == json.loads(json.dumps(report, default=float))
    memory = report["memory"]
    assert memory["rows"] == 512 and set(memory["workloads"]) == {"handout"}
    table = memory["workloads"]["handout"]
    assert set(table) == {"fnmlp", "sklearn"} and "skipped" not in table["fnmlp"]
    for name, res in table.items():
        if "skipped" in res:
            continue
        assert {"peak_rss_mb", "rss_before_epoch_mb", "peak_before_epoch_mb", "epoch_growth_mb"} <= set(res)
        assert res["peak_rss_mb"] >= res["rss_before_epoch_mb"] > 10  # python, numpy and the data at least
        assert res["epoch_growth_mb"] == pytest.approx(res["peak_rss_mb"] - res["rss_before_epoch_mb"])
    assert "peak resident memory" in capsys.readouterr().out


def test_profile_recipe_prints_where_an_epoch_of_the_time_to_accuracy_run_goes(bench, tmp_path, capsys):
    path = tmp_path / "profile.json"
    report = bench.main(["--tiny", "--profile-recipe", "--json", str(path)])
    assert json.loads(path.read_text()) == json.loads(json.dumps(report, default=float))
    assert "workloads" not in report and "time_to_accuracy" not in report
    text = report["recipe_profile"]
    assert "function calls" in text and "Ordered by: internal time" in text
    for where in ("kernels.py", "batchnorm.py", "transform.py"):  # BatchNorm, dropout and the optimizer ran
        assert where in text
    assert "dropout_mask" in text and text in capsys.readouterr().out


def test_profile_alone_prints_where_an_epoch_goes(bench, capsys):
    report = bench.main(["--tiny", "--workloads", "handout", "--repeats", "0", "--profile"])
    assert "workloads" not in report and set(report["profiles"]) == {"handout"}
    text = report["profiles"]["handout"]
    assert "function calls" in text and "Ordered by: internal time" in text and "compiled_step.py" in text
    out = capsys.readouterr().out
    assert text in out
    parts = report["breakdown"]["handout"]
    assert list(parts) == ["epoch", "products", "forward+loss+backward", "optimizer", "gather", "loop"]
    assert parts["epoch"] > 0 and parts["products"] > 0 and parts["optimizer"] > 0 and parts["gather"] > 0
    assert sum(parts.values()) - parts["epoch"] == pytest.approx(parts["epoch"])  # the parts add up to the epoch
    steps = -(-512 // 100)
    assert f"| optimizer | {1e3 * parts['optimizer'] / steps:.3f} | {parts['optimizer'] / parts['epoch']:.1%} |" in out


@pytest.mark.parametrize("name", ["best", "handout"])
def test_the_time_to_accuracy_recipe_is_read_from_the_config_and_fnmlp_runs_it_as_fnmlp_train(bench, name):
    config = RECIPES[name]
    recipe = bench.check_recipe(config)
    assert recipe is config  # the config itself, no copy of its fields
    if name == "best":
        assert bench.BEST_RECIPE is config
    built = build(config, num_features=784, num_classes=10, num_train=55000)
    assert bench.fnmlp_training(recipe, -(-55000 // config.batch_size)) == (built.spec, built.optimizer)


def test_fnmlps_contender_starts_where_fnmlp_train_recipe_best_starts(bench):
    config = RECIPES["best"]
    spec = build(config, num_features=784, num_classes=10, num_train=55000).spec
    rng = fnmlp.as_rng(config.seed)  # as fnmlp train draws: the weights, then the shuffles from the same generator
    params, bn_state = fnmlp.init_params(spec, rng, weight_init=config.init, dtype=np.float32)
    contender = bench.FnmlpRecipe(bench.BEST_RECIPE, config.seed)
    assert contender.spec == spec and contender.params.W[0].dtype == np.float32
    assert fnmlp.tree_allclose(contender.params, params, rtol=0, atol=0)
    assert fnmlp.tree_allclose(contender.bn_state, bn_state, rtol=0, atol=0)
    assert contender.rng.randint(2**31) == rng.randint(2**31)


@pytest.mark.parametrize("change, option", [({"optimizer": "adam", "nesterov": False}, "optimizer"),
                                            ({"l2": 1e-4}, "l2"), ({"clip_norm": 1.0}, "clip_norm"),
                                            ({"early_stopping": 3}, "early_stopping"), ({"schedule": "step"}, "schedule"),
                                            ({"activation": ("relu", "tanh")}, "activation"),
                                            ({"dataset": "fashion-mnist"}, "dataset"), ({"limit": 100}, "limit")])
def test_a_config_the_contenders_cannot_express_is_refused_by_name(bench, change, option):
    with pytest.raises(ValueError, match=f"^config.{option}: expected "):
        bench.check_recipe(attrs.evolve(RECIPES["best"], **change))


@pytest.mark.parametrize("change", [{}, {"warmup_epochs": 0.5}, {"schedule": "constant"},
                                    {"schedule": "constant", "warmup_epochs": 1.0}])
def test_the_mirrors_learning_rate_is_fnmlps_schedule_at_every_step(bench, change):
    recipe = attrs.evolve(bench.BEST_RECIPE, epochs=3, **change)
    steps_per_epoch = 7
    ours = learning_rate(recipe, steps_per_epoch * recipe.batch_size)
    mirror = bench.recipe_schedule(recipe, steps_per_epoch)
    lrs = [mirror(step) for step in range(3 * steps_per_epoch + 2)]
    assert lrs == [ours(step) if callable(ours) else ours for step in range(len(lrs))]
    warmup = round(change.get("warmup_epochs", 0) * steps_per_epoch)
    assert lrs[warmup] == recipe.lr  # the first batch after the warm-up trains at lr, not at a decayed value
    assert lrs[:warmup] == [recipe.lr * step / warmup for step in range(warmup)]
    if recipe.schedule == "cosine":
        assert lrs[warmup + 1] < lrs[warmup] and lrs[-3] > 0.0
        assert lrs[-2] == lrs[-1] == 0.0  # 0 from the last step on
    else:
        assert lrs[warmup:] == [recipe.lr] * (len(lrs) - warmup)


def test_the_pytorch_mirror_trains_exactly_as_fnmlp(bench):
    torch = pytest.importorskip("torch")
    recipe = attrs.evolve(bench.BEST_RECIPE, hidden=(24, 16), dropout=(0.0, 0.0, 0.0), weight_decay=0.05,
                          batch_size=8, epochs=2, dtype="float64")
    rows, steps_per_epoch, steps = 24, 3, 5
    spec, optimizer = bench.fnmlp_training(recipe, steps_per_epoch)
    assert spec.num_bn_layers == 2 and not spec.has_dropout and spec.layer_sizes == (784, 24, 16, 10)
    data = np.random.default_rng(1)
    x, y = data.normal(size=(rows, 784)), data.integers(0, 10, rows)
    params, bn_state = fnmlp.init_params(spec, 0, weight_init="he", dtype=np.float64)
    # biases, gamma and beta away from 0 and 1, so that decaying them (fnmlp decays W only) would show
    params = attrs.evolve(params, b=[data.normal(size=b.shape) for b in params.b],
                          gamma=[1 + 0.3 * data.normal(size=g.shape) for g in params.gamma],
                          beta=[data.normal(size=b.shape) for b in params.beta])
    start = params
    mirror = bench.TorchRecipe(recipe, seed=0, threads=1)
    mirror.load(params, bn_state)
    lr = bench.recipe_schedule(recipe, steps_per_epoch)
    opt_state = optimizer.init(params)
    for step in range(steps):
        batch = slice(8 * (step % 3), 8 * (step % 3) + 8)
        loss, grads, bn_state = fnmlp.loss_and_grads(spec, params, bn_state, x[batch], y[batch])
        params, opt_state = optimizer.update(grads, opt_state, params)
        theirs = mirror.train_step(torch.from_numpy(x[batch]), torch.from_numpy(y[batch]), lr(step))
        assert float(theirs) == pytest.approx(loss, rel=1e-12, abs=0)
        if step == 0:  # the known difference: PyTorch's running variance takes the unbiased batch variance
            state, n = mirror.state(), 8
            for ours, their in zip(bn_state.running_var, state["running_var"]):
                np.testing.assert_allclose(their - spec.bn_alpha, (ours - spec.bn_alpha) * n / (n - 1), rtol=1e-9)
    state = mirror.state()
    assert len(state["W"]) == 3 and len(state["gamma"]) == 2
    for name in ("W", "b", "gamma", "beta"):
        for i, (ours, their) in enumerate(zip(getattr(params, name), state[name])):
            np.testing.assert_allclose(their, ours, rtol=1e-10, atol=1e-12, err_msg=f"{name}[{i}]")
            if name == "b" and i < 2:  # BatchNorm cancels the bias before it, and no decay moves it
                np.testing.assert_allclose(ours, start.b[i], rtol=0, atol=1e-12)
            else:
                assert not np.allclose(ours, getattr(start, name)[i], rtol=0, atol=1e-6), (name, i)  # trained
    for ours, their in zip(bn_state.running_mean, state["running_mean"]):
        np.testing.assert_allclose(their, ours, rtol=1e-10, atol=1e-12)


def test_the_pytorch_mirror_is_built_layer_by_layer_as_fnmlps_network(bench):
    torch = pytest.importorskip("torch")
    recipe = attrs.evolve(bench.BEST_RECIPE, hidden=(256, 128))
    mirror = bench.TorchRecipe(recipe, seed=3, threads=1)
    spec, _ = bench.fnmlp_training(recipe, 1)
    nn = torch.nn
    kinds = [type(m) for m in mirror.model]
    assert kinds == [nn.Dropout, nn.Linear, nn.BatchNorm1d, nn.ReLU] * 2 + [nn.Dropout, nn.Linear]
    assert [m.p for m in mirror.model if isinstance(m, nn.Dropout)] == list(layer_dropout(recipe))
    for norm in mirror.norms:
        assert norm.eps == spec.bn_eps and norm.momentum == pytest.approx(1 - spec.bn_alpha, abs=1e-15)
    assert all(p.dtype == torch.float32 for p in mirror.model.parameters())
    for linear, fan_in in zip(mirror.linears, (784, 256, 128)):  # He normal weights, zero biases
        weight = linear.weight.detach().numpy().astype(np.float64)
        assert abs(weight.mean()) < 0.1 * np.sqrt(2 / fan_in)
        assert weight.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.05)
        assert not linear.bias.detach().numpy().any()
    decayed, undecayed = mirror.opt.param_groups
    assert decayed["weight_decay"] == recipe.weight_decay and undecayed["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == {id(linear.weight) for linear in mirror.linears}
    assert len(undecayed["params"]) == 3 + 2 * 2  # the biases, gamma and beta
    assert all(group["nesterov"] and group["momentum"] == recipe.momentum for group in mirror.opt.param_groups)


def test_baseline_compares_an_epoch_with_another_checkout_in_fresh_processes(bench, capsys):
    repository = os.path.dirname(os.path.dirname(BENCH))
    try:
        report = bench.main(["--baseline", repository, "--baseline-workloads", "handout", "best", "--rows", "400",
                             "--repeats", "2", "--threads", "1", "--peers"])
        assert fnmlp.utils.threads.num_threads() == 1
    finally:
        fnmlp.utils.threads.set_num_threads(None)
    out = capsys.readouterr().out
    assert "workloads" not in report and set(report["baseline"]) == {"handout", "best"}
    for name, result in report["baseline"].items():
        assert len(result["baseline"]) == len(result["this"]) == 2
        assert all(0 < s < 60 for s in result["baseline"] + result["this"])
        ratios = sorted(b / t for b, t in zip(result["baseline"], result["this"]))
        assert result["ratio"] == pytest.approx((ratios[0] + ratios[1]) / 2)
        assert f"| {name} | {result['baseline_median']:.3f} | {result['this_median']:.3f} | {result['ratio']:.2f}x |" in out
    assert "fnmlp's elementwise pool: 1 threads" in out


def test_baseline_child_reports_a_failing_checkout(bench, tmp_path):
    (tmp_path / "fnmlp").mkdir()
    (tmp_path / "fnmlp" / "__init__.py").write_text("raise ImportError('not this one')\n")
    with pytest.raises(RuntimeError, match="handout in .* failed: .*not this one"):
        bench.main(["--baseline", str(tmp_path), "--baseline-workloads", "handout", "--rows", "200", "--repeats", "1",
                    "--peers"])


def test_augment_adds_fnmlp_on_augmented_batches_whose_ratio_is_the_cost(bench, capsys):
    report = bench.main(["--tiny", "--workloads", "gemm", "--peers", "fnmlp-augment", "--augment", "shift:2",
                         "elastic:alpha=34,sigma=4"])
    result = report["workloads"][0]
    assert {"fnmlp_float32", "fnmlp-augment_float32", "fnmlp_float64", "fnmlp-augment_float64"} == set(result["train"])
    assert report["settings"]["augment"] == ["shift:2", "elastic:alpha=34,sigma=4"]
    ratio = result["ratios"]["fnmlp_float32/fnmlp-augment_float32"]["median"]
    assert ratio > 0 and "fnmlp-augment" in capsys.readouterr().out
    spec = bench.WORKLOADS["gemm"]
    plain = bench.FnmlpFit(spec, bench.make_data(64, 8), "float32", 0)
    augmented = bench.FnmlpFit(spec, bench.make_data(64, 8), "float32", 0, augment=("shift:2",))
    assert plain.augment is None and augmented.augment.image_shape == (28, 28)
