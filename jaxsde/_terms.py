"""Wrap user ``f(y, t, args)`` / ``g(y, t, args)`` as functions of leaf lists."""

import jax
import jax.numpy as jnp

from ._tree import flatten_with_none

__all__ = ["Terms", "NOISE_TYPES", "SDE_TYPES", "canonical_sde_type"]

NOISE_TYPES = ("diagonal", "additive", "general")
SDE_TYPES = ("ito", "stratonovich")


def canonical_sde_type(sde_type):
    """Map ``"strat"``/``"stratonovich"``/``"ito"`` to the canonical name."""
    s = str(sde_type).lower()
    if s in ("strat", "stratonovich"):
        return "stratonovich"
    if s == "ito":
        return "ito"
    raise ValueError(f"sde_type must be one of {SDE_TYPES} (or 'strat'), got {sde_type!r}")


class Terms:
    """Drift and diffusion acting on flat lists of state leaves.

    ``noise_idx`` lists the state leaves that carry noise; Brownian
    increments are lists aligned with ``noise_idx``.
    """

    def __init__(self, f, g, treedef, n_leaves, noise_idx, noise_type, sde_type):
        self.f = f
        self.g = g
        self.treedef = treedef
        self.n_leaves = n_leaves
        self.noise_idx = tuple(noise_idx)
        self.noise_type = noise_type
        self.sde_type = sde_type

    def unflatten(self, yl):
        return jax.tree_util.tree_unflatten(self.treedef, list(yl))

    def drift(self, t, yl, args):
        out = jax.tree_util.tree_leaves(self.f(self.unflatten(yl), t, args))
        if len(out) != self.n_leaves:
            raise ValueError(f"f must return a pytree like y ({self.n_leaves} leaves), got {len(out)}")
        return out

    def diffusion(self, t, yl, args):
        """List aligned with the state leaves; None where there is no noise."""
        out, _ = flatten_with_none(self.g(self.unflatten(yl), t, args))
        if len(out) != self.n_leaves:
            raise ValueError(
                f"g must return a pytree like y ({self.n_leaves} leaves, None allowed), got {len(out)}")
        return out

    def prod(self, gl, dW):
        """``g . dW`` per state leaf (None where no noise)."""
        out = [None] * self.n_leaves
        for j, i in enumerate(self.noise_idx):
            gi = gl[i]
            if gi is None:
                continue
            if self.noise_type == "general":
                out[i] = jnp.matmul(gi, dW[j].astype(gi.dtype))
            else:
                out[i] = gi * dW[j].astype(gi.dtype)
        return out

    def diffusion_prod(self, t, yl, args, dW):
        return self.prod(self.diffusion(t, yl, args), dW)

    def g_dg(self, t, yl, args, gl=None):
        """``sum_j (d sigma_j / dy) sigma_j`` (None where no noise).

        For diagonal noise this is ``g * dg/dy`` element-wise, computed with
        one JVP along ``g`` (exact when each ``g_i`` depends on ``y`` only
        through ``y_i``, the definition of diagonal noise). For general noise
        it sums one JVP per noise channel. Zero for additive noise.
        """
        if self.noise_type == "additive":
            return [None] * self.n_leaves
        if gl is None:
            gl = self.diffusion(t, yl, args)
        gfun = lambda y: self.diffusion(t, y, args)
        if self.noise_type == "diagonal":
            tangent = [jnp.zeros_like(y) if gi is None else gi.astype(y.dtype)
                       for y, gi in zip(yl, gl)]
            _, jv = jax.jvp(gfun, (list(yl),), (tangent,))
            return [None if gi is None else jvi for gi, jvi in zip(gl, jv)]
        # general: single array leaf, g (..., m)
        (g0,) = gl
        m = g0.shape[-1]

        def col(j):
            _, jv = jax.jvp(gfun, (list(yl),), ([g0[..., j]],))
            return jv[0][..., j]

        return [jnp.sum(jax.vmap(col, out_axes=-1)(jnp.arange(m)), axis=-1)]

    def strat_drift(self, t, yl, args):
        """Stratonovich drift: ``f`` for Stratonovich SDEs, ``f - g_dg/2`` for Ito."""
        fl = self.drift(t, yl, args)
        if self.sde_type == "stratonovich" or self.noise_type == "additive":
            return fl
        c = self.g_dg(t, yl, args)
        return [fi if ci is None else fi - 0.5 * ci for fi, ci in zip(fl, c)]
