"""Tests for skbnnsde.datasets: the toy and UCI regression sets (the image loaders: test_image_datasets.py)."""

from pathlib import Path

import numpy as np
import pytest

from skbnnsde.datasets import uci as ds
from skbnnsde.datasets import (
    TOY_DATASETS,
    UCI_DATASETS,
    load_uci,
    make_toy_grid,
    make_toy_regression,
    toy_plot_range,
    toy_true_function,
    uci_dataset_name,
    uci_n_splits,
)

# --------------------------------------------------------------------------- #
# toy 1-D regression
# --------------------------------------------------------------------------- #
INTERVALS = {
    "cos": [(0, 2), (6, 8)],
    "cos2": [(0, 2), (6, 8)],
    "coscos": [(0, 4)],
    "b20": [(-2, -0.5), (0, 2)],
    "b40": [(-4, -3), (-2.5, 2), (2, 4)],
    "b40gap": [(-4, -3), (-2.5, -1), (1, 2), (3, 4)],
}
DEFAULT_N = {"cos": 40, "cos2": 80, "coscos": 20, "b20": 20, "b40": 56, "b40gap": 40}


def test_toy_names():
    assert {"cos", "b20", "b40", "b40gap"} <= set(TOY_DATASETS)
    assert set(TOY_DATASETS) == set(INTERVALS)


@pytest.mark.parametrize("name", sorted(INTERVALS))
def test_toy_shapes_ranges_and_determinism(name):
    X, y = make_toy_regression(name, random_state=0)
    n = DEFAULT_N[name]
    assert X.shape == (n, 1) and y.shape == (n,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    x = X[:, 0]
    inside = np.zeros(n, bool)
    for lo, hi in INTERVALS[name]:
        inside |= (x >= lo) & (x <= hi)
    assert inside.all()
    X2, y2 = make_toy_regression(name, random_state=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    _, y3 = make_toy_regression(name, random_state=1)
    assert not np.array_equal(y, y3)
    # plot range covers the data with a margin
    lo, hi = toy_plot_range(name)
    assert lo < x.min() and hi > x.max()


def test_cos_definition():
    X, y = make_toy_regression("cos", n_samples=2000, random_state=0)
    x = X[:, 0]
    assert np.all(((x >= 0) & (x <= 2)) | ((x >= 6) & (x <= 8)))
    assert np.sum(x <= 2) == 1000
    resid = y - np.cos(x)
    assert resid.std() == pytest.approx(0.1, rel=0.1)
    assert abs(resid.mean()) < 0.01
    # uniform, not gridded: the inputs are not evenly spaced
    assert np.unique(np.round(np.diff(np.sort(x[x <= 2])), 9)).size > 10
    # noise=0 gives the exact function
    X0, y0 = make_toy_regression("cos", noise=0.0, random_state=0)
    np.testing.assert_allclose(y0, np.cos(X0[:, 0]))


def test_cubic_sets_follow_original_layout():
    X, y = make_toy_regression("b20", noise=0.0)
    np.testing.assert_allclose(
        X[:, 0], np.concatenate([np.linspace(-2, -0.5, 10), np.linspace(0, 2, 10)])
    )
    np.testing.assert_allclose(y, X[:, 0] ** 3)
    X, _ = make_toy_regression("b40", noise=0.0)
    expected = np.concatenate(
        [
            np.linspace(-4, -3, 20),
            np.linspace(-2.5, -1, 8),
            np.linspace(-1, 2, 8),
            np.linspace(2, 4, 20),
        ]
    )
    np.testing.assert_allclose(X[:, 0], expected)
    X, _ = make_toy_regression("b40gap", noise=0.0)
    x = X[:, 0]
    assert not np.any((x > -1) & (x < 1)) and not np.any((x > 2) & (x < 3))
    assert [np.sum((x >= lo) & (x <= hi)) for lo, hi in INTERVALS["b40gap"]] == [10] * 4
    # default noise of the cubic sets is 3
    X, y = make_toy_regression("b40gap", n_samples=4000, random_state=0)
    assert np.std(y - X[:, 0] ** 3) == pytest.approx(3.0, rel=0.05)


def test_bimodal_sets():
    X, y = make_toy_regression("cos2", noise=0.0)
    f = toy_true_function("cos2", X)
    assert f.shape == (80, 2)
    np.testing.assert_allclose(y[:40], np.cos(X[:40, 0]))
    np.testing.assert_allclose(y[40:], -np.cos(X[40:, 0]))
    X, y = make_toy_regression("coscos", noise=0.0)
    np.testing.assert_allclose(y[:10], np.sqrt(X[:10, 0] + 1))
    np.testing.assert_allclose(y[10:], -np.sqrt(X[10:, 0] + 1))
    assert X[10:, 0].min() == 1.0


def test_toy_n_samples_and_design():
    X, y = make_toy_regression("b40", n_samples=14, random_state=0)
    assert X.shape == (14, 1)
    Xu, _ = make_toy_regression("b20", design="uniform", random_state=3)
    Xg, _ = make_toy_regression("b20", design="grid", random_state=3)
    assert not np.allclose(Xu, Xg)
    X, _ = make_toy_regression("cos2", n_samples=7, random_state=0)
    assert X.shape == (7, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "nope"}, "Unknown toy"),
        ({"name": "cos", "n_samples": 0}, "n_samples"),
        ({"name": "cos", "n_samples": 2.5}, "n_samples"),
        ({"name": "cos", "noise": -1.0}, "noise"),
        ({"name": "cos", "design": "random"}, "design"),
    ],
)
def test_toy_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_toy_regression(**kwargs)


