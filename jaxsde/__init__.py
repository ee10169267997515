"""jaxsde: differentiable SDE solvers in JAX.

Entry points: :func:`sdeint` (general), and the original names
:func:`sdeint_ito_fixed_grid` (backprop), :func:`sdeint_ito` (stochastic
adjoint) and :func:`sdeint_strat`.
"""

from ._sdeint import ADJOINTS, sdeint, sdeint_ito, sdeint_ito_fixed_grid, sdeint_strat
from .brownian import GridIncrements, VirtualBrownianTree, grid_increments
from .solvers import METHODS

__all__ = ["sdeint", "sdeint_ito", "sdeint_ito_fixed_grid", "sdeint_strat", "GridIncrements",
           "VirtualBrownianTree", "grid_increments", "METHODS", "ADJOINTS", "methods"]


def methods():
    """Return ``{method: {"sde_types": ..., "noise_types": ...}}``.

    Examples
    --------
    >>> "srk" in methods()
    True
    """
    return {k: dict(v) for k, v in METHODS.items()}
