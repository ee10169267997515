"""Tests for skbnnsde.datasets (no downloads; image files are written into tmp_path)."""

import gzip
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from skbnnsde.datasets import uci as ds
from skbnnsde.datasets import (
    TOY_DATASETS,
    UCI_DATASETS,
    load_cifar10,
    load_digits_images,
    load_mnist,
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


# --------------------------------------------------------------------------- #
# MNIST (IDX files)
# --------------------------------------------------------------------------- #
def _idx_bytes(arr, magic=None):
    arr = np.asarray(arr, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 + arr.ndim
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return header + arr.tobytes()


def _write(path, payload, gz):
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as fh:
            fh.write(payload)
    else:
        Path(path).write_bytes(payload)


def _write_mnist(folder, prefix, n, gz, rng):
    images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
    labels = rng.randint(0, 10, size=n).astype(np.uint8)
    _write(folder / f"{prefix}-images-idx3-ubyte", _idx_bytes(images), gz)
    _write(folder / f"{prefix}-labels-idx1-ubyte", _idx_bytes(labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_roundtrip(tmp_path, gz):
    rng = np.random.RandomState(0)
    tr_img, tr_lab = _write_mnist(tmp_path, "train", 5, gz, rng)
    te_img, te_lab = _write_mnist(tmp_path, "t10k", 3, gz, rng)
    X, y = load_mnist(tmp_path)
    assert X.shape == (5, 1, 28, 28) and X.dtype == np.uint8
    np.testing.assert_array_equal(X[:, 0], tr_img)
    np.testing.assert_array_equal(y, tr_lab)
    assert y.dtype == np.int64
    X, y = load_mnist(str(tmp_path), kind="test", flatten=True, as_float=True)
    assert X.shape == (3, 784) and X.dtype == np.float32
    np.testing.assert_allclose(X, te_img.reshape(3, -1) / 255.0, rtol=1e-6)
    assert X.min() >= 0 and X.max() <= 1
    np.testing.assert_array_equal(y, te_lab)


def test_load_mnist_torchvision_layout_and_dot_names(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.RandomState(1)
    images = rng.randint(0, 256, size=(2, 28, 28))
    labels = np.array([3, 7])
    (raw / "t10k-images.idx3-ubyte").write_bytes(_idx_bytes(images))
    (raw / "t10k-labels.idx1-ubyte").write_bytes(_idx_bytes(labels))
    X, y = load_mnist(tmp_path, kind="test")
    assert X.shape == (2, 1, 28, 28) and y.tolist() == [3, 7]


def test_load_mnist_errors(tmp_path):
    rng = np.random.RandomState(2)
    with pytest.raises(FileNotFoundError, match="folder not found"):
        load_mnist(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, kind="validation")
    images = rng.randint(0, 256, size=(4, 28, 28))
    labels = rng.randint(0, 10, size=4)
    img_path = tmp_path / "train-images-idx3-ubyte"
    lab_path = tmp_path / "train-labels-idx1-ubyte"
    # swapped magic numbers
    img_path.write_bytes(_idx_bytes(images, magic=2049))
    lab_path.write_bytes(_idx_bytes(labels))
    with pytest.raises(ValueError, match="magic"):
        load_mnist(tmp_path)
    # truncated image data
    img_path.write_bytes(_idx_bytes(images)[:-10])
    with pytest.raises(ValueError, match="declares shape"):
        load_mnist(tmp_path)
    # count mismatch
    img_path.write_bytes(_idx_bytes(images))
    lab_path.write_bytes(_idx_bytes(labels[:3]))
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        load_mnist(tmp_path)
    # not an IDX file at all
    lab_path.write_bytes(b"\x00")
    with pytest.raises(ValueError, match="too short"):
        load_mnist(tmp_path)


# --------------------------------------------------------------------------- #
# CIFAR-10 (python pickle batches)
# --------------------------------------------------------------------------- #
def _write_cifar_batch(path, n, rng, labels_as_list=True):
    data = rng.randint(0, 256, size=(n, 3072)).astype(np.uint8)
    labels = rng.randint(0, 10, size=n)
    batch = {
        b"batch_label": b"testing batch",
        b"labels": labels.tolist() if labels_as_list else labels,
        b"data": data,
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    with open(path, "wb") as fh:
        pickle.dump(batch, fh)
    return data, labels


def test_load_cifar10_roundtrip(tmp_path):
    rng = np.random.RandomState(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    parts = [_write_cifar_batch(folder / f"data_batch_{i}", 2, rng) for i in range(1, 6)]
    te_data, te_labels = _write_cifar_batch(folder / "test_batch", 3, rng, labels_as_list=False)
    X, y = load_cifar10(tmp_path)
    assert X.shape == (10, 3, 32, 32) and X.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(X.reshape(10, -1), np.concatenate([d for d, _ in parts]))
    np.testing.assert_array_equal(y, np.concatenate([lab for _, lab in parts]))
    # channel-major layout: the first 1024 values are the red plane
    np.testing.assert_array_equal(X[0, 0].ravel(), parts[0][0][0, :1024])
    # the batch folder itself also works
    X, y = load_cifar10(folder, kind="test", as_float=True, flatten=True)
    assert X.shape == (3, 3072) and X.dtype == np.float32
    np.testing.assert_allclose(X * 255, te_data, rtol=1e-6)
    np.testing.assert_array_equal(y, te_labels)


def test_load_cifar10_errors(tmp_path):
    rng = np.random.RandomState(1)
    with pytest.raises(FileNotFoundError, match="folder not found"):
        load_cifar10(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="test_batch"):
        load_cifar10(tmp_path, kind="test")
    _write_cifar_batch(tmp_path / "data_batch_1", 2, rng)
    with pytest.raises(FileNotFoundError, match="data_batch_2"):
        load_cifar10(tmp_path)
    with pytest.raises(ValueError, match="kind"):
        load_cifar10(tmp_path, kind="valid")
    # wrong data width
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, fh)
    with pytest.raises(ValueError, match="3072"):
        load_cifar10(tmp_path, kind="test")
    # label count mismatch
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, fh)
    with pytest.raises(ValueError, match="labels"):
        load_cifar10(tmp_path, kind="test")
    # labels out of range
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"labels": [10]}, fh)
    with pytest.raises(ValueError, match="0..9"):
        load_cifar10(tmp_path, kind="test")
    # missing key
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8)}, fh)
    with pytest.raises(ValueError, match="labels"):
        load_cifar10(tmp_path, kind="test")
    # not a pickle
    (tmp_path / "test_batch").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a CIFAR-10"):
        load_cifar10(tmp_path, kind="test")


