"""Explicit midpoint method (Stratonovich)."""

from .._tree import lin
from .base import Solver

__all__ = ["Midpoint"]


class Midpoint(Solver):
    """``y_m = y + (f dt + g dW) / 2``; ``y1 = y + f(y_m) dt + g(y_m) dW``.

    Strong order 1.0 for commutative noise, 0.5 in general.

    Examples
    --------
    >>> Midpoint().name
    'midpoint'
    """

    name = "midpoint"
    sde_types = ("stratonovich",)
    noise_types = ("diagonal", "additive", "general")
    strong_order = 1.0

    def step(self, terms, t0, t1, y, state, dW, H, args):
        dt = t1 - t0
        tm = t0 + 0.5 * dt
        fl = terms.drift(t0, y, args)
        gw = terms.diffusion_prod(t0, y, args, dW)
        ym = lin(y, (0.5 * dt, fl), (0.5, gw))
        fm = terms.drift(tm, ym, args)
        gwm = terms.diffusion_prod(tm, ym, args, dW)
        return lin(y, (dt, fm), (None, gwm)), None
