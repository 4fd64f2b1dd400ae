"""Train the handout's MNIST network with fnmlp's pure functions, written out by hand.

This is the functional API in a research script: no trainer object, no hidden state. Every value
the loop carries (parameters, BatchNorm statistics, optimizer state, the generator) is in plain
sight, and every step returns new records instead of changing old ones. `fnmlp.fit` runs the same
loop for you; this script shows what it does.

    python3 scripts/train_mnist.py --epochs 10 --init lecun
"""

import argparse
import time

import numpy as np

import fnmlp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.008)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--init", default="lecun", choices=["normal", "lecun", "xavier", "he"])
    parser.add_argument("--bn", type=int, default=0, help="BatchNorm on the first K layers")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = fnmlp.load_mnist(dtype=args.dtype)
    x_train, y_train = data.train.x, data.train.y
    spec = fnmlp.MLPSpec.from_hidden_sizes(784, [64, 64, 32], 10, activation="sigmoid", num_bn_layers=args.bn)
    rng = np.random.default_rng(args.seed)
    params, bn_state = fnmlp.init_params(spec, rng, weight_init=args.init, dtype=args.dtype)
    optimizer = fnmlp.sgd(args.lr, momentum=args.momentum)
    opt_state = optimizer.init(params)

    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        order, loss_sum = rng.permutation(len(x_train)), 0.0
        for begin in range(0, len(x_train), args.batch_size):  # as fit: batch_size rows, the last may be fewer
            rows = order[begin:begin + args.batch_size]
            loss, grads, bn_state = fnmlp.loss_and_grads(spec, params, bn_state, x_train[rows], y_train[rows])
            params, opt_state = optimizer.update(grads, opt_state, params)
            loss_sum += loss * len(rows)
        val_loss, val_error = fnmlp.evaluate(spec, params, bn_state, data.validation.x, data.validation.y)
        print(f"epoch {epoch:3d}  train loss {loss_sum / len(x_train):.4f}  "
              f"validation loss {val_loss:.4f}  error {val_error:.4f}  ({time.perf_counter() - started:.1f} s)")

    test_loss, test_error = fnmlp.evaluate(spec, params, bn_state, data.test.x, data.test.y)
    print(f"test loss {test_loss:.4f}  error {test_error:.4f}")


if __name__ == "__main__":
    main()