def test_load_cifar10_protocol2_numpy_core_pickle(tmp_path):
    """The distributed batches are protocol-2 pickles that name numpy.core."""
    rng = np.random.RandomState(2)
    data = rng.randint(0, 256, size=(2, 3072)).astype(np.uint8)
    raw = pickle.dumps({b"data": data, b"labels": [4, 9]}, protocol=2)
    (tmp_path / "test_batch").write_bytes(raw.replace(b"numpy._core", b"numpy.core"))
    X, y = load_cifar10(tmp_path, kind="test")
    np.testing.assert_array_equal(X.reshape(2, -1), data)
    assert y.tolist() == [4, 9]


class _Evil:
    def __reduce__(self):
        return (shutil.rmtree, ("/nonexistent-skbnnsde-test",))


def test_load_cifar10_refuses_arbitrary_objects(tmp_path):
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump({b"data": _Evil(), b"labels": [0]}, fh)
    with pytest.raises(ValueError, match="refusing"):
        load_cifar10(tmp_path, kind="test")


# --------------------------------------------------------------------------- #
# sklearn digits as images
# --------------------------------------------------------------------------- #
def test_load_digits_images():
    X, y = load_digits_images()
    assert X.shape == (1797, 1, 8, 8) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    Xf, _ = load_digits_images(flatten=True)
    assert Xf.shape == (1797, 64)
    np.testing.assert_array_equal(Xf, X.reshape(1797, 64))


def test_module_imports_no_deep_learning_framework():
    import subprocess
    import sys

    code = (
        "import sys, skbnnsde.datasets, skbnnsde.metrics; "
        "bad = [m for m in ('torch', 'jax') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    assert out.stdout.strip() == ""


# ---- shift_images -----------------------------------------------------------------------


def _shifted(img, dy, dx):
    """Reference: ``img`` (C, H, W) moved by (dy, dx) pixels, zeros moving in."""
    C, H, W = img.shape
    out = np.zeros_like(img)
    for r in range(H):
        for c in range(W):
            if 0 <= r - dy < H and 0 <= c - dx < W:
                out[:, r, c] = img[:, r - dy, c - dx]
    return out


@pytest.mark.parametrize("max_shift", [1, 2])
@pytest.mark.parametrize("flat", [True, False])
def test_shift_images_matches_a_pixel_by_pixel_reference(max_shift, flat):
    from skbnnsde.datasets import shift_images

    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 2, 4, 5))
    y = np.array([7, 8, 9])
    X = images.reshape(3, -1) if flat else images
    X_aug, y_aug = shift_images(X, y, (2, 4, 5), max_shift=max_shift)
    assert X_aug.shape == (15, *X.shape[1:]) and y_aug.tolist() == [7, 8, 9] * 5
    got = X_aug.reshape(5, 3, 2, 4, 5)
    k = max_shift
    for i, (dy, dx) in enumerate([(0, 0), (k, 0), (-k, 0), (0, k), (0, -k)]):
        for j in range(3):
            np.testing.assert_array_equal(got[i, j], _shifted(images[j], dy, dx))


def test_shift_images_takes_a_two_dimensional_shape_for_one_channel():
    from skbnnsde.datasets import shift_images

    X = np.arange(16.0).reshape(1, 16)
    np.testing.assert_array_equal(shift_images(X, [0], (4, 4))[0], shift_images(X, [0], (1, 4, 4))[0])


@pytest.mark.parametrize("kwargs,match", [
    (dict(image_shape=(3, 3)), "not images of shape"),
    (dict(image_shape=(2, 2, 2, 2)), "image_shape"),
    (dict(max_shift=4), "max_shift"),
    (dict(max_shift=0), "max_shift"),
    (dict(max_shift=1.0), "max_shift"),
    (dict(y=[1, 2]), "y has 2"),
])
def test_shift_images_rejects_bad_arguments(kwargs, match):
    from skbnnsde.datasets import shift_images

    args = {"X": np.zeros((1, 16)), "y": [0], "image_shape": (4, 4), **kwargs}
    with pytest.raises(ValueError, match=match):
        shift_images(**args)
