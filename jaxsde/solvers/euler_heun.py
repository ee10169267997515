"""Euler--Heun (Stratonovich)."""

from .._tree import lin
from .base import Solver

__all__ = ["EulerHeun"]


class EulerHeun(Solver):
    """``y' = y + g(y) dW``; ``y1 = y + f(y) dt + (g(y) + g(y')) dW / 2``.

    Strong order 1.0 for commutative noise, 0.5 in general.

    Examples
    --------
    >>> EulerHeun().sde_types
    ('stratonovich',)
    """

    name = "euler_heun"
    sde_types = ("stratonovich",)
    noise_types = ("diagonal", "additive", "general")
    strong_order = 1.0

    def step(self, terms, t0, t1, y, state, dW, H, args):
        dt = t1 - t0
        fl = terms.drift(t0, y, args)
        gw = terms.diffusion_prod(t0, y, args, dW)
        yp = lin(y, (None, gw))
        gw2 = terms.diffusion_prod(t1, yp, args, dW)
        return lin(y, (dt, fl), (0.5, gw), (0.5, gw2)), None
