"""The code behind the scripts in ``examples/``: the paper's two experiments, runnable.

Not part of the estimators' API: it exists so that the example scripts stay short and read
top to bottom, while the engines' scripts (``examples/jax/*.py``, ``examples/torch/*.py``)
share one implementation of each experiment. Plotting needs matplotlib
(``pip install 'skbnnsde[examples]'``); nothing here imports it, torch or jax at import time.

- :mod:`~skbnnsde.experiments.cli`: the command-line conventions every example shares;
- :mod:`~skbnnsde.experiments.plotting`: saving figures, the toy and calibration figures;
- :mod:`~skbnnsde.experiments.toy`: toy 1-D regression (``examples/*/sdebnn_toy1d.py``);
- :mod:`~skbnnsde.experiments.prior`: functions drawn from the model's prior (NumPy);
- :mod:`~skbnnsde.experiments.classification`: image classification
  (``examples/*/sdebnn_classification.py``);
- :mod:`~skbnnsde.experiments.bimodal`: the bimodal 1-D variational SDE of the original
  torch demo, on torchsde and on jaxsde (``examples/*/sde_bimodal.py``).
"""
