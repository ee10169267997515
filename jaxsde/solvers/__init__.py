"""Registry of the fixed-step SDE methods.

``METHODS`` maps each method name to its supported SDE and noise types.
For additive noise Ito and Stratonovich coincide, so every method also
accepts ``noise_type="additive"`` under either ``sde_type``.
"""

from .base import Solver
from .euler_heun import EulerHeun
from .euler_maruyama import EulerMaruyama
from .heun import Heun
from .midpoint import Midpoint
from .milstein import Milstein
from .reversible_heun import ReversibleHeun
from .srk import SRA1, ShARK

__all__ = ["Solver", "SOLVERS", "METHODS", "ALIASES", "get_solver", "check_supported",
           "EulerMaruyama", "Milstein", "SRA1", "ShARK", "EulerHeun", "Heun", "Midpoint",
           "ReversibleHeun"]

SOLVERS = {s.name: s for s in (EulerMaruyama(), Milstein(), SRA1(), ShARK(), EulerHeun(), Heun(),
                               Midpoint(), ReversibleHeun())}
ALIASES = {"euler": "euler_maruyama", "em": "euler_maruyama", "sra1": "srk"}

METHODS = {name: {"sde_types": s.sde_types, "noise_types": s.noise_types,
                  "strong_order": s.strong_order, "needs_levy_area": s.needs_levy}
           for name, s in SOLVERS.items()}


def get_solver(method):
    """Return the solver object for ``method`` (name or alias).

    Examples
    --------
    >>> get_solver("euler").name
    'euler_maruyama'
    """
    if isinstance(method, Solver):
        return method
    name = ALIASES.get(method, method)
    if name not in SOLVERS:
        raise ValueError(
            f"method must be one of {sorted(SOLVERS)} (aliases {sorted(ALIASES)}), got {method!r}")
    return SOLVERS[name]


def check_supported(solver, sde_type, noise_type, has_noise=True):
    """Raise ValueError when ``solver`` does not support the SDE/noise type.

    Without noise (``g`` returns None for every leaf) the equation is an ODE
    and every method accepts it.
    """
    if not has_noise:
        return
    if noise_type not in solver.noise_types:
        raise ValueError(
            f"method={solver.name!r} supports noise_type in {solver.noise_types}, "
            f"got noise_type={noise_type!r}")
    if noise_type != "additive" and sde_type not in solver.sde_types:
        raise ValueError(
            f"method={solver.name!r} supports sde_type in {solver.sde_types} "
            f"(any sde_type for additive noise), got sde_type={sde_type!r}")
