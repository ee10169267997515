"""skbnnsde: SDE Bayesian neural networks as scikit-learn estimators.

Infinitely deep Bayesian neural networks (Xu, Chen, Li, Duvenaud, AISTATS 2022): the
weights of a continuous-depth network follow a stochastic differential equation whose
posterior is learned by variational inference. Two engines compute the model: PyTorch on
``torchsde`` and JAX on ``jaxsde``; neither is imported until it is used.

Examples
--------
>>> from skbnnsde import SDEBNNRegressor, SDEBNNClassifier
>>> SDEBNNRegressor(engine="jax", solver="heun").get_params()["solver"]
'heun'
"""

from ._version import __version__
from .classifier import SDEBNNClassifier
from .regressor import SDEBNNRegressor

__all__ = ["SDEBNNRegressor", "SDEBNNClassifier", "__version__"]
