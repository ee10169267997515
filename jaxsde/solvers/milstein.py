"""Milstein method (Ito or Stratonovich, strong order 1.0, commutative noise)."""

from .._tree import lin
from .base import Solver

__all__ = ["Milstein"]


class Milstein(Solver):
    """Milstein step for diagonal (or additive) noise.

    Ito: ``y1 = y + f dt + g dW + 1/2 g g' (dW^2 - dt)``;
    Stratonovich: ``y1 = y + f dt + g dW + 1/2 g g' dW^2``, with ``g g'``
    computed by one JVP of ``g`` along ``g``. General (possibly
    non-commutative) noise is refused: it would need Levy areas.

    Examples
    --------
    >>> Milstein().sde_types
    ('ito', 'stratonovich')
    """

    name = "milstein"
    sde_types = ("ito", "stratonovich")
    noise_types = ("diagonal", "additive")
    strong_order = 1.0

    def step(self, terms, t0, t1, y, state, dW, H, args):
        dt = t1 - t0
        fl = terms.drift(t0, y, args)
        gl = terms.diffusion(t0, y, args)
        gw = terms.prod(gl, dW)
        if terms.noise_type == "additive":
            return lin(y, (dt, fl), (None, gw)), None
        gdg = terms.g_dg(t0, y, args, gl)
        corr = [None] * len(y)
        for j, i in enumerate(terms.noise_idx):
            if gdg[i] is None:
                continue
            w = dW[j].astype(gdg[i].dtype)
            if terms.sde_type == "ito":
                corr[i] = 0.5 * gdg[i] * (w * w - dt.astype(w.dtype))
            else:
                corr[i] = 0.5 * gdg[i] * (w * w)
        return lin(y, (dt, fl), (None, gw), (None, corr)), None
