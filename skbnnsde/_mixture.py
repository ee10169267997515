"""``stochastic_fraction="auto"`` as a mixture: the candidate fractions' models weighted by held-out rows.

Where neither candidate of "auto" predicts the held-out rows clearly better (concrete, boston),
choosing one throws away what the other knows: on validation rows the mixture of both fitted
models, weighted by the held-out rows, predicted better than the one chosen alone
(``benchmarks/results/uncertainty.md``, twelfth session). So "auto" keeps, besides the chosen
candidate, every other candidate whose weight in the mixture that best predicts the held-out
rows (stacking, fitted by EM on the candidates' calibrated Gaussian predictives) reaches a
floor: ``MIN_PARTIAL_MIXTURE_WEIGHT`` for the partially stochastic candidate, whose one
held-out member under-rates its fitted ensemble most, ``MIN_MIXTURE_WEIGHT`` for the fully
stochastic one, which cost yacht where it was let in with less. Each kept candidate is fitted
on all rows with the estimator's ``n_ensembles`` members and its own calibrated noise. Where
only the chosen candidate is kept (smooth or clearly noisy data: yacht, energy, wine), the fit
is the chosen model alone, as before.

The predictive is the weighted mixture: its mean the weighted mean; its aleatoric variance the
weighted mean of the models' noise variances; its epistemic variance the rest of the mixture's
variance (each model's epistemic variance plus the spread of their means). Draws are shared out
among the models by weight, on a stream of the seed. NumPy only.
"""

from __future__ import annotations

import numpy as np

from ._sampling import PosteriorSamplingMixin, _check_n_samples
from ._streams import MAX_SEED, derived_seed, part_rng

#: the least weight of a fully stochastic candidate other than the chosen one that "auto" keeps
#: in the mixture (beside a chosen partially stochastic one: yacht's lost 0.03 nats at 0.1)
MIN_MIXTURE_WEIGHT = 0.2
#: the same for a partially stochastic candidate: its held-out weight is that of one member,
#: and its fitted ensemble gains more from the second member than the fully stochastic one's
#: (boston: +0.041 nats at 0.1 against +0.021 at 0.2)
MIN_PARTIAL_MIXTURE_WEIGHT = 0.1
#: the hyperparameters of how a fitted model computes, which its mixture's other models follow
PREDICTION_PARAMS = ("engine", "device", "dtype", "solver", "n_steps", "adjoint", "n_predict_samples")


