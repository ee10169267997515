"""``w0_posterior="gaussian"``: a mean-field Gaussian over the starting weights with its KL.

Each weight path starts from its own draw of ``w(0)``: both engines against the NumPy
reference, the closed-form KL against a Monte-Carlo estimate, and the limit of a vanishing
posterior std against ``"point"``.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_engine_parity import ENGINES, make_spec, perturbed_params
from w0_priors import (
    assert_engine_matches_reference,
    assert_vanishing_std_gives_the_point_model,
    perturbed_gaussian_w0_params,
    starting_weights_term,
    w0_prior_spec,
)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("prior_scaling", ["none", "fan_in"])
def test_gaussian_w0_engine_matches_numpy_reference(engine, architecture, prior_scaling):
    """Each path starts from its own draw of w(0); the KL adds the closed-form KL of q(w0)."""
    spec = w0_prior_spec(architecture, w0_posterior="gaussian", prior_scaling=prior_scaling, prior_std=0.7)
    out_ref, noise = assert_engine_matches_reference(engine, spec, perturbed_gaussian_w0_params(spec))
    assert noise["eps"].shape == (3, spec.n_weights)
    assert np.ptp(out_ref[:, 0, 0]) > 1e-3  # the paths differ


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("prior_scaling", ["none", "fan_in"])
def test_gaussian_w0_kl_equals_a_monte_carlo_estimate(engine, prior_scaling):
    """With f_w = 0 the path's KL is zero and the engine's KL is KL(q(w0) || p(w0)) alone."""
    from scipy import stats

    from skbnnsde.engines.params import weight_prior_std

    spec, params, kl = starting_weights_term(engine, "gaussian", prior_scaling)
    mu, s = params["w0"], np.exp(params["w_logstd"])
    w = mu + s * np.random.default_rng(5).standard_normal((20000, spec.n_weights))
    log_ratio = (stats.norm.logpdf(w, mu, s) - stats.norm.logpdf(w, 0.0, weight_prior_std(spec))).sum(axis=1)
    stderr = log_ratio.std() / np.sqrt(len(log_ratio))
    np.testing.assert_allclose(np.ravel(kl), kl[0], rtol=1e-12)  # the same for every path
    assert abs(kl[0] - log_ratio.mean()) < 4 * stderr
    assert stderr < 0.02 * abs(kl[0])


@pytest.mark.parametrize("engine", ENGINES)
def test_gaussian_w0_approaches_the_point_w0_model_as_its_std_vanishes(engine):
    """As exp(w_logstd) -> 0 the predictions approach those of w0_posterior="point" (same Brownian paths)."""
    spec = make_spec("sde", stl=False, dtype="float64", w0_posterior="gaussian")
    assert_vanishing_std_gives_the_point_model(engine, spec, spec.replace(w0_posterior="point"),
                                               perturbed_params(spec), ("w_logstd",), "eps")


def test_gaussian_w0_is_for_the_sde_posterior_only():
    with pytest.raises(ValueError, match="w0_posterior"):
        make_spec("meanfield", w0_posterior="gaussian")
    with pytest.raises(ValueError, match="prior_scaling"):
        make_spec("sde", prior_scaling="fan-in")
