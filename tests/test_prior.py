"""Functions drawn from the model's prior (``skbnnsde.experiments.prior``), the toy figure's prior panel.

Fast NumPy checks: the draws are the model's own computation with its posterior set equal
to the prior, their weights have the prior SDE's variance, their spread grows with the
prior's scale, and a seed fixes them.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from skbnnsde.engines.noise import sample_noise
from skbnnsde.engines.params import init_params, weight_prior_std
from skbnnsde.engines.reference import forward_euler
from skbnnsde.engines.specs import ModelSpec
from skbnnsde.experiments.prior import prior_functions, prior_readouts, prior_weight_paths, sample_prior

X = np.linspace(-3.0, 3.0, 13)[:, None]


def _spec(**kw):
    base = dict(n_features=1, n_outputs=1, hidden_layer_sizes=(8,), aug_dim=2, activation="swish",
                n_steps=6, diffusion=0.3, dtype="float64")
    return ModelSpec(**{**base, **kw})


def test_a_seed_fixes_the_draws():
    spec = _spec()
    a, b = prior_functions(spec, X, 5, seed=3), prior_functions(spec, X, 5, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, prior_functions(spec, X, 5, seed=4))


@pytest.mark.parametrize("prior", ["ou", "brownian"])
@pytest.mark.parametrize("scaling", ["none", "fan_in"])
def test_draws_are_the_model_with_its_posterior_equal_to_the_prior(prior, scaling):
    """The reference forward pass of w0_posterior="gaussian" with w0 = 0, std = the prior's and f_w = 0 (its init)."""
    spec = _spec(prior=prior, prior_scaling=scaling)
    gspec = dataclasses.replace(spec, w0_posterior="gaussian")
    params = init_params(gspec, 0)
    last = len(gspec.drift_layer_sizes) - 2
    assert not params[f"drift.W{last}"].any()  # f_w = 0 at initialisation: the prior SDE's drift
    params["w0"][:] = 0.0
    params["w_logstd"][:] = np.log(weight_prior_std(gspec))
    n, seed = 4, 11
    W, b = prior_readouts(spec, n, seed)
    noise = sample_noise(gspec, n, seed)
    expected = [forward_euler(gspec, {**params, "readout.W": W[s], "readout.b": b[s]}, X,
                              {k: v[s : s + 1] for k, v in noise.items()})[0][0] for s in range(n)]
    np.testing.assert_allclose(prior_functions(spec, X, n, seed), np.stack(expected), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("prior", ["ou", "brownian"])
def test_weights_have_the_prior_sde_variance(prior):
    """Var w_n of the Euler recursion: v_0 = prior_std², v_{n+1} = a² v_n + diffusion² dt (a = 1 - dt for OU)."""
    spec = _spec(prior=prior, prior_std=0.7, hidden_layer_sizes=(4,))
    paths = prior_weight_paths(spec, 4000, seed=0)
    a = 1.0 - spec.dt if prior == "ou" else 1.0
    v = [0.7**2]
    for _ in range(spec.n_steps):
        v.append(a**2 * v[-1] + spec.diffusion**2 * spec.dt)
    var = paths.var(axis=(0, 2))  # over paths and weights, which are i.i.d.
    np.testing.assert_allclose(var, v, rtol=0.05)
    np.testing.assert_allclose(paths.mean(axis=(0, 2)), 0.0, atol=0.03)


def test_spread_is_positive_and_grows_with_the_prior_scale():
    stds = [prior_functions(_spec(prior_std=s), X, 200, seed=1)[..., 0].std(axis=0) for s in (0.25, 0.5, 1.0)]
    assert np.all(stds[0] > 0)
    assert np.all(stds[1] > stds[0]) and np.all(stds[2] > stds[1])


def test_a_vanishing_prior_gives_lines_through_the_read_out():
    """With (almost) no weights, h(1) = h(0) = [x, 0]: every function is x times its read-out's first weight."""
    spec = _spec(prior_std=1e-9, diffusion=1e-9)
    f = prior_functions(spec, X, 6, seed=2)[..., 0]  # (S, rows)
    W, _ = prior_readouts(spec, 6, seed=2)
    np.testing.assert_allclose(f, W[:, 0, 0][:, None] * X[:, 0][None, :], atol=1e-6)


def test_sample_prior_has_sample_posteriors_shape_and_the_units_of_y():
    spec = _spec()
    est = SimpleNamespace(spec_=spec.to_dict(), y_mean_=np.array([5.0]), y_scale_=np.array([2.0]), _y_ndim=1)
    out = sample_prior(est, X, n_samples=3, random_state=7)
    assert out.shape == (X.shape[0], 3)
    np.testing.assert_allclose(out, prior_functions(spec, X, 3, 7)[..., 0].T * 2.0 + 5.0)
    spec2 = _spec(n_outputs=2)
    est2 = SimpleNamespace(spec_=spec2.to_dict(), y_mean_=np.zeros(2), y_scale_=np.ones(2), _y_ndim=2)
    assert sample_prior(est2, X, n_samples=3).shape == (X.shape[0], 2, 3)
    column = SimpleNamespace(spec_=spec.to_dict(), y_mean_=np.zeros(1), y_scale_=np.ones(1), _y_ndim=2)  # y (n, 1)
    assert sample_prior(column, X, n_samples=3).shape == (X.shape[0], 1, 3)


def test_a_point_posterior_has_no_prior():
    with pytest.raises(ValueError, match="no prior"):
        prior_functions(_spec(posterior="point"), X, 2, seed=0)


def test_module_imports_no_framework():
    code = ("import sys, skbnnsde.experiments.prior; "
            "bad = [m for m in ('torch', 'jax', 'matplotlib') if m in sys.modules]; print(bad); assert not bad")
    subprocess.run([sys.executable, "-c", code], check=True)
