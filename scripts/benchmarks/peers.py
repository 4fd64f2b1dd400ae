"""The throughput contenders. Each is built once per workload and dtype (outside the timings) and then
asked, round by round, to ``train_epoch`` and to ``evaluate``; both continue from where the last round
left off."""

from __future__ import annotations

import attrs
import numpy as np

import fnmlp
import fnmlp.hw1 as hw1
from fnmlp.config import TrainConfig, layer_dropout
from fnmlp.runs.augmentation import row_augment

from .gemm_limit import GemmLimit
from .numpy_loop import NumpyLoop
from .skip import Skip, optional
from .workloads import DTYPES, FEATURES, NUM_CLASSES, Data, Workload

OPTIMIZERS = {"sgd": lambda w: fnmlp.sgd(w.lr, w.momentum), "adam": lambda w: fnmlp.adam(1e-3),
              "adamw": lambda w: fnmlp.adamw(1e-3)}
PEERS = ("hw1", "torch", "sklearn", "numpy-loop", "gemm-limit", "fnmlp-augment")


class FnmlpFit:
    """``fnmlp.fit`` for one epoch at a time (the loop the CLI uses); ``fnmlp.predict`` to evaluate."""

    def __init__(self, w: Workload, data: Data, dtype: str, seed: int, optimizer: str = "sgd", dropout: tuple = (),
                 augment: tuple = ()):
        self.spec, self.w = w.spec, w
        if dropout:  # the rates in --dropout's forms, as fnmlp train reads them
            self.spec = attrs.evolve(w.spec, dropout=layer_dropout(TrainConfig(hidden=w.hidden, dropout=dropout)))
        self.params, self.state = fnmlp.init_params(self.spec, seed, weight_init="lecun", dtype=DTYPES[dtype])
        self.opt = OPTIMIZERS[optimizer](w)
        self.x, self.y, self.x_eval = data.x[dtype], data.y, data.x_eval[dtype]
        self.seed = seed
        self.augment = row_augment(TrainConfig(augment=augment), FEATURES) if augment else None

    def train_epoch(self) -> float:
        self.seed += 1
        result = fnmlp.fit(self.spec, self.params, self.state, self.opt, (self.x, self.y), epochs=1,
                           batch_size=self.w.batch_size, rng=self.seed, augment=self.augment)
        self.params, self.state = result.params, result.bn_state
        return result.history[-1].train_loss

    def evaluate(self) -> None:
        fnmlp.predict(self.spec, self.params, self.state, self.x_eval)


class Hw1MLP:
    """``fnmlp.hw1.MLP`` built and trained as the handout's runner does."""

    def __init__(self, w: Workload, data: Data, dtype: str, seed: int):
        if dtype != "float64":
            raise Skip("the handout's classes run in float64")
        act = {"sigmoid": hw1.Sigmoid, "relu": hw1.ReLU, "tanh": hw1.Tanh}[w.activation]
        activations = [act() for _ in w.hidden] + [hw1.Identity()]
        init_rng = np.random.RandomState(seed)

        def weight_init(fan_in, fan_out):
            return init_rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)

        self.mlp = hw1.MLP(FEATURES, NUM_CLASSES, list(w.hidden), activations, weight_init, hw1.zeros_bias_init,
                           hw1.SoftmaxCrossEntropy(), w.lr, w.momentum, w.num_bn_layers)
        x, y = data.x[dtype], fnmlp.one_hot(data.y, NUM_CLASSES)
        held_out = (x[:w.batch_size], y[:w.batch_size])  # the runner's validation/test pass, kept tiny
        self.dset = ((x, y), held_out, held_out)
        self.batch_size, self.x_eval = w.batch_size, data.x_eval[dtype]

    def train_epoch(self) -> float:
        np.random.seed(0)
        self.mlp.train()
        losses = hw1.get_training_stats(self.mlp, self.dset, 1, self.batch_size)[0]
        return float(losses[-1])

    def evaluate(self) -> None:
        self.mlp.eval()
        self.mlp.forward(self.x_eval)


