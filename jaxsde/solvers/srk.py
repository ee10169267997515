"""Additive-noise stochastic Runge--Kutta methods of strong order 1.5 (SRA1, ShARK)."""

from .._tree import lin
from .base import Solver

__all__ = ["SRA1", "ShARK"]


class SRA1(Solver):
    """SRA1, Rößler's (2010) additive-noise scheme, in the form diffrax's ``SRA1`` takes.

    With the step's increment ``W``, space-time Lévy area ``H`` and
    ``K = W / 2 + H`` (the time integral of the Brownian path over the step,
    divided by ``dt``)::

        z  = y + 3/4 f(t0, y) dt + 3/2 g(t0) K
        y1 = y + (1/3 f(t0, y) + 2/3 f(t0 + 3/4 dt, z)) dt + g(t1) (W - K) + g(t0) K

    Strong order 1.5 for additive noise, also when ``g`` depends on time. On
    the same ``(W, H)`` it agrees to rounding with diffrax's ``SRA1`` always,
    and with torchsde's ``srk`` where ``g`` does not depend on time: torchsde
    takes the stage's ``g`` at ``t1`` (Rößler's tableau), which moves a
    time-dependent ``g``'s solution by O(dt²) without changing the order.

    Examples
    --------
    >>> SRA1().strong_order
    1.5
    """

    name = "srk"
    sde_types = ("ito", "stratonovich")
    noise_types = ("additive",)
    strong_order = 1.5
    needs_levy = True

    def step(self, terms, t0, t1, y, state, dW, H, args):
        dt = t1 - t0
        K = lin(list(dW), (0.5, dW), (-1.0, dW), (None, H))  # W/2 + H, leaf-wise
        g0 = terms.diffusion(t0, y, args)
        g1 = terms.diffusion(t1, y, args)
        g0K = terms.prod(g0, K)
        g1W = terms.prod(g1, dW)
        g1K = terms.prod(g1, K)
        f0 = terms.drift(t0, y, args)
        z = lin(y, (0.75 * dt, f0), (1.5, g0K))
        f1 = terms.drift(t0 + 0.75 * dt, z, args)
        return lin(y, (dt / 3, f0), (2 * dt / 3, f1), (None, g1W), (-1.0, g1K), (None, g0K)), None


class ShARK(Solver):
    """Shifted additive-noise Runge--Kutta (Foster, dos Reis & Strange, 2023).

    With ``sigma = g(t0)`` and the step's increment ``W`` and space-time Levy
    area ``H``::

        z1 = y + sigma H
        z2 = y + 5/6 (f(z1) dt + sigma W) + sigma H
        y1 = y + (2/5 f(z1) + 3/5 f(z2)) dt + sigma W

    Strong order 1.5 for additive noise with a diffusion constant in time
    (order 1.0 when ``g`` depends on ``t``). Needs ``H``: sampled
    automatically from a key, or given as ``GridIncrements(dW, H)``.

    Examples
    --------
    >>> ShARK().needs_levy
    True
    """

    name = "shark"
    sde_types = ("ito", "stratonovich")
    noise_types = ("additive",)
    strong_order = 1.5
    needs_levy = True

    def step(self, terms, t0, t1, y, state, dW, H, args):
        dt = t1 - t0
        gl = terms.diffusion(t0, y, args)
        gw = terms.prod(gl, dW)
        gh = terms.prod(gl, H)
        z1 = lin(y, (None, gh))
        f1 = terms.drift(t0, z1, args)
        z2 = lin(y, (5 / 6 * dt, f1), (5 / 6, gw), (None, gh))
        f2 = terms.drift(t0 + 5 / 6 * dt, z2, args)
        return lin(y, (0.4 * dt, f1), (0.6 * dt, f2), (None, gw)), None
