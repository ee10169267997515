"""A classifier's temperature set on held-out rows (``calibrate``; the reasons in ``_calibration``).

Nothing here imports torch or jax.
"""

from __future__ import annotations

import numpy as np
from ._calibration import check_calibration_rows, held_out_member, held_out_temperature, split_held_out


class TemperatureMixin:
    """``temperature_``: what ``calibrate`` sets for a classifier (``calibrate``'s docstring)."""

    def _calibrates_temperature(self, n_rows: int) -> bool:
        """Whether a fit on ``n_rows`` sets the temperature on held-out rows."""
        if self.calibrate == "auto":
            return self._on_held_out_rows(n_rows)
        if self.calibrate:
            check_calibration_rows(n_rows)
        return bool(self.calibrate)

    def _held_out_step(self, X, y, sample_weight, seed: int) -> None:
        super()._held_out_step(X, y, sample_weight, seed)
        if self.warm_start and hasattr(self, "spec_"):  # continuing: keep the fitted temperature
            return
        self.temperature_ = None
        if self._calibrates_temperature(X.shape[0]):
            self.temperature_ = self._held_out_temperature(X, y, sample_weight, seed)

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
