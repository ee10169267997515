"""Construction of the solver step grid from ``ts`` and ``dt``/``nsteps``.

Convention
----------
``ts`` is the output grid. The solver steps are laid out per interval
``[ts[i], ts[i+1]]``:

* neither ``dt`` nor ``nsteps``: one step per interval;
* ``nsteps=N``: ``N`` counts the steps over the whole solve and must be a
  multiple of ``len(ts) - 1``; every interval is split into
  ``N // (len(ts) - 1)`` equal steps (``ts`` may be traced, non-uniform
  intervals are allowed: each is split into the same number of steps);
* ``dt=h``: interval ``i`` is split into ``ceil((ts[i+1]-ts[i]) / h)`` equal
  steps; the step counts must be static, so ``ts`` must be concrete.

The last step of every interval ends exactly at ``ts[i+1]``.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Grid", "make_grid"]


@dataclasses.dataclass(frozen=True)
class Grid:
    """Static layout of the step grid plus its (possibly traced) times.

    Attributes
    ----------
    ts : array, shape (n_int + 1,)
    n_int : int, number of output intervals.
    m : int, steps per interval (maximum over intervals when non-uniform).
    counts : numpy int array (n_int,) or None when every interval has ``m`` steps.
    n_steps : int, total number of real solver steps.
    index : numpy int array (n_int, m), global step index of each slot.
    mask : numpy bool array (n_int, m) or None, False on padding slots.
    t0s, t1s : arrays (n_int, m), start and end time of each slot.
    ts_np : numpy array or None, ``ts`` when it is concrete.
    """

    ts: object
    n_int: int
    m: int
    counts: object
    n_steps: int
    index: object
    mask: object
    t0s: object
    t1s: object
    ts_np: object = None

    def flat_steps(self):
        """Return ``(t0, t1)`` arrays of shape (n_steps,) in global step order."""
        if self.mask is None:
            return self.t0s.reshape(-1), self.t1s.reshape(-1)
        sel = np.nonzero(self.mask.reshape(-1))[0]
        return self.t0s.reshape(-1)[sel], self.t1s.reshape(-1)[sel]


def concrete(ts):
    """NumPy value of ``ts`` or None when it is traced."""
    if isinstance(ts, jax.core.Tracer):
        return None
    return _concrete(ts)


def _concrete(ts):
    try:
        return np.asarray(ts)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def make_grid(ts, dt=None, nsteps=None, ts_concrete=None):
    """Build the :class:`Grid` for output times ``ts``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> make_grid(jnp.array([0., 1.]), nsteps=4).n_steps
    4

    ``ts_concrete`` is a NumPy copy of ``ts`` when the caller has one (``ts``
    given as a list or NumPy array and converted inside a trace).
    """
    if ts.ndim != 1 or ts.shape[0] < 2:
        raise ValueError(f"ts must be a 1-D array with at least 2 entries, got shape {ts.shape}")
    n_int = ts.shape[0] - 1
    if dt is not None and nsteps is not None:
        raise ValueError("pass at most one of dt and nsteps")
    counts = None
    if nsteps is not None:
        nsteps = int(nsteps)
        if nsteps < 1 or nsteps % n_int != 0:
            raise ValueError(
                f"nsteps must be a positive multiple of len(ts) - 1 = {n_int}, got {nsteps}")
        m = nsteps // n_int
    elif dt is not None:
        cts = ts_concrete if ts_concrete is not None else _concrete(ts)
        if cts is None:
            raise ValueError("dt requires concrete (non-traced) ts; pass nsteps instead")
        dt = float(dt)
        if not dt > 0:
            raise ValueError(f"dt must be positive, got {dt}")
        widths = np.diff(cts.astype(np.float64))
        if np.any(widths <= 0):
            raise ValueError("ts must be strictly increasing")
        x = widths / dt
        c = np.maximum(1, np.ceil(x - 1e-6 * np.maximum(1.0, x))).astype(np.int64)
        m = int(c.max())
        if np.all(c == m):
            counts = None
        else:
            counts = c
    else:
        m = 1
    dtype = ts.dtype
    j = np.arange(m)
    if counts is None:
        n_steps = n_int * m
        index = (np.arange(n_int)[:, None] * m + j[None, :]).astype(np.int32)
        mask = None
        f0 = (j / m)[None, :].repeat(n_int, 0)
        f1 = ((j + 1) / m)[None, :].repeat(n_int, 0)
    else:
        n_steps = int(counts.sum())
        offs = np.concatenate([[0], np.cumsum(counts)[:-1]])
        mask = j[None, :] < counts[:, None]
        index = np.minimum(offs[:, None] + j[None, :], n_steps - 1).astype(np.int32)
        f0 = np.minimum(j[None, :] / counts[:, None], 1.0)
        f1 = np.minimum((j[None, :] + 1) / counts[:, None], 1.0)
    width = (ts[1:] - ts[:-1])[:, None]
    t0s = ts[:-1, None] + width * jnp.asarray(f0, dtype)
    t1s = ts[:-1, None] + width * jnp.asarray(f1, dtype)
    # Make interval ends exact.
    t0s = jnp.where(jnp.asarray(f0 == 1.0), ts[1:, None], t0s)
    t1s = jnp.where(jnp.asarray(f1 == 1.0), ts[1:, None], t1s)
    t0s = jnp.where(jnp.asarray(f0 == 0.0), ts[:-1, None], t0s)
    if ts_concrete is None:
        ts_concrete = concrete(ts)
    return Grid(ts=ts, n_int=n_int, m=m, counts=counts, n_steps=n_steps, index=index,
                mask=mask, t0s=t0s, t1s=t1s, ts_np=ts_concrete)
