"""The choices of the "auto" hyperparameters (``laplace``, ``n_ensembles``, ``learn_diffusion``,
``activation``, ``max_grad_norm``)
and of the default likelihood: each a method of the task and the rows a fit trains on, shared
by both estimators (``stochastic_fraction``'s, which fits candidates, is in ``_fraction.py``).

Nothing here imports torch or jax.
"""

from __future__ import annotations

from ._ensemble import AUTO_ENSEMBLE_MEMBERS, AUTO_ENSEMBLE_MEMBERS_SMALL_REGRESSION
from .engines.specs import SMALL_DATA_ROWS

#: ``learn_diffusion="auto"`` learns a regressor's diffusion on fits of at most this many rows:
#: it helped on the small UCI sets and cost a little on protein, where the KL, divided by the
#: rows, hardly weighs and the ELBO picks the diffusion for the training fit alone; on the
#: classification sets it changed nothing (measured in ``benchmarks/results/uncertainty.md``)
LEARN_DIFFUSION_MAX_ROWS = 10_000
#: ``max_grad_norm="auto"`` for the classifier's SDE-BNN (mlp), trained with swish: without it one
#: member in a few dozen diverged in training on digits (``benchmarks/results/uncertainty.md``)
AUTO_MAX_GRAD_NORM = 1.0


class AutoRulesMixin:
    """What "auto" means for a fit of a given size (the parameters' docstrings say why)."""

    def _laplace_forced(self) -> bool:
        """Whether ``laplace=True`` asks for the Laplace step whatever the data ("auto" decides per fit)."""
        return self.laplace != "auto" and bool(self.laplace)

    def _small_regression(self, n_train_rows: "int | None") -> bool:
        """Whether a fit is a regressor's on at most ``SMALL_DATA_ROWS`` rows: where the "auto" options add to it."""
        return self._task == "regression" and n_train_rows is not None and n_train_rows <= SMALL_DATA_ROWS

    def _laplace_has_parameters(self) -> bool:
        """Whether training leaves a point estimate for the Laplace step to cover (``w0`` or the read-out)."""
        gaussian_w0 = self.posterior == "meanfield" or (self.posterior == "sde" and self.w0_posterior == "gaussian")
        return not (gaussian_w0 and self.readout_posterior == "gaussian")

    def _check_laplace(self) -> None:
        """ValueError where ``laplace=True`` cannot apply: a classifier, or nothing fitted as a point."""
        if not self._laplace_forced():
            return
        if self._task != "regression":
            raise ValueError("laplace=True is implemented for SDEBNNRegressor only; use laplace=False")
        if not self._laplace_has_parameters():
            raise ValueError(
                "laplace=True covers the parameters that training fits as points, and with these options "
                "every weight has a Gaussian posterior already (w0 and the read-out); use laplace=False "
                'or readout_posterior="point"'
            )

    def _uses_laplace(self, n_train_rows: int) -> bool:
        """Whether a fit on ``n_train_rows`` adds the Laplace step (``laplace``'s docstring)."""
        if not self._laplace_has_parameters():
            return False
        if self.laplace == "auto":
            return self._small_regression(n_train_rows)
        return bool(self.laplace)

    def _default_likelihood_for(self, n_train_rows: "int | None") -> str:
        """The likelihood of ``likelihood=None`` for a fit on ``n_train_rows`` (None: ``partial_fit``).

        A regressor's SDE-BNN (mlp) predicts a noise scale per row on the fits where the held-out
        rules choose (``_fraction``): on those sizes it predicted held-out rows better than one
        learned scale (``benchmarks/results/uncertainty.md``). Other fits keep the task's
        likelihood with one scale, where the per-row scale was not measured.
        """
        if self._task == "regression" and self._on_held_out_rows(n_train_rows):
            return "heteroscedastic"
        return self._default_likelihood

    def _learns_diffusion(self, n_train_rows: int) -> bool:
        """Whether a fit on ``n_train_rows`` learns the diffusion (``learn_diffusion``'s docstring)."""
        if self.posterior != "sde":
            return False
        if self.learn_diffusion == "auto":
            return self._task == "regression" and n_train_rows <= LEARN_DIFFUSION_MAX_ROWS
        return bool(self.learn_diffusion)

    def _swish_classifier(self) -> bool:
        """Whether "auto" gives this model swish and a clipped gradient: a classifier's SDE-BNN (mlp)."""
        return self._task == "classification" and self.architecture == "mlp" and self.posterior == "sde"

    def _activation(self) -> str:
        """The activation of ``f_h`` (``activation``'s docstring): "auto" is swish for a classifier's
        SDE-BNN (mlp) and tanh for every other model."""
        if self.activation != "auto":
            return self.activation
        return "swish" if self._swish_classifier() else "tanh"

    def _max_grad_norm(self) -> "float | None":
        """The global norm the gradient is clipped to (``max_grad_norm``'s docstring; None: not clipped)."""
        if self.max_grad_norm != "auto":
            return None if self.max_grad_norm is None else float(self.max_grad_norm)
        return AUTO_MAX_GRAD_NORM if self._swish_classifier() else None

    def _ensemble_size(self, n_train_rows: "int | None") -> int:
        """The members a fit on ``n_train_rows`` trains (``n_ensembles``'s docstring; None: ``partial_fit``)."""
        if self.n_ensembles == "auto":
            if n_train_rows is None:  # partial_fit
                return 1
            if self._small_regression(n_train_rows):
                return AUTO_ENSEMBLE_MEMBERS_SMALL_REGRESSION
            return AUTO_ENSEMBLE_MEMBERS
        return int(self.n_ensembles)