def test_toy_grid_and_true_function():
    grid = make_toy_grid("b40gap", n_points=101)
    assert grid.shape == (101, 1)
    assert (grid[0, 0], grid[-1, 0]) == toy_plot_range("b40gap")
    assert np.all(np.diff(grid[:, 0]) > 0)
    np.testing.assert_allclose(toy_true_function("b40gap", grid)[:, 0], grid[:, 0] ** 3)
    # coscos is defined on the whole plot range (no NaN from sqrt)
    assert np.all(np.isfinite(toy_true_function("coscos", make_toy_grid("coscos"))))
    with pytest.raises(ValueError, match="n_points"):
        make_toy_grid("cos", n_points=1)
    with pytest.raises(ValueError, match="Unknown toy"):
        toy_plot_range("nope")


# --------------------------------------------------------------------------- #
# UCI
# --------------------------------------------------------------------------- #
SHARED_UCI = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "uci"
needs_uci = pytest.mark.skipif(
    not (SHARED_UCI / "bostonHousing" / "data.txt").is_file(),
    reason=f"shared UCI data not found at {SHARED_UCI}",
)
UCI_SHAPES = {
    "bostonHousing": (506, 13),
    "concrete": (1030, 8),
    "energy": (768, 8),
    "wine-quality-red": (1599, 11),
    "yacht": (308, 6),
}


@needs_uci
@pytest.mark.parametrize("name", list(UCI_SHAPES))  # the five small sets, 20 splits each
def test_uci_shapes_and_partition(name):
    n_total, n_features = UCI_SHAPES[name]
    assert uci_n_splits(name, SHARED_UCI) == 20
    for split in (0, 19):
        X_tr, y_tr, X_te, y_te = load_uci(name, split=split, data_dir=SHARED_UCI)
        assert X_tr.shape[1] == X_te.shape[1] == n_features
        assert X_tr.shape[0] + X_te.shape[0] == n_total
        assert y_tr.shape == (X_tr.shape[0],) and y_te.shape == (X_te.shape[0],)
        assert 0.85 < X_tr.shape[0] / n_total < 0.95
        # train and test rows partition the data: compare against data.txt rows
        data = np.loadtxt(SHARED_UCI / name / "data.txt")
        rows = np.concatenate(
            [np.column_stack([X_tr, y_tr]), np.column_stack([X_te, y_te])]
        )
        target = int(np.loadtxt(SHARED_UCI / name / "index_target.txt"))
        feats = np.loadtxt(SHARED_UCI / name / "index_features.txt", dtype=int)
        full = np.column_stack([data[:, feats], data[:, target]])
        key = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
        np.testing.assert_array_equal(key(rows), key(full))


PROTEIN = "protein-tertiary-structure"
needs_protein = pytest.mark.skipif(
    not (SHARED_UCI / PROTEIN / "data.txt").is_file(),
    reason=f"shared UCI protein data not found at {SHARED_UCI / PROTEIN}",
)


def test_uci_datasets_are_the_small_sets_and_protein():
    assert set(UCI_DATASETS) == set(UCI_SHAPES) | {PROTEIN}
    for name in UCI_DATASETS:
        assert uci_dataset_name(name.upper()) == name
    assert uci_dataset_name(" protein ") == uci_dataset_name("Protein") == PROTEIN
    assert uci_dataset_name("boston") == "bostonHousing"
    with pytest.raises(ValueError, match="Unknown UCI.*protein"):
        uci_dataset_name("proteins")


