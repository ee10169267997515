"""Helpers of the conv architecture that do not depend on a framework."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=32)
def border_mask(height: int, width: int) -> np.ndarray:
    """Which taps of a zero-padded 3x3 kernel fall inside the image: (9, height, width) of 0/1.

    ``M[3 dy + dx, y, x] = 1`` when pixel ``(y + dy - 1, x + dx - 1)`` exists. A constant
    channel ``t`` convolved with a kernel's taps ``K`` (zero padding) is then
    ``t * sum_k K[k] M[k]``: the engines' "concat-time" convolutions use it instead of
    convolving a constant image. Read-only float64.

    Examples
    --------
    >>> border_mask(3, 3).sum(axis=0).astype(int).tolist()
    [[4, 6, 4], [6, 9, 6], [4, 6, 4]]
    """
    ys, xs = np.arange(height), np.arange(width)
    rows = [(ys + d - 1 >= 0) & (ys + d - 1 < height) for d in range(3)]
    cols = [(xs + d - 1 >= 0) & (xs + d - 1 < width) for d in range(3)]
    mask = np.stack([np.outer(rows[dy], cols[dx]) for dy in range(3) for dx in range(3)]).astype(np.float64)
    mask.setflags(write=False)
    return mask
