"""Euler--Maruyama (Ito, strong order 0.5; 1.0 for additive noise)."""

from .._tree import lin
from .base import Solver

__all__ = ["EulerMaruyama"]


class EulerMaruyama(Solver):
    """``y1 = y + f(y, t0) dt + g(y, t0) dW``.

    Examples
    --------
    >>> EulerMaruyama().noise_types
    ('diagonal', 'additive', 'general')
    """

    name = "euler_maruyama"
    sde_types = ("ito",)
    noise_types = ("diagonal", "additive", "general")
    strong_order = 0.5

    def step(self, terms, t0, t1, y, state, dW, H, args):
        dt = t1 - t0
        fl = terms.drift(t0, y, args)
        gw = terms.diffusion_prod(t0, y, args, dW)
        return lin(y, (dt, fl), (None, gw)), None
