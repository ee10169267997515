"""Readers of the raw image file formats: IDX (MNIST) and the CIFAR-10 pickle batches.

The loaders in :mod:`skbnnsde.datasets.images` find the files and shape the arrays;
these functions read one file each and check its format.
"""

import gzip
import io
import pickle

import numpy as np


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
    except Exception as exc:  # any unpickling failure means a bad file
        raise ValueError(f"{path}: not a CIFAR-10 python batch file ({exc}).") from exc
    if not isinstance(batch, dict):
        # ValueError, not TypeError: the argument is a path, and its file holds a bad value
        raise ValueError(f"{path}: expected a pickled dict, got {type(batch).__name__}.")  # noqa: TRY004
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
