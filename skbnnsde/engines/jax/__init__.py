"""The JAX engine: the SDE-BNN on ``jaxsde`` (imported only when asked for).

Modules mirror ``engines/torch``: ``activations``, ``likelihoods``, ``model`` (drifts and
read-out of one weight path), ``solve`` (weight paths through ``jaxsde``), ``train`` (losses,
the jitted epoch, the fit) and ``engine`` (:class:`JaxEngine`).
"""

from .engine import JaxEngine

__all__ = ["JaxEngine"]
