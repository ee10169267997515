"""Intra-op threads for small problems.

The SDE-BNN takes hundreds of solver steps of tiny batched matmuls. PyTorch splits each op
over its OpenMP threads, and for ops of a few thousand elements the synchronisation costs
more than the arithmetic: on a 2-core machine a (2, 150, 5) @ (2, 5, 16) matmul took 2.7 ms
with 2 threads under load and 0.02 ms with one. Below a size threshold the engine therefore
runs with one thread, and restores the caller's setting afterwards. The threshold is high:
the conv model on 8x8 digits (200 rows x 4 samples x 1024 activations per step) trained 5x
faster with one thread than with two on the same machine, with identical results.
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