def mixture_weights(y, means, stds, sample_weight=None, max_iter=1000, tol=1e-10) -> np.ndarray:
    """The weights of the mixture of Gaussian predictives that best predicts the rows ``y``.

    Parameters
    ----------
    y : array-like of shape (n_rows,) or (n_rows, n_targets)
        Held-out targets.
    means, stds : sequence of array-likes of the shape of ``y``
        Every candidate's predictive mean and standard deviation for those rows.
    sample_weight : array-like of shape (n_rows,), default=None
        Row weights of the log-likelihood.
    max_iter : int, default=1000
        EM iterations at most.
    tol : float, default=1e-10
        Stop when no weight moves by more than this.

    Returns
    -------
    weights : ndarray of shape (n_candidates,)
        Non-negative, summing to 1: the maximiser of the rows' mean log-likelihood under
        ``sum_c weights[c] N(y; means[c], stds[c]²)`` (targets independent given a candidate).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal(4000)
    >>> w = mixture_weights(y, [np.zeros_like(y), np.zeros_like(y)], [np.ones_like(y), 5 * np.ones_like(y)])
    >>> w.round(2).tolist()
    [1.0, 0.0]
    """
    from scipy.special import logsumexp
    from scipy.stats import norm

    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    as_y = lambda a: np.asarray(a, dtype=np.float64).reshape(y.shape)  # noqa: E731
    log_density = np.stack([norm.logpdf(y, as_y(m), as_y(s)).sum(axis=1) for m, s in zip(means, stds)])
    row_weights = np.ones(y.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    weights = np.full(len(log_density), 1.0 / len(log_density))
    for _ in range(int(max_iter)):
        joint = np.log(np.maximum(weights, 1e-300))[:, None] + log_density
        responsibilities = np.exp(joint - logsumexp(joint, axis=0))
        updated = np.average(responsibilities, axis=1, weights=row_weights)
        done = np.max(np.abs(updated - weights)) <= tol
        weights = updated
        if done:
            break
    return weights / weights.sum()


def kept_weights(weights: dict, chosen: float) -> dict:
    """The mixture "auto" fits: ``chosen`` and every other candidate of weight at least
    ``MIN_MIXTURE_WEIGHT`` (``MIN_PARTIAL_MIXTURE_WEIGHT`` for a fraction below 1), their
    weights renormalised (``{chosen: 1.0}`` alone where none is).

    Examples
    --------
    >>> kept_weights({1.0: 0.85, 0.2: 0.15}, 1.0)
    {1.0: 0.85, 0.2: 0.15}
    >>> kept_weights({1.0: 0.15, 0.2: 0.85}, 0.2)
    {0.2: 1.0}
    """
    def least(fraction):
        return MIN_PARTIAL_MIXTURE_WEIGHT if fraction < 1.0 else MIN_MIXTURE_WEIGHT

    kept = {f: float(w) for f, w in weights.items() if f == chosen or w >= least(f)}
    total = sum(kept.values())
    if not total > 0:
        return {chosen: 1.0}
    return {f: w / total for f, w in kept.items()}


def mixture_moments(weights, parts):
    """``(mean, epistemic variance, noise variance)`` of the mixture of models' ``parts``, each such a triple.

    Examples
    --------
    >>> import numpy as np
    >>> one, two, three = np.ones(1), 2 * np.ones(1), 3 * np.ones(1)
    >>> m, e, n = mixture_moments([0.5, 0.5], [(0 * one, one, one), (two, one, three)])
    >>> m.tolist(), e.tolist(), n.tolist()
    ([1.0], [2.0], [2.0])
    """
    mean = sum(w * m for w, (m, _, _) in zip(weights, parts))
    second = sum(w * (e + m**2) for w, (m, e, _) in zip(weights, parts))
    noise = sum(w * np.broadcast_to(n, m.shape) for w, (m, _, n) in zip(weights, parts))
    return mean, np.maximum(second - mean**2, 0.0), noise


def mixture_covariance(weights, parts):
    """``(mean (n, k), covariance (n, n, k))`` of the mixture of models' ``(mean, covariance)`` ``parts``."""
    mean = sum(w * m for w, (m, _) in zip(weights, parts))
    second = sum(w * (c + np.einsum("ik,jk->ijk", m, m)) for w, (m, c) in zip(weights, parts))
    return mean, second - np.einsum("ik,jk->ijk", mean, mean)


def mixture_draws(n_draws: int, weights, seed: int, draw) -> np.ndarray:
    """``n_draws`` draws of the mixture: each model's share drawn by ``draw(model, count, seed)``.

    Which model gives each draw is drawn by weight on a stream of ``seed``; model ``c`` draws
    its ``count`` on a seed of its own, and its draws take their places in order.
    """
    rng = part_rng(seed, len(weights))
    models = rng.choice(len(weights), size=int(n_draws), p=np.asarray(weights) / np.sum(weights))
    seeds = rng.integers(MAX_SEED, size=len(weights))
    out = None
    for c in range(len(weights)):
        rows = np.flatnonzero(models == c)
        if rows.size:
            part = np.asarray(draw(c, int(rows.size), int(seeds[c])))
            if out is None:
                out = np.empty((int(n_draws),) + part.shape[1:], dtype=part.dtype)
            out[rows] = part
    return out


class FractionMixtureMixin:
    """The models of a regressor's ``stochastic_fraction="auto"`` mixture, and its predictive."""

    def _fraction_models(self) -> list:
        """``[(weight, fitted model)]``: this estimator's own model first, then the mixture's others,
        set to compute as this estimator does (engine, device, dtype, solver, steps, draws)."""
        others = getattr(self, "fraction_estimators_", None) or {}
        if not others:
            return [(1.0, self)]
        weights = self.stochastic_fraction_weights_
        runtime = {name: getattr(self, name) for name in PREDICTION_PARAMS}
        return [(weights[self.stochastic_fraction_], self)] + [
            (weights[fraction], model.set_params(**runtime)) for fraction, model in others.items()]

    def _mixture_mean(self, X):
        """The standardised predictive mean (n, k)."""
        models = self._fraction_models()
        return sum(w * model._model_mean(X) for w, model in models)

    def _epistemic_and_noise_variance(self, X):
        """Mean ``(n, k)``, epistemic variance ``(n, k)`` and noise variance, in standardised units."""
        models = self._fraction_models()
        if len(models) == 1:
            return self._model_moments(X)
        return mixture_moments([w for w, _ in models], [model._model_moments(X) for _, model in models])

    def _mixture_covariance(self, X):
        """Standardised mean (n, k) and predictive covariance (n, n, k), noise included."""
        models = self._fraction_models()
        if len(models) == 1:
            return self._model_covariance(X)
        return mixture_covariance([w for w, _ in models], [model._model_covariance(X) for _, model in models])

    def _mixture_function_draws(self, X, n_samples: int, seed: int, noise: bool) -> np.ndarray:
        """Standardised draws (S, n, k) of the functions (with ``noise``, of the targets)."""
        models = self._fraction_models()
        if len(models) == 1:
            return self._model_draws(X, n_samples, seed, noise)
        return mixture_draws(n_samples, [w for w, _ in models], seed,
                             lambda c, count, s: models[c][1]._model_draws(X, count, s, noise))

    def weight_paths(self, n_samples=1, random_state=0):
        models = self._fraction_models()  # the docstring is PosteriorSamplingMixin's, set below
        if len(models) == 1:
            return super().weight_paths(n_samples, random_state)
        _check_n_samples(n_samples)
        own = super().weight_paths
        return mixture_draws(n_samples, [w for w, _ in models], self._sample_seed(random_state),
                             lambda c, count, s: (own if c == 0 else models[c][1].weight_paths)(count, s))

    def _fit_fraction_estimators(self, X, y, sample_weight, seed: int, factors: dict) -> None:
        """Fit the mixture's models other than the chosen one on all rows (``fraction_estimators_``),
        each a clone of this estimator with its fraction, on a seed of its own, and with its
        candidate's held-out noise factor (shrunk as the chosen model's is)."""
        from sklearn.base import clone

        from ._calibration import fitted_noise_factor

        weights = getattr(self, "stochastic_fraction_weights_", None) or {}
        others = {}
        for i, fraction in enumerate(f for f in weights if f != self.stochastic_fraction_):
            model = clone(self).set_params(
                stochastic_fraction=fraction, calibrate=False, warm_start=False,
                random_state=derived_seed(seed, i + 1))
            model.fit(X, y, sample_weight=sample_weight)
            if fraction in factors:
                model.noise_scale_factor_ = fitted_noise_factor(factors[fraction])
            others[fraction] = model
        self.fraction_estimators_ = others

    def _continue_fraction_estimators(self, X, y, sample_weight, partial: bool) -> None:
        """Train the mixture's other models on more data as this estimator's own model is
        (``partial_fit``, or a warm ``fit``), their noise factors kept."""
        for model in (getattr(self, "fraction_estimators_", None) or {}).values():
            factor = model.noise_scale_factor_
            if partial:
                model.partial_fit(X, y, sample_weight=sample_weight)
            else:
                model.set_params(warm_start=True, max_iter=self.max_iter).fit(X, y, sample_weight=sample_weight)
            model.noise_scale_factor_ = factor


FractionMixtureMixin.weight_paths.__doc__ = PosteriorSamplingMixin.weight_paths.__doc__.replace(
    "\n\n", "\n\n        Of a ``stochastic_fraction`` mixture (``stochastic_fraction_weights_``), the paths\n"
    "        are shared out among its models by weight.\n\n", 1)
