"""Heun's method (Stratonovich)."""

from .._tree import lin
from .base import Solver

__all__ = ["Heun"]


class Heun(Solver):
    """``y' = y + f dt + g dW``; ``y1 = y + (f + f') dt / 2 + (g + g') dW / 2``.

    Strong order 1.0 for commutative noise, 0.5 in general.

    Examples
    --------
    >>> Heun().name
    'heun'
    """

    name = "heun"
    sde_types = ("stratonovich",)
    noise_types = ("diagonal", "additive", "general")
    strong_order = 1.0

    def step(self, terms, t0, t1, y, state, dW, H, args):
        dt = t1 - t0
        fl = terms.drift(t0, y, args)
        gw = terms.diffusion_prod(t0, y, args, dW)
        yp = lin(y, (dt, fl), (None, gw))
        fl2 = terms.drift(t1, yp, args)
        gw2 = terms.diffusion_prod(t1, yp, args, dW)
        return lin(y, (0.5 * dt, fl), (0.5 * dt, fl2), (0.5, gw), (0.5, gw2)), None
