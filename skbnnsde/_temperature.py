"""A classifier's temperature set on held-out rows (``calibrate``; the reasons in ``_calibration``):
out of fold where the ensemble's members are cross-fitted (``_cross_fit``), else by one member
held out of the ensemble.

Nothing here imports torch or jax.
"""

from __future__ import annotations

import numpy as np
from ._calibration import (check_calibration_rows, held_out_member, held_out_temperature, split_held_out,
                           tempered_log_likelihood)
from ._cross_fit import (AUTO_CROSS_FIT_MEMBERS, fitted_temperature, member_training_rows, out_of_fold_logits,
                         usable_folds)


class TemperatureMixin:
    """``temperature_``: what ``calibrate`` sets for a classifier (``calibrate``'s docstring)."""

    def _calibrates_temperature(self, n_rows: int) -> bool:
        """Whether a fit on ``n_rows`` sets the temperature on held-out rows."""
        if self.calibrate == "auto":
            return self._on_held_out_rows(n_rows)
        if self.calibrate:
            check_calibration_rows(n_rows)
        return bool(self.calibrate)

    def _ensemble_size(self, n_train_rows):
        """``n_ensembles``, where "auto" fits ``AUTO_CROSS_FIT_MEMBERS`` for a classifier that calibrates."""
        if (self.n_ensembles == "auto" and n_train_rows is not None and not self.early_stopping
                and self._calibrates_temperature(n_train_rows)):
            return AUTO_CROSS_FIT_MEMBERS
        return super()._ensemble_size(n_train_rows)

    def _fit(self, X, y, sample_weight=None):
        try:
            return super()._fit(X, y, sample_weight)
        finally:  # a fit that failed leaves no folds behind for a later partial_fit to train on
            self.__dict__.pop("_cross_fit_folds", None)
            self.__dict__.pop("_out_of_fold_score", None)

    def _held_out_step(self, X, y, sample_weight, seed: int) -> None:
        super()._held_out_step(X, y, sample_weight, seed)
        n_members = self._ensemble_size(X.shape[0])
        if self.warm_start and hasattr(self, "spec_") and self._n_members() == n_members:
            return  # continuing the fitted members: keep the fitted temperature
        self.temperature_ = None
        if not self._calibrates_temperature(X.shape[0]):
            return
        # the members are cross-fitted where they train on the rows the temperature is measured on
        folds = None if self.early_stopping else usable_folds(y, sample_weight, n_members, seed)
        if folds is None:
            self.temperature_ = self._held_out_temperature(X, y, sample_weight, seed)
        self._cross_fit_folds = folds

    def _member_training_rows(self, member: int):
        folds = getattr(self, "_cross_fit_folds", None)
        return None if folds is None else member_training_rows(folds, member)

    def _members_trained(self, X, y, sample_weight) -> None:
        folds = getattr(self, "_cross_fit_folds", None)  # _fit clears them once it ends
        if folds is None:
            return
        logits = out_of_fold_logits(self, X, folds)
        out_of_fold = held_out_temperature(logits, y, sample_weight=sample_weight)
        self.temperature_ = fitted_temperature(out_of_fold)
        # how well the members predict the rows they left out, calibrated: what max_iter="auto" compares
        self._out_of_fold_score = tempered_log_likelihood(logits, y, out_of_fold, sample_weight=sample_weight)
        if self.verbose:
            print(f"calibrate: out-of-fold temperature {out_of_fold:.3g}, the ensemble's {self.temperature_:.3g}")

    def _held_out_temperature(self, X, y, sample_weight, seed: int):
        """The held-out temperature of one member fitted on the other rows (None where a class
        has too few rows to be on both sides of a stratified split)."""
        _, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            if self.calibrate is True:
                raise ValueError("calibrate=True holds out rows of every class and needs at least 2 rows of each; "
                                 f"the smallest class has {counts.min()}. Use calibrate=False or 'auto'")
            return None
        (X_fit, y_fit, w_fit), (X_out, y_out, w_out) = split_held_out(X, y, sample_weight, seed, stratify=y)
        member = held_out_member(self)
        member.fit(X_fit, y_fit, sample_weight=w_fit)
        temperature = held_out_temperature(member._predictive_samples(X_out),
                                           np.searchsorted(member.classes_, y_out), sample_weight=w_out)
        if self.verbose:
            print(f"calibrate: held-out temperature {temperature:.3g}")
        return temperature

    def _temperature(self) -> float:
        """``temperature_``, or 1 where the fit did not set one."""
        temperature = getattr(self, "temperature_", None)
        return 1.0 if temperature is None else float(temperature)
