"""Solver interface shared by all methods."""

__all__ = ["Solver"]


class Solver:
    """One-step map of a fixed-step SDE method acting on lists of leaves.

    Attributes
    ----------
    name : str
    sde_types : tuple of str
        SDE interpretations the method converges to (for additive noise Ito
        and Stratonovich coincide, so every method accepts additive noise
        under either ``sde_type``).
    noise_types : tuple of str
    strong_order : float
        Strong order on the problems it is designed for.
    needs_levy : bool
        Whether the method uses the space-time Levy area ``H``.
    """

    name = "base"
    sde_types = ()
    noise_types = ()
    strong_order = None
    needs_levy = False

    def init(self, terms, t0, y0, args):
        """Initial solver state (None for one-step methods)."""
        return None

    def step(self, terms, t0, t1, y, state, dW, H, args):
        """Advance ``y`` from ``t0`` to ``t1``; return ``(y1, state1)``."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"
