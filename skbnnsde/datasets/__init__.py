"""Data sets: the paper's toy 1-D regression sets, the UCI benchmark, image sets.

* :mod:`~skbnnsde.datasets.toy`: :func:`make_toy_regression` generates the toy 1-D
  regression sets of the original SDE-BNN research code (see :data:`TOY_DATASETS`), with
  :func:`make_toy_grid`, :func:`toy_plot_range` and :func:`toy_true_function` for plotting.
* :mod:`~skbnnsde.datasets.uci`: :func:`load_uci` reads the standard train/test splits of
  the UCI regression benchmark from a local folder (nothing is ever downloaded);
  :func:`uci_n_splits` and :func:`uci_dataset_name` answer questions about a set.
* :mod:`~skbnnsde.datasets.images`: :func:`load_mnist` and :func:`load_cifar10` read image
  files that the user provides, in their original distribution formats;
  :func:`load_digits_images` returns scikit-learn's bundled 8x8 digits as images;
  :func:`shift_images` adds shifted copies to a training set.

Every name is importable from here. Images are returned channel-first,
``(n, channels, height, width)``. The package imports only NumPy and scikit-learn (lazily).

Examples
--------
>>> from skbnnsde import datasets
>>> datasets.TOY_DATASETS
('cos', 'cos2', 'coscos', 'b20', 'b40', 'b40gap')
>>> datasets.uci_dataset_name("wine")
'wine-quality-red'
"""

from .images import load_cifar10, load_digits_images, load_mnist, shift_images
from .toy import TOY_DATASETS, make_toy_grid, make_toy_regression, toy_plot_range, toy_true_function
from .uci import UCI_ALIASES, UCI_DATASETS, load_uci, uci_dataset_name, uci_n_splits

__all__ = [
    "TOY_DATASETS",
    "UCI_ALIASES",
    "UCI_DATASETS",
    "load_cifar10",
    "load_digits_images",
    "load_mnist",
    "load_uci",
    "make_toy_grid",
    "make_toy_regression",
    "shift_images",
    "toy_plot_range",
    "toy_true_function",
    "uci_dataset_name",
    "uci_n_splits",
]