@needs_protein
def test_uci_protein_shapes_and_partition():
    assert uci_n_splits("protein", SHARED_UCI) == 5
    data = np.loadtxt(SHARED_UCI / PROTEIN / "data.txt")
    assert data.shape == (45730, 10)
    for split in (0, 4):
        X_tr, y_tr, X_te, y_te = load_uci("protein", split=split, data_dir=SHARED_UCI)
        assert X_tr.shape == (41157, 9) and X_te.shape == (4573, 9)
        assert y_tr.shape == (41157,) and y_te.shape == (4573,)
        # the target is the last column (RMSD, 0..21 angstrom), the features the nine before it
        tr = np.loadtxt(SHARED_UCI / PROTEIN / f"index_train_{split}.txt", dtype=int)
        te = np.loadtxt(SHARED_UCI / PROTEIN / f"index_test_{split}.txt", dtype=int)
        assert np.intersect1d(tr, te).size == 0 and np.union1d(tr, te).size == 45730
        np.testing.assert_array_equal(np.column_stack([X_tr, y_tr]), data[tr])
        np.testing.assert_array_equal(np.column_stack([X_te, y_te]), data[te])
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        load_uci("protein", split=5, data_dir=SHARED_UCI)


@needs_uci
def test_uci_split_indices_are_disjoint():
    tr = np.loadtxt(SHARED_UCI / "yacht" / "index_train_3.txt", dtype=int)
    te = np.loadtxt(SHARED_UCI / "yacht" / "index_test_3.txt", dtype=int)
    X_tr, _, X_te, _ = load_uci("yacht", split=3, data_dir=SHARED_UCI)
    assert np.intersect1d(tr, te).size == 0
    assert np.union1d(tr, te).size == 308 == X_tr.shape[0] + X_te.shape[0]


@needs_uci
def test_uci_aliases_and_lookup(monkeypatch, tmp_path):
    a = load_uci("boston", split=1, data_dir=SHARED_UCI)
    b = load_uci("BostonHousing", split=1, data_dir=SHARED_UCI)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert load_uci("wine", data_dir=SHARED_UCI)[0].shape[1] == 11
    # data_dir may point at the set's own folder
    c = load_uci("yacht", data_dir=SHARED_UCI / "yacht")
    assert c[0].shape[1] == 6
    # environment variable
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKBNNSDE_UCI_DIR", str(SHARED_UCI))
    assert load_uci("yacht")[0].shape[1] == 6
    # default: ../shared/data/uci relative to the repository root
    monkeypatch.delenv("SKBNNSDE_UCI_DIR")
    assert load_uci("yacht")[0].shape[1] == 6


def _write_fake_uci(root, name="yacht", n=10, n_splits=2):
    d = root / name
    d.mkdir(parents=True)
    rng = np.random.RandomState(0)
    np.savetxt(d / "data.txt", rng.rand(n, 4))
    np.savetxt(d / "index_features.txt", [0, 1, 2], fmt="%d")
    np.savetxt(d / "index_target.txt", [3], fmt="%d")
    for k in range(n_splits):
        perm = rng.permutation(n)
        np.savetxt(d / f"index_train_{k}.txt", perm[:8], fmt="%d")
        np.savetxt(d / f"index_test_{k}.txt", perm[8:], fmt="%d")
    return d


def test_uci_fake_layout_and_errors(tmp_path, monkeypatch):
    d = _write_fake_uci(tmp_path)
    assert uci_n_splits("yacht", tmp_path) == 2  # counted, no n_splits.txt
    (d / "n_splits.txt").write_text("2\n")
    X_tr, y_tr, X_te, y_te = load_uci("yacht", split=1, data_dir=tmp_path)
    assert X_tr.shape == (8, 3) and X_te.shape == (2, 3)
    with pytest.raises(ValueError, match="split"):
        load_uci("yacht", split=2, data_dir=tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_uci("yacht", split=-1, data_dir=tmp_path)
    with pytest.raises(ValueError, match="Unknown UCI"):
        load_uci("iris", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="SKBNNSDE_UCI_DIR"):
        load_uci("concrete", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="data_dir"):
        load_uci("yacht", data_dir=tmp_path / "missing")
    np.savetxt(d / "index_test_0.txt", [0, 99], fmt="%d")
    with pytest.raises(ValueError, match="out of range"):
        load_uci("yacht", split=0, data_dir=tmp_path)
    # lookup order without data_dir: environment variable, shared folder, current directory
    monkeypatch.setenv("SKBNNSDE_UCI_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    cands = ds._uci_candidates(None)
    assert cands[0] == tmp_path
    assert cands[1] == Path(ds.__file__).resolve().parents[2].parent / "shared" / "data" / "uci"
    assert Path.cwd() in cands[2:]
    assert load_uci("yacht", split=1)[0].shape == (8, 3)  # found through the variable


def test_uci_missing_everywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("SKBNNSDE_UCI_DIR", str(tmp_path / "nowhere"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ds, "_uci_candidates", lambda data_dir: [tmp_path / "nowhere", tmp_path])
    with pytest.raises(FileNotFoundError, match="Nothing is downloaded"):
        load_uci("boston")
