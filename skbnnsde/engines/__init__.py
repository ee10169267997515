"""Engine registry: which engines exist, which are installed, and lazy loading.

Importing this module imports neither torch nor jax; :func:`get_engine` imports the one
asked for, and raises an ImportError naming the extra to install when it is missing.
:class:`TrainingDivergedError` is what a fit raises when its loss stops being finite.
"""

from __future__ import annotations

import importlib
import importlib.util

from .training import TrainingDivergedError

__all__ = ["ENGINES", "TrainingDivergedError", "get_engine", "installed_engines", "is_installed", "resolve_engine"]

#: Engine names in the order ``engine="auto"`` tries them.
ENGINES = ("jax", "torch")

_REQUIREMENTS = {"jax": ("jax", "jaxlib", "optax"), "torch": ("torch", "torchsde")}
_MODULES = {"jax": "skbnnsde.engines.jax", "torch": "skbnnsde.engines.torch"}
_CLASSES = {"jax": "JaxEngine", "torch": "TorchEngine"}
_cache: dict = {}


def is_installed(name: str) -> bool:
    """Whether every package engine ``name`` needs can be imported (without importing it).

    Examples
    --------
    >>> is_installed("no-such-engine")
    False
    """
    reqs = _REQUIREMENTS.get(name)
    return bool(reqs) and all(importlib.util.find_spec(r) is not None for r in reqs)


def installed_engines() -> list:
    """Names of the installed engines, in ``engine="auto"`` order."""
    return [name for name in ENGINES if is_installed(name)]


def resolve_engine(name: str) -> str:
    """Turn an ``engine`` hyperparameter into an installed engine's name.

    ``"auto"`` picks the first installed engine of :data:`ENGINES`. Raises ValueError for
    an unknown name and ImportError (naming the extra to install) for a missing one.
    """
    if name == "auto":
        found = installed_engines()
        if not found:
            raise ImportError(
                "engine='auto' found no engine: install one with "
                "pip install 'skbnnsde[jax]' or pip install 'skbnnsde[torch]'"
            )
        return found[0]
    if name not in ENGINES:
        raise ValueError(f"engine must be one of {('auto',) + ENGINES}, got {name!r}")
    if not is_installed(name):
        missing = [r for r in _REQUIREMENTS[name] if importlib.util.find_spec(r) is None]
        raise ImportError(
            f"engine={name!r} needs {', '.join(missing)}, which is not installed: "
            f"pip install 'skbnnsde[{name}]'"
        )
    return name


def get_engine(name: str):
    """The engine object for ``name`` (``"auto"``, ``"jax"`` or ``"torch"``), imported lazily.

    Examples
    --------
    >>> engine = get_engine("auto")  # doctest: +SKIP
    >>> engine.name in ENGINES  # doctest: +SKIP
    True
    """
    resolved = resolve_engine(name)
    if resolved not in _cache:
        module = importlib.import_module(_MODULES[resolved])
        _cache[resolved] = getattr(module, _CLASSES[resolved])()
    return _cache[resolved]
