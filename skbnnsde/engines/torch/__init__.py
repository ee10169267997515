"""The PyTorch engine of skbnnsde: the SDE-BNN on ``torchsde``.

Importing this package imports torch and torchsde; the estimators do so only when the torch
engine is requested. The modules mirror ``engines/jax``: ``activations``, ``likelihoods``,
``model`` (the networks), ``solve`` (one SDE block and the whole model), ``train`` and
``engine``; ``brownian`` (the fixed-grid Brownian motion torchsde is given) and ``threads``
(intra-op threads for small problems) are torch's own.
"""

import torch  # noqa: F401  (fail here, clearly, when torch is missing)
import torchsde  # noqa: F401

from .engine import TorchEngine

__all__ = ["TorchEngine"]
