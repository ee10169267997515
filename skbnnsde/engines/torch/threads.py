"""Intra-op threads for small problems.

The SDE-BNN takes hundreds of solver steps of small batched matmuls. PyTorch splits each op
over its OpenMP threads, and for ops of a few thousand elements the synchronisation costs
more than the arithmetic. Below a size threshold the engine therefore runs with one thread,
and restores the caller's setting afterwards; the results are the same either way. The
measurements behind the threshold are in ``benchmarks/results/engines.md``.
"""

from __future__ import annotations

import contextlib

import torch

#: elements of the largest per-step activation (samples x rows x width) below which one
#: thread is faster than several
SINGLE_THREAD_ELEMENTS = 1 << 20


@contextlib.contextmanager
def threads_for(n_elements: int, device: str = "cpu"):
    """Run the block with one intra-op thread when ``n_elements`` is small (CPU only).

    Parameters
    ----------
    n_elements : int
        Size of the largest activation one solver step computes.
    device : str
        The model's device; on a GPU the setting is left alone.

    Examples
    --------
    >>> with threads_for(100):
    ...     torch.get_num_threads()
    1
    """
    previous = torch.get_num_threads()
    if str(device).startswith("cpu") and n_elements < SINGLE_THREAD_ELEMENTS and previous > 1:
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(previous)
    else:
        yield
