"""The PyTorch engine of skbnnsde: the SDE-BNN on ``torchsde``.

Importing this package imports torch and torchsde; the estimators do so only when the torch
engine is requested. Modules mirror ``engines/jax``: ``activations``, ``model`` (the
networks), ``sde`` (the SDE modules), ``brownian`` (the fixed-grid Brownian motion),
``solve``, ``likelihoods``, ``train`` and ``engine``.
"""

import torch  # noqa: F401  (fail here, clearly, when torch is missing)
import torchsde  # noqa: F401

from .engine import TorchEngine, forward_from_noise

__all__ = ["TorchEngine", "forward_from_noise"]
