"""Data in: MNIST-style IDX data sets (``mnist``, ``idx``) and new inputs for a trained network
(``inputs``). Imports the model (targets, checks) and the base utilities, never runs or commands."""

from .idx import read_idx
from .mnist import (DATASET_NAMES, DEFAULT_URL, FASHION_MNIST_DIR, IDX_FILES, MNIST_DIR, Dataset, Split,
                    download_mnist, load_dataset, load_fashion_mnist, load_idx_dataset, load_mnist)

__all__ = ["DATASET_NAMES", "DEFAULT_URL", "Dataset", "FASHION_MNIST_DIR", "IDX_FILES", "MNIST_DIR", "Split",
           "download_mnist", "load_dataset", "load_fashion_mnist", "load_idx_dataset", "load_mnist", "read_idx"]
