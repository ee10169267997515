"""Image classification sets: MNIST and CIFAR-10 from the user's files, scikit-learn's digits.

:func:`load_mnist` and :func:`load_cifar10` read the files in their original distribution
formats (nothing is downloaded); :func:`load_digits_images` returns scikit-learn's bundled
8x8 digits; :func:`shift_images` enlarges a training set with shifted copies. Images are
channel-first, ``(n, channels, height, width)``.

This module imports only NumPy and scikit-learn (lazily).
"""

import math
from pathlib import Path

import numpy as np

from ._image_files import _find_mnist_file, _load_cifar_batch, _read_idx_ubyte

__all__ = ["load_cifar10", "load_digits_images", "load_mnist", "shift_images"]


def _check_kind(kind):
    if kind not in ("train", "test"):
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}.")
    return kind


def _check_dir(path, what):
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"{what} folder not found: {p}")
    return p


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
    classifiers, worth trying when a model fits its small training set much better than
    held-out data. The set grows five-fold, and with it the cost of an epoch; the row
    ``sde_conv_aug_jax`` of ``benchmarks/results/classification.md`` has the measured effect
    on scikit-learn's digits.

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
        raise ValueError(
            f"image_shape must be (C, H, W) or (H, W) of positive ints, got {image_shape!r}"
        )
    if X.shape[1:] not in ((math.prod(shape),), shape):
        raise ValueError(f"X has rows of shape {X.shape[1:]}, which are not images of shape {shape}")
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    largest = min(shape[1:]) - 1
    is_int = isinstance(max_shift, (int, np.integer)) and not isinstance(max_shift, bool)
    if not (is_int and 1 <= max_shift <= largest):
        raise ValueError(
            f"max_shift must be an int in [1, {largest}] for images of {shape}, got {max_shift!r}"
        )
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
