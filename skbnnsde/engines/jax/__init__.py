"""The JAX engine: the SDE-BNN on ``jaxsde`` (imported only when asked for).

Modules mirror ``engines/torch``: ``activations``, ``likelihoods``, ``model`` (drifts and
read-out of one weight path), ``solve`` (weight paths through ``jaxsde``), ``train`` (losses,
the jitted epoch, the fit) and ``engine`` (:class:`JaxEngine`); ``cache`` is JAX's own.

Loading the engine turns on JAX's persistent compilation cache (``cache``): compiled
programs are kept in a per-user folder (``~/.cache/skbnnsde/jax`` by default) and new
processes load them instead of compiling again. ``SKBNNSDE_JAX_CACHE=0`` turns that off,
``SKBNNSDE_JAX_CACHE=/some/folder`` moves it, and a folder set for JAX itself
(``JAX_COMPILATION_CACHE_DIR``) is left as it is.
"""

from .cache import enable_compilation_cache
from .engine import JaxEngine

enable_compilation_cache()

__all__ = ["JaxEngine"]
