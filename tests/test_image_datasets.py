"""Tests for the image loaders of skbnnsde.datasets (MNIST, CIFAR-10, digits) and ``shift_images``.

No downloads: the MNIST and CIFAR-10 files are written into tmp_path in the real formats.
"""

import gzip
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from skbnnsde.datasets import load_cifar10, load_digits_images, load_mnist


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
