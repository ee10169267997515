"""Noise sources feeding the solver loop: key, injected arrays, or a tree."""

import math

import jax
import numpy as np

from .brownian import GridIncrements, VirtualBrownianTree, leaf_key, sample_all, sample_step

__all__ = ["make_noise", "KeyNoise", "ArrayNoise", "TreeNoise", "PRESAMPLE_LIMIT"]

# Pre-sample all increments (one vectorised draw per leaf, outside the scan)
# when n_steps * elements-per-step is at most this; otherwise draw inside the
# loop, which is faster for large states on CPU (cache-resident). Both give
# identical values.
PRESAMPLE_LIMIT = 2 ** 21


@jax.tree_util.register_pytree_node_class
class KeyNoise:
    """Grid increments drawn from a key (see :mod:`jaxsde.brownian`)."""

    def __init__(self, key, specs, levy):
        self.key = key
        self.specs = specs
        self.levy = levy

    def tree_flatten(self):
        return (self.key,), (tuple(self.specs), self.levy)

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children[0], list(aux[0]), aux[1])

    def arrays(self, grid, presample):
        if presample is None:
            n = grid.n_steps * sum(math.prod(s) for s, _ in self.specs)
            presample = n <= PRESAMPLE_LIMIT
        if not presample:
            return None
        t0, t1 = grid.flat_steps()
        hs = t1 - t0
        dWs, Hs = [], []
        for i, (shp, dt) in enumerate(self.specs):
            dW, H = sample_all(leaf_key(self.key, i), hs, shp, dt, self.levy)
            dWs.append(dW)
            Hs.append(H)
        return (dWs, Hs if self.levy else None)

    def sample(self, k, t0, t1):
        dWs, Hs = [], []
        for i, (shp, dt) in enumerate(self.specs):
            dW, H = sample_step(leaf_key(self.key, i), k, t1 - t0, shp, dt, self.levy)
            dWs.append(dW)
            Hs.append(H)
        return dWs, (Hs if self.levy else None)


@jax.tree_util.register_pytree_node_class
class ArrayNoise:
    """User-supplied :class:`~jaxsde.GridIncrements`."""

    def tree_flatten(self):
        return (self.dW, self.H), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)

    def __init__(self, dW, H):
        self.dW = dW
        self.H = H

    def arrays(self, grid, presample):
        return (self.dW, self.H)

    def sample(self, k, t0, t1):  # pragma: no cover - arrays are always fed as xs
        raise RuntimeError("ArrayNoise is fed through the scan inputs")


@jax.tree_util.register_pytree_node_class
class TreeNoise:
    """Increments queried from a :class:`~jaxsde.VirtualBrownianTree`."""

    def tree_flatten(self):
        return (self.tree,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children[0])

    def __init__(self, tree):
        self.tree = tree

    def arrays(self, grid, presample):
        return None

    def sample(self, k, t0, t1):
        return self.tree.increment_leaves(t0, t1), None


def _check_tree_span(bm, grid):
    """With a concrete grid: the tree covers ``ts`` and its cells are no wider than a step."""
    if grid.ts_np is None:
        return
    ts = np.asarray(grid.ts_np, dtype=np.float64)
    span = bm.t1 - bm.t0
    slack = 1e-6 * span
    if ts[0] < bm.t0 - slack or ts[-1] > bm.t1 + slack:
        raise ValueError(f"the VirtualBrownianTree spans [{bm.t0}, {bm.t1}], which does not "
                         f"cover ts = [{ts[0]}, {ts[-1]}]")
    counts = grid.m if grid.counts is None else np.asarray(grid.counts)
    h = float(np.min(np.diff(ts) / counts))
    if bm.cell_width > h * (1 + 1e-6):
        raise ValueError(
            f"the VirtualBrownianTree's cells ({bm.cell_width:.3g} wide, tol={bm.tol:g}) are "
            f"wider than the smallest solver step ({h:.3g}); increments over steps shorter "
            f"than a cell are not exact: pass tol <= the step size")


def make_noise(key, bm, specs, grid, levy, method):
    """Validate the Brownian input of ``sdeint`` and build a noise source.

    ``specs`` is the list of ``(shape, dtype)`` of the noise leaves.
    """
    if bm is not None:
        if isinstance(bm, GridIncrements):
            dW = jax.tree_util.tree_leaves(bm.dW)
            H = None if bm.H is None else jax.tree_util.tree_leaves(bm.H)
            if len(dW) != len(specs):
                raise ValueError(f"bm.dW must have one array per noise leaf ({len(specs)}), "
                                 f"got {len(dW)}")
            for x, (shp, _) in zip(dW, specs):
                if tuple(x.shape) != (grid.n_steps, *shp):
                    raise ValueError(
                        f"bm.dW leaf has shape {tuple(x.shape)}; expected "
                        f"(n_steps, *noise_shape) = {(grid.n_steps, *shp)}")
            if levy:
                if H is None:
                    raise ValueError(f"method={method!r} needs the space-time Levy area: "
                                     "pass bm=GridIncrements(dW, H) (or a key)")
                for x, (shp, _) in zip(H, specs):
                    if tuple(x.shape) != (grid.n_steps, *shp):
                        raise ValueError(f"bm.H leaf has shape {tuple(x.shape)}; expected "
                                         f"{(grid.n_steps, *shp)}")
            return ArrayNoise(dW, H if levy else None)
        if isinstance(bm, VirtualBrownianTree):
            if levy:
                raise ValueError(f"method={method!r} needs the space-time Levy area, which "
                                 "VirtualBrownianTree does not provide; pass a key or "
                                 "GridIncrements(dW, H)")
            bspecs = bm._specs()[0]
            if len(bspecs) != len(specs):
                raise ValueError(f"bm has {len(bspecs)} noise leaves, the SDE has {len(specs)}")
            for (bs, _), (shp, _) in zip(bspecs, specs):
                if tuple(bs) != tuple(shp):
                    raise ValueError(f"bm leaf has shape {tuple(bs)}; the SDE's noise needs {tuple(shp)}")
            _check_tree_span(bm, grid)
            return TreeNoise(bm)
        raise ValueError("bm must be a jaxsde.GridIncrements, a jaxsde.VirtualBrownianTree or None, "
                         f"got {type(bm).__name__}")
    if key is None:
        if not specs:
            return KeyNoise(jax.random.PRNGKey(0), specs, levy)
        raise ValueError("pass key (a PRNG key) or bm (GridIncrements / VirtualBrownianTree)")
    return KeyNoise(key, specs, levy)
