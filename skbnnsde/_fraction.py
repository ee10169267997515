"""``stochastic_fraction="auto"``: the fraction of stochastic weights chosen on held-out rows.

A partially stochastic SDE-BNN fits smooth, nearly noiseless data far better than the fully
stochastic one, and overfits noisy data, where its noise estimate collapses below the test
error (``benchmarks/results/partial_stochastic.md``). Nothing in the training objective tells
the two apart, so "auto" asks the data, as ``RidgeCV`` does for its penalty: it fits one
member of each candidate on the rows less a held-out share and keeps the candidate with the
higher Gaussian log-likelihood of the held-out rows under its predictive mean and std
(its noise calibrated on those rows where ``calibrate`` applies). Where the other candidate
weighs enough in the mixture of the two that best predicts those rows, it is kept beside the
chosen one (``_mixture``).

Nothing here imports torch or jax.
"""

from __future__ import annotations

import numpy as np
from ._calibration import (check_calibration_rows, fitted_noise_factor, held_out_member, held_out_noise_factor,
                           split_held_out)
from ._mixture import kept_weights, mixture_weights
from .engines.specs import SMALL_DATA_ROWS, TrainSpec

#: the fractions "auto" chooses between: the paper's fully stochastic model and the partially
#: stochastic one that measured best where it helped (yacht, energy, concrete)
AUTO_FRACTION_CANDIDATES = (1.0, 0.2)
#: "auto" chooses on fits of more than SMALL_DATA_ROWS and at most this many rows (fewer leave
#: too few held-out rows to choose on; more cost the selection fits for sets where it was not measured)
AUTO_FRACTION_MAX_ROWS = 10_000


