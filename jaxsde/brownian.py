"""Brownian motion: exact grid increments and a virtual Brownian tree.

Two samplers are provided; both are pure functions of the key (and of the
grid or tolerance), so every solve with the same key sees the same path,
forward and backward, whatever the order of the queries.

* Grid increments (used by :func:`jaxsde.sdeint` when ``key`` is given):
  step ``k`` of noise leaf ``i`` is
  ``sqrt(t_{k+1} - t_k) * normal(fold_in(leaf_key(key, i), k))`` (the leaf
  key is ``key`` for leaf 0, see :func:`leaf_key`); the space-time Levy
  area (for ``srk``/``shark``) is
  ``sqrt((t_{k+1} - t_k) / 12) * normal(fold_in(fold_in(leaf_key(key, i), k), 1))``.
  Increments are exact and cost one normal draw per step (no tree descent).
  :func:`grid_increments` returns exactly the increments ``sdeint`` samples.
* :class:`VirtualBrownianTree`: ``W(t)`` at arbitrary times from a dyadic
  tree of Brownian-bridge samples, for off-grid queries.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ._grid import concrete, make_grid

__all__ = ["GridIncrements", "VirtualBrownianTree", "grid_increments"]


@jax.tree_util.register_pytree_node_class
class GridIncrements:
    """Pre-computed Brownian increments for every solver step.

    Parameters
    ----------
    dW : pytree of arrays
        One array per noise leaf (the non-None leaves of ``g``'s output, in
        ``jax.tree_util.tree_leaves`` order; ``None`` entries are ignored,
        so the pytree of ``g``'s output with arrays in place of the noisy
        leaves works, as do a list or a single array). Each array has shape
        ``(n_steps, *noise_shape)`` where ``n_steps`` is the total number of
        solver steps after ``dt``/``nsteps`` subdivision; for
        ``noise_type="general"`` the noise shape is ``(m,)``.
    H : pytree of arrays, optional
        Space-time Levy areas, same layout; required by ``method="srk"``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from jaxsde import GridIncrements, sdeint
    >>> dW = 0.1 * jax.random.normal(jax.random.PRNGKey(0), (100, 3))
    >>> ys = sdeint(lambda y, t, a: -y, lambda y, t, a: 0.5 * jnp.ones_like(y),
    ...             jnp.ones(3), jnp.array([0.0, 1.0]), nsteps=100,
    ...             bm=GridIncrements(dW), noise_type="additive")
    >>> ys.shape
    (2, 3)
    """

    def __init__(self, dW, H=None):
        self.dW = dW
        self.H = H

    def tree_flatten(self):
        return (self.dW, self.H), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)

    def __repr__(self):
        shapes = [getattr(x, "shape", None) for x in jax.tree_util.tree_leaves(self.dW)]
        return f"GridIncrements(dW shapes={shapes}, H={'None' if self.H is None else 'given'})"


def _normalise_shapes(shape, dtype):
    """Return a list of (shape, dtype) for a tuple or a pytree of ShapeDtypeStruct."""
    if isinstance(shape, (tuple, list)) and all(isinstance(s, (int, np.integer)) for s in shape):
        return [(tuple(int(s) for s in shape), jnp.dtype(dtype) if dtype is not None
                 else jnp.zeros(()).dtype)], None
    leaves, treedef = jax.tree_util.tree_flatten(shape)
    out = []
    for leaf in leaves:
        out.append((tuple(leaf.shape), jnp.dtype(dtype) if dtype is not None else leaf.dtype))
    return out, treedef


def leaf_key(key, i):
    """Key of noise leaf ``i``: ``key`` itself for leaf 0, else ``fold_in(key, 2**32 - i)``.

    Independent of the other leaves' shapes. Step ``k`` of a leaf uses
    ``fold_in(leaf_key, k)``; the leaf keys sit at the top of the uint32 range, away
    from the step indices, so no leaf key is another leaf's step key.
    """
    if i == 0:
        return key
    return jax.random.fold_in(key, np.uint32(2 ** 32 - i))


def _normal(key, shape, dtype):
    """Standard normals of ``shape``, drawn flat and reshaped.

    Same values as ``jax.random.normal(key, shape)``, but a flat draw compiles several
    times faster for multi-dimensional shapes (XLA otherwise constant-folds the
    N-D counter array of the partitionable threefry).
    """
    return jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)


def sample_step(lkey, k, h, shape, dtype, levy):
    """Increment (and Levy area when ``levy``) of step ``k`` of length ``h``."""
    skey = jax.random.fold_in(lkey, k)
    h = jnp.asarray(h).astype(dtype)
    dW = jnp.sqrt(h) * _normal(skey, shape, dtype)
    if not levy:
        return dW, None
    H = jnp.sqrt(h / 12) * _normal(jax.random.fold_in(skey, 1), shape, dtype)
    return dW, H


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def sample_all(lkey, hs, shape, dtype, levy):
    """Vectorised :func:`sample_step` for every step (leading axis = step)."""
    ks = jnp.arange(hs.shape[0], dtype=jnp.int32)
    return jax.vmap(lambda k, h: sample_step(lkey, k, h, shape, dtype, levy))(ks, hs)


def grid_increments(key, ts, shape, *, dt=None, nsteps=None, levy_area=False, dtype=None):
    """Sample the exact per-step increments :func:`jaxsde.sdeint` would use.

    Parameters
    ----------
    key : PRNG key
    ts : array (n,)
        Output grid, with the same ``dt``/``nsteps`` convention as ``sdeint``.
    shape : tuple of int, or pytree of ``jax.ShapeDtypeStruct``/arrays
        Noise shape (one leaf) or noise leaves (leaf ``i`` uses key
        ``leaf_key(key, i)``, as in ``sdeint``).
    dt : float, optional
        Step size, as ``sdeint``'s ``dt`` (each interval of ``ts`` split into
        ``ceil(width / dt)`` equal steps); at most one of ``dt`` and ``nsteps``
        (neither: one step per interval).
    nsteps : int, optional
        Total number of steps, as ``sdeint``'s ``nsteps`` (a multiple of
        ``len(ts) - 1``).
    levy_area : bool
        Also sample the space-time Levy area ``H`` (needed by ``srk`` and ``shark``).
    dtype : dtype, optional
        Overrides the leaves' dtype (default: float32/float64 per x64 mode).

    Returns
    -------
    GridIncrements
        ``dW`` (and ``H``) with leading axis ``n_steps``; a single array for a
        tuple ``shape``, else a list of arrays in leaf order.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> inc = grid_increments(jax.random.PRNGKey(0), jnp.array([0., 1.]), (2,), nsteps=8)
    >>> inc.dW.shape
    (8, 2)
    """
    ts_np = concrete(ts)
    ts = jnp.asarray(ts)
    if not jnp.issubdtype(ts.dtype, jnp.floating):
        ts = ts.astype(jnp.zeros(()).dtype)
    grid = make_grid(ts, dt=dt, nsteps=nsteps,
                     ts_concrete=None if ts_np is None else np.asarray(ts_np, np.float64))
    t0, t1 = grid.flat_steps()
    hs = t1 - t0
    specs, treedef = _normalise_shapes(shape, dtype)
    dWs, Hs = [], []
    for i, (shp, dt_) in enumerate(specs):
        dW, H = sample_all(leaf_key(key, i), hs, shp, dt_, levy_area)
        dWs.append(dW)
        Hs.append(H)
    if treedef is None:
        return GridIncrements(dWs[0], Hs[0] if levy_area else None)
    return GridIncrements(dWs, Hs if levy_area else None)


def _time_bits(t):
    bits = jax.lax.bitcast_convert_type(t, jnp.uint32)
    return bits.reshape(-1)


@jax.tree_util.register_pytree_node_class
class VirtualBrownianTree:
    """Brownian motion on ``[t0, t1]`` queried at arbitrary times.

    ``W(t0) = 0`` and ``W(t1) ~ N(0, t1 - t0)``. The values at the dyadic
    points of depth ``L = ceil(log2((t1 - t0) / tol))`` are exact
    Brownian-bridge samples; a query ``t`` descends the tree once to its
    dyadic cell ``[l, r]`` (width ``(t1 - t0) / 2**L <= tol``) and is drawn
    from the exact bridge ``N(W(l) + (t-l)/(r-l) (W(r)-W(l)), (t-l)(r-t)/(r-l))``
    with a key derived from ``t``, so repeated queries agree and the path is
    a function of ``(key, t0, t1, tol, shape)`` alone. The joint law of any
    set of query times is exact as long as no two of them lie strictly
    inside the same cell, i.e. when they are at least ``tol`` apart (two
    queries inside one cell get conditionally independent bridge values).
    :func:`jaxsde.sdeint` therefore refuses a tree whose cells are wider
    than its smallest step (when the step grid is concrete).

    Parameters
    ----------
    t0, t1 : float
        The time span (Python numbers or concrete scalars: the depth of the
        tree must be static).
    shape : tuple of int or pytree of ``jax.ShapeDtypeStruct``
        Noise shape, or one leaf per noise leaf of the SDE (leaf ``i`` uses
        ``leaf_key(key, i)``).
    key : PRNG key
    tol : float
        Resolution: cells are at most ``tol`` wide. Use at most the
        solver step.
    dtype : dtype, optional
        Overrides the leaves' dtype (default: float32/float64 per x64 mode).

    Examples
    --------
    >>> import jax
    >>> bm = VirtualBrownianTree(0.0, 1.0, (3,), jax.random.PRNGKey(0), tol=1e-3)
    >>> bm.increment(0.2, 0.5).shape
    (3,)
    """

    def __init__(self, t0, t1, shape, key, tol=1e-3, dtype=None):
        try:
            self.t0 = float(t0)
            self.t1 = float(t1)
        except (TypeError, jax.errors.ConcretizationTypeError) as e:
            raise ValueError("VirtualBrownianTree needs concrete t0 and t1 (Python numbers): "
                             "the depth of the tree is static") from e
        if not self.t1 > self.t0:
            raise ValueError(f"VirtualBrownianTree needs t1 > t0, got t0={t0}, t1={t1}")
        self.tol = float(tol)
        if not self.tol > 0:
            raise ValueError(f"tol must be positive, got {tol}")
        self.key = key
        specs, treedef = _normalise_shapes(shape, dtype)
        self._spec_list = tuple(specs)
        self._treedef = treedef

    def tree_flatten(self):
        return (self.key,), (self.t0, self.t1, self._spec_list, self._treedef, self.tol)

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        obj.t0, obj.t1, obj._spec_list, obj._treedef, obj.tol = aux
        obj.key = children[0]
        return obj

    @property
    def shape(self):
        """Noise shape (a tuple), or a list of leaf shapes for a pytree of leaves."""
        if self._treedef is None:
            return self._spec_list[0][0]
        return [s for s, _ in self._spec_list]

    def __repr__(self):
        return (f"VirtualBrownianTree(t0={self.t0}, t1={self.t1}, shape={self.shape}, "
                f"tol={self.tol})")

    @property
    def cell_width(self):
        """Width of the finest dyadic cells, ``(t1 - t0) / 2**depth <= tol``."""
        return (self.t1 - self.t0) / 2 ** self._depth()

    def _specs(self):
        return list(self._spec_list), self._treedef

    def _depth(self):
        width = self.t1 - self.t0
        return max(1, int(math.ceil(math.log2(max(width, self.tol) / self.tol) - 1e-12)))

    def _eval_leaf(self, lkey, t, shape, dtype):
        """W(t) for one leaf; ``t`` is a scalar."""
        t0 = jnp.asarray(self.t0, dtype)
        t1 = jnp.asarray(self.t1, dtype)
        t = jnp.clip(jnp.asarray(t, dtype), t0, t1)
        if jnp.issubdtype(lkey.dtype, jax.dtypes.prng_key):
            lkey = jax.random.key_data(lkey)
        k_root, k_end = jax.random.split(lkey)
        w1 = jnp.sqrt(t1 - t0) * _normal(k_end, shape, dtype)
        w0 = jnp.zeros(shape, dtype)

        def body(_, st):
            l, r, wl, wr, k = st
            mid = l + (r - l) / 2
            kl, kr, km = jax.random.split(k, 3)
            wm = (wl + wr) / 2 + jnp.sqrt((r - l) / 4) * _normal(km, shape, dtype)
            left = t <= mid
            return (jnp.where(left, l, mid), jnp.where(left, mid, r),
                    jnp.where(left, wl, wm), jnp.where(left, wm, wr),
                    jnp.where(left, kl, kr))

        l, r, wl, wr, k = jax.lax.fori_loop(0, self._depth(), body, (t0, t1, w0, w1, k_root))
        kt = k
        for b in _time_bits(t):
            kt = jax.random.fold_in(kt, b)
        width = r - l
        mean = wl + (t - l) / width * (wr - wl)
        std = jnp.sqrt(jnp.maximum((t - l) * (r - t) / width, 0))
        return mean + std * _normal(kt, shape, dtype)

    def _eval_leaves(self, ts):
        """List over noise leaves of W at the times ``ts`` (leading axis)."""
        return _tree_eval(self, ts)

    def _wrap(self, leaves):
        specs, treedef = self._specs()
        if treedef is None:
            return leaves[0]
        return jax.tree_util.tree_unflatten(treedef, leaves)

    def evaluate(self, t):
        """Return ``W(t)`` (``W(t0) = 0``); ``t`` may be an array of times.

        For an array ``t`` of shape ``S`` each leaf has shape ``S + noise_shape``.

        Examples
        --------
        >>> import jax, jax.numpy as jnp
        >>> bm = VirtualBrownianTree(0.0, 1.0, (), jax.random.PRNGKey(1))
        >>> float(bm.evaluate(0.0))
        0.0
        >>> bm.evaluate(jnp.array([0.25, 0.5])).shape
        (2,)
        """
        specs, _ = self._specs()
        dtype = specs[0][1]
        t = jnp.asarray(t, dtype)
        leaves = self._eval_leaves(t.reshape(-1))
        return self._wrap([x.reshape(*t.shape, *x.shape[1:]) for x in leaves])

    def increment_leaves(self, s, t):
        """List of ``W(t) - W(s)`` over noise leaves (one joint descent)."""
        specs, _ = self._specs()
        dtype = specs[0][1]
        st = jnp.stack([jnp.asarray(s, dtype), jnp.asarray(t, dtype)])
        return [x[1] - x[0] for x in self._eval_leaves(st)]

    def increment(self, s, t):
        """Return ``W(t) - W(s)``.

        Examples
        --------
        >>> import jax
        >>> bm = VirtualBrownianTree(0.0, 1.0, (2,), jax.random.PRNGKey(0))
        >>> bm.increment(0.0, 1.0).shape
        (2,)
        """
        return self._wrap(self.increment_leaves(s, t))


@jax.jit
def _tree_eval(tree, ts):
    specs, _ = tree._specs()
    out = []
    for i, (shp, dt_) in enumerate(specs):
        lk = leaf_key(tree.key, i)
        out.append(jax.vmap(lambda t: tree._eval_leaf(lk, t, shp, dt_))(ts))
    return out
