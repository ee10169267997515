"""Reversible Heun (Kidger et al., 2021), Stratonovich, algebraically reversible."""

from .._tree import lin
from .base import Solver

__all__ = ["ReversibleHeun"]


class ReversibleHeun(Solver):
    """Reversible Heun method with auxiliary state ``z`` (``z0 = y0``).

    Forward::

        z1 = 2 y - z + f(z) dt + g(z) dW
        y1 = y + (f(z) + f(z1)) dt / 2 + (g(z) + g(z1)) dW / 2

    and the step inverts exactly (see :func:`reverse_step`), which gives the
    exact-gradient reversible adjoint (``adjoint="reversible"``). Strong order
    1.0 for commutative noise; one drift and one diffusion evaluation per step.

    Examples
    --------
    >>> ReversibleHeun().name
    'reversible_heun'
    """

    name = "reversible_heun"
    sde_types = ("stratonovich",)
    noise_types = ("diagonal", "additive", "general")
    strong_order = 1.0

    def init(self, terms, t0, y0, args):
        return (list(y0), terms.drift(t0, y0, args), terms.diffusion(t0, y0, args))

    def step(self, terms, t0, t1, y, state, dW, H, args):
        z, fz, gz = state
        dt = t1 - t0
        gwz = terms.prod(gz, dW)
        z1 = lin([2 * a - b for a, b in zip(y, z)], (dt, fz), (None, gwz))
        fz1 = terms.drift(t1, z1, args)
        gz1 = terms.diffusion(t1, z1, args)
        gwz1 = terms.prod(gz1, dW)
        y1 = lin(y, (0.5 * dt, fz), (0.5 * dt, fz1), (0.5, gwz), (0.5, gwz1))
        return y1, (z1, fz1, gz1)


def forward_step(terms, t0, t1, y, z, dW, args):
    """Reversible Heun step as a map ``(y, z) -> (y1, z1)`` (no caching)."""
    dt = t1 - t0
    fz = terms.drift(t0, z, args)
    gwz = terms.diffusion_prod(t0, z, args, dW)
    z1 = lin([2 * a - b for a, b in zip(y, z)], (dt, fz), (None, gwz))
    fz1 = terms.drift(t1, z1, args)
    gwz1 = terms.diffusion_prod(t1, z1, args, dW)
    y1 = lin(y, (0.5 * dt, fz), (0.5 * dt, fz1), (0.5, gwz), (0.5, gwz1))
    return y1, z1


def reverse_step(terms, t0, t1, y1, z1, dW, args):
    """Exact algebraic inverse of :func:`forward_step`: ``(y1, z1) -> (y, z)``."""
    dt = t1 - t0
    fz1 = terms.drift(t1, z1, args)
    gwz1 = terms.diffusion_prod(t1, z1, args, dW)
    z = lin([2 * a - b for a, b in zip(y1, z1)], (-dt, fz1), (-1.0, gwz1))
    fz = terms.drift(t0, z, args)
    gwz = terms.diffusion_prod(t0, z, args, dW)
    y = lin(y1, (-0.5 * dt, fz), (-0.5 * dt, fz1), (-0.5, gwz), (-0.5, gwz1))
    return y, z
