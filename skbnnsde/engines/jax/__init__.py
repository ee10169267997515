"""The JAX engine: the SDE-BNN on ``jaxsde`` (imported only when asked for)."""

from .engine import JaxEngine, forward_from_noise

__all__ = ["JaxEngine", "forward_from_noise"]