class TorchSequential:
    """The same network in PyTorch eager mode, starting from fnmlp's initial weights."""

    def __init__(self, w: Workload, data: Data, dtype: str, seed: int, threads: int):
        torch = optional("torch")
        torch.set_num_threads(threads)
        self.torch, self.w = torch, w
        params, _ = fnmlp.init_params(w.spec, seed, weight_init="lecun", dtype=DTYPES[dtype])
        layers = []
        act = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[w.activation]
        for i, (W, b) in enumerate(zip(params.W, params.b)):
            linear = torch.nn.Linear(*W.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b.copy()))
            layers.append(linear)
            if i < w.num_bn_layers:
                layers.append(torch.nn.BatchNorm1d(W.shape[1], eps=w.spec.bn_eps, momentum=1 - w.spec.bn_alpha))
            if i < len(w.hidden):
                layers.append(act())
        self.model = torch.nn.Sequential(*layers).to(getattr(torch, dtype))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=w.lr, momentum=w.momentum)
        self.loss = torch.nn.CrossEntropyLoss()
        self.x = torch.from_numpy(data.x[dtype])
        self.y = torch.from_numpy(data.y)
        self.x_eval = torch.from_numpy(data.x_eval[dtype])
        self.gen = torch.Generator().manual_seed(seed)

    def train_epoch(self) -> float:
        torch, bs = self.torch, self.w.batch_size
        self.model.train()
        order = torch.randperm(self.x.shape[0], generator=self.gen)
        loss_sum = torch.zeros((), dtype=torch.float64)
        wrong = torch.zeros((), dtype=torch.int64)
        for begin in range(0, self.x.shape[0], bs):
            rows = order[begin:begin + bs]
            xb, yb = self.x[rows], self.y[rows]
            self.opt.zero_grad(set_to_none=True)
            logits = self.model(xb)
            loss = self.loss(logits, yb)
            loss.backward()
            self.opt.step()
            with torch.no_grad():  # the epoch's training loss and error, as fnmlp reports them
                loss_sum += loss.detach() * xb.shape[0]
                wrong += (logits.argmax(dim=1) != yb).sum()
        return float(loss_sum) / self.x.shape[0]

    def evaluate(self) -> None:
        self.model.eval()
        with self.torch.inference_mode():
            self.model(self.x_eval)


class SklearnMLP:
    """``MLPClassifier(solver="sgd", nesterovs_momentum=False, alpha=0)``, one epoch per ``partial_fit``."""

    def __init__(self, w: Workload, data: Data, dtype: str, seed: int):
        neural_network = optional("sklearn.neural_network")
        if w.num_bn_layers:
            raise Skip("MLPClassifier has no BatchNorm")
        act = {"sigmoid": "logistic", "relu": "relu", "tanh": "tanh"}[w.activation]
        self.model = neural_network.MLPClassifier(
            hidden_layer_sizes=w.hidden, activation=act, solver="sgd", learning_rate_init=w.lr,
            momentum=w.momentum, nesterovs_momentum=False, alpha=0.0, batch_size=w.batch_size, shuffle=True,
            random_state=seed)
        self.x, self.y, self.x_eval = data.x[dtype], data.y, data.x_eval[dtype]
        self.classes = np.arange(NUM_CLASSES)
        self.model.partial_fit(self.x[:w.batch_size], self.y[:w.batch_size], classes=self.classes)
        if self.model.coefs_[0].dtype != self.x.dtype:
            raise Skip(f"MLPClassifier trains {self.x.dtype} data in {self.model.coefs_[0].dtype}")

    def train_epoch(self) -> float:
        self.model.partial_fit(self.x, self.y)
        return float(self.model.loss_)

    def evaluate(self) -> None:
        self.model.predict_proba(self.x_eval)


def contenders(threads: int, peers: set, optimizer: str = "sgd", dropout: tuple = (), augment: tuple = ()) -> list:
    """``(name, dtype, builder)`` of fnmlp and each of ``peers``; fnmlp's come first, each compared with
    every peer of its dtype. With ``augment`` tokens, ``fnmlp-augment`` is fnmlp training on augmented
    batches (its ratio is the cost of augmentation)."""
    table = [("fnmlp", d, lambda *a, **k: FnmlpFit(*a, **k, optimizer=optimizer, dropout=dropout)) for d in DTYPES]
    table += [("hw1", "float64", Hw1MLP)]
    table += [("torch", d, lambda *a, **k: TorchSequential(*a, **k, threads=threads)) for d in DTYPES]
    table += [("sklearn", d, SklearnMLP) for d in DTYPES]
    table += [("numpy-loop", d, NumpyLoop) for d in DTYPES]
    table += [("gemm-limit", d, GemmLimit) for d in DTYPES]
    if augment:
        table += [("fnmlp-augment", d, lambda *a, **k: FnmlpFit(*a, **k, optimizer=optimizer, dropout=dropout,
                                                                 augment=augment)) for d in DTYPES]
    return [c for c in table if c[0] == "fnmlp" or c[0] in peers]