class StochasticFractionMixin:
    """What ``stochastic_fraction`` is for a fit (its docstring says why)."""

    def _on_held_out_rows(self, n_rows: "int | None") -> bool:
        """Whether a fit on ``n_rows`` is one where the "auto" rules choose on held-out rows: the
        SDE-BNN (mlp) on more than SMALL_DATA_ROWS and at most AUTO_FRACTION_MAX_ROWS rows (None:
        ``partial_fit``, never)."""
        return (self.posterior == "sde" and self.architecture == "mlp" and n_rows is not None
                and SMALL_DATA_ROWS < n_rows <= AUTO_FRACTION_MAX_ROWS)

    def _chooses_stochastic_fraction(self, n_rows: int) -> bool:
        """Whether a fit on ``n_rows`` chooses the fraction on held-out rows ("auto")."""
        return (self.stochastic_fraction == "auto" and self._task == "regression" and self._on_held_out_rows(n_rows)
                and self._likelihood(n_rows) in ("gaussian", "heteroscedastic"))

    def _stochastic_fraction(self) -> float:
        """The fraction the model is built with: the chosen one for "auto" (1.0 where it does not choose)."""
        if self.stochastic_fraction != "auto":
            return float(self.stochastic_fraction)
        return float(getattr(self, "stochastic_fraction_", 1.0))

    def _calibrates_noise(self, n_rows: int) -> bool:
        """Whether a fit on ``n_rows`` sets the noise scale on held-out rows (``calibrate``)."""
        if self.calibrate == "auto":
            return self._chooses_stochastic_fraction(n_rows)
        if not self.calibrate or self._task != "regression":
            return False
        if self._likelihood(n_rows) not in ("gaussian", "heteroscedastic"):
            raise ValueError("calibrate=True sets the noise scale of a regressor with likelihood='gaussian' "
                             "or 'heteroscedastic'; use calibrate=False or 'auto' here")
        check_calibration_rows(n_rows)
        return True

    def _held_out_step(self, X, y, sample_weight, seed: int) -> None:
        """What a fit chooses on held-out rows before it trains (the classifier adds its temperature)."""
        self._select_stochastic_fraction(X, y, sample_weight, seed)

    def _clear_held_out_choices(self) -> None:
        """The fitted state of a fit that chooses nothing on held-out rows (before a choice, and for
        ``partial_fit``): the fraction asked for (1.0 for "auto"), no scores, and a regressor's
        noise uncalibrated and its model alone (no mixture)."""
        explicit = self.stochastic_fraction != "auto"
        self.stochastic_fraction_ = float(self.stochastic_fraction) if explicit else 1.0
        self.stochastic_fraction_scores_ = None
        if self._task == "regression":
            self.noise_scale_factor_ = None
            self.stochastic_fraction_weights_, self.fraction_estimators_ = None, {}

    def _select_stochastic_fraction(self, X, y, sample_weight, seed: int) -> None:
        """Set ``stochastic_fraction_`` and ``noise_scale_factor_`` (with their held-out scores) for a fit.

        "auto" on a fit it does not choose for, and a warm start of a fitted model, keep what
        there is (1.0 for a first fit); an explicit fraction is taken as it is. The held-out
        fits run where either the fraction is chosen or the noise calibrated. Where the noise
        is calibrated, the candidates are compared with their noise calibrated, as the fit on
        all rows will predict: a partially stochastic candidate that fits the mean better but
        trained too small a noise is not lost for its noise
        (``benchmarks/results/uncertainty.md``, tenth session).
        """
        explicit = self.stochastic_fraction != "auto"
        if self.warm_start and hasattr(self, "spec_"):  # continue the fitted model, noise factor included
            fitted = float(self.spec_.get("stochastic_fraction", 1.0))
            if not explicit or float(self.stochastic_fraction) == fitted:
                self.stochastic_fraction_ = fitted
                if self._task == "regression" and explicit:  # the fraction asked for, alone
                    self.stochastic_fraction_weights_, self.fraction_estimators_ = None, {}
                elif self._task == "regression":
                    self._continue_fraction_estimators(X, y, sample_weight, partial=False)
                return
        self._clear_held_out_choices()
        chooses, calibrates = self._chooses_stochastic_fraction(X.shape[0]), self._calibrates_noise(X.shape[0])
        if not (chooses or calibrates):
            return
        candidates = AUTO_FRACTION_CANDIDATES if chooses else (self.stochastic_fraction_,)
        scores, factors, weights = self._held_out_scores(X, y, sample_weight, seed, candidates, calibrates)
        finite = {f: s for f, s in scores.items() if np.isfinite(s)}
        if chooses:
            self.stochastic_fraction_ = max(finite, key=finite.get) if finite else 1.0
            self.stochastic_fraction_scores_ = scores
            self.stochastic_fraction_weights_ = kept_weights(weights, self.stochastic_fraction_)
        if calibrates and self.stochastic_fraction_ in finite:
            self.noise_scale_factor_ = fitted_noise_factor(factors[self.stochastic_fraction_])
        if chooses and len(self.stochastic_fraction_weights_) > 1:
            self._fit_fraction_estimators(X, y, sample_weight, seed, factors)
        if self.verbose:
            print(f"held-out log-likelihood {scores}; stochastic_fraction {self.stochastic_fraction_}, "
                  f"mixture weights {getattr(self, 'stochastic_fraction_weights_', None)}, "
                  f"noise scale factor {self.noise_scale_factor_}")

    def _whole_fit_settings(self, n_rows: int, fraction: float) -> dict:
        """What a held-out candidate of ``fraction`` takes from the fit on all ``n_rows`` rows: its
        likelihood, epochs and Laplace step, which the rules for the candidate's fewer rows may
        not give it (a budget of 2,000 steps is 500 epochs of concrete's candidate, 400 of its
        fit): the candidate is scored as a stand-in for that fit."""
        epochs = TrainSpec(max_iter=self.max_iter, batch_size=self.batch_size).epochs_for(n_rows, self._task, fraction)
        return dict(stochastic_fraction=fraction, likelihood=self._likelihood(n_rows), max_iter=epochs,
                    laplace=self._uses_laplace(n_rows))

    def _held_out_scores(self, X, y, sample_weight, seed, candidates, calibrated):
        """Per candidate fraction: the held-out Gaussian log-likelihood of one member and, with
        ``calibrated``, its held-out noise factors, the score being that of the calibrated noise
        (``_calibration``); and the weights of the candidates with a finite score in the mixture
        of their predictives that best predicts the held-out rows (``_mixture``)."""
        from .metrics import gaussian_log_likelihood

        (X_fit, y_fit, w_fit), (X_out, y_out, w_out) = split_held_out(X, y, sample_weight, seed)
        scores, factors, predictives = {}, {}, {}
        for fraction in candidates:
            candidate = held_out_member(self, **self._whole_fit_settings(X.shape[0], fraction))
            candidate.fit(X_fit, y_fit, sample_weight=w_fit)
            u = candidate.predict_uncertainty(X_out)
            scores[fraction] = float(gaussian_log_likelihood(y_out, u["mean"], u["std"], sample_weight=w_out))
            if not np.isfinite(scores[fraction]):
                continue
            std = u["std"]
            if calibrated:
                factors[fraction], scores[fraction] = held_out_noise_factor(
                    y_out, u["mean"], u["epistemic_std"], u["aleatoric_std"], sample_weight=w_out)
                std = np.sqrt(u["epistemic_std"] ** 2 + (factors[fraction] * u["aleatoric_std"]) ** 2)
            predictives[fraction] = (u["mean"], std)
        weights = mixture_weights(y_out, *zip(*predictives.values()), sample_weight=w_out) if predictives else []
        return scores, factors, dict(zip(predictives, weights))
