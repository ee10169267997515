"""jaxsde: differentiable SDE solvers in JAX.

Entry points: :func:`sdeint` (general), and the original names
:func:`sdeint_ito_fixed_grid` (backprop), :func:`sdeint_ito` (stochastic
adjoint) and :func:`sdeint_strat`. Brownian motion: a PRNG key (exact
per-step increments, :func:`grid_increments`), :class:`GridIncrements` or
:class:`VirtualBrownianTree`. Imports nothing from ``skbnnsde``.
"""

from ._sdeint import ADJOINTS, sdeint, sdeint_ito, sdeint_ito_fixed_grid, sdeint_strat
from .brownian import GridIncrements, VirtualBrownianTree, grid_increments
from .solvers import METHODS

__all__ = ["sdeint", "sdeint_ito", "sdeint_ito_fixed_grid", "sdeint_strat", "GridIncrements",
           "VirtualBrownianTree", "grid_increments", "METHODS", "ADJOINTS", "methods"]


def methods():
    """Table of the fixed-step methods and what they support.

    Returns
    -------
    dict
        ``{method: {"sde_types": tuple, "noise_types": tuple, "strong_order": float,
        "needs_levy_area": bool}}`` (a copy of :data:`METHODS`).

    Examples
    --------
    >>> "srk" in methods()
    True
    """
    return {k: dict(v) for k, v in METHODS.items()}
