"""The toy 1-D regression sets of the paper, and helpers to plot them.

:func:`make_toy_regression` generates the sets of the original SDE-BNN research code
(``cos``, ``cos2``, ``coscos``, ``b20``, ``b40``, ``b40gap``; see :data:`TOY_DATASETS`);
:func:`make_toy_grid`, :func:`toy_plot_range` and :func:`toy_true_function` give the
inputs, range and noise-free targets to draw a fitted model against.

This module imports only NumPy and scikit-learn (lazily).
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["TOY_DATASETS", "make_toy_grid", "make_toy_regression", "toy_plot_range", "toy_true_function"]


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
    # x in [0, 2] U [6, 8], y = cos(x) + 0.1 N(0, 1); x drawn uniformly (the original used a grid)
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
