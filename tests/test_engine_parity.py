"""The two engines compute one model: same params -> same drifts, paths, KL and outputs.

Both are checked against the NumPy reference (``skbnnsde.engines.reference``) and against
each other, with the same Brownian increments injected (``noise.sample_noise``).
"""

from __future__ import annotations

import numpy as np
import pytest
from skbnnsde.engines import is_installed
from skbnnsde.engines import reference as ref
from skbnnsde.engines.noise import sample_noise
from skbnnsde.engines.params import init_params
from skbnnsde.engines.specs import ModelSpec

HAVE_JAX = is_installed("jax")
HAVE_TORCH = is_installed("torch")


def forward(engine: str, spec, params, X, noise):
    """The engine's ``forward_from_noise``: read-out values (S, B, k) and KL (S,), NumPy."""
    if engine == "jax":
        from skbnnsde.engines.jax import JaxEngine as Engine
    else:
        from skbnnsde.engines.torch import TorchEngine as Engine
    return Engine().forward_from_noise(spec, params, X, noise)


def perturbed_params(spec, seed=0):
    """Initial params with the zero-initialised drift layer moved, so f_w and KL are non-zero."""
    params = init_params(spec, seed)
    rng = np.random.default_rng(seed + 100)
    for k in params:
        if k.startswith("drift.") or ".drift." in k or k == "readout.b":
            params[k] = (params[k] + 0.1 * rng.normal(size=params[k].shape)).astype(params[k].dtype)
    return params


def make_spec(posterior, **kw):
    base = dict(n_features=3, n_outputs=2, hidden_layer_sizes=(6,), weight_drift_sizes=(5,), aug_dim=2,
                n_steps=6, diffusion=0.2, posterior=posterior, activation="swish")
    return ModelSpec(**{**base, **kw})


ENGINES = [pytest.param("jax", marks=pytest.mark.skipif(not HAVE_JAX, reason="jax not installed")),
           pytest.param("torch", marks=pytest.mark.skipif(not HAVE_TORCH, reason="torch not installed"))]


#: (posterior, prior) pairs that differ: the prior's drift only enters the SDE posterior's KL
POSTERIOR_PRIORS = [("sde", "ou"), ("sde", "brownian"), ("meanfield", "ou"), ("point", "ou")]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("posterior, prior", POSTERIOR_PRIORS)
@pytest.mark.parametrize("dtype,tol", [("float32", 1e-4), ("float64", 1e-10)])
def test_engine_matches_numpy_reference(engine, posterior, prior, dtype, tol):
    spec = make_spec(posterior, prior=prior, dtype=dtype, stl=False)
    params = perturbed_params(spec)
    X = np.random.default_rng(1).normal(size=(5, 3)).astype(dtype)
    noise = sample_noise(spec, 4, seed=7)
    out, kl = forward(engine, spec, params, X, noise)
    out_ref, kl_ref = ref.forward_euler(spec, params, X.astype(np.float64), noise)
    np.testing.assert_allclose(out, out_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(np.ravel(kl), np.ravel(kl_ref), rtol=tol, atol=tol)


@pytest.mark.skipif(not (HAVE_JAX and HAVE_TORCH), reason="needs both engines")
@pytest.mark.parametrize("solver", ["euler", "milstein", "heun", "midpoint", "euler_heun", "reversible_heun", "srk"])
@pytest.mark.parametrize("posterior", ["sde", "meanfield", "point"])
def test_engines_agree_for_every_solver(solver, posterior):
    spec = make_spec(posterior, solver=solver, stl=False)
    params = perturbed_params(spec)
    X = np.random.default_rng(2).normal(size=(7, 3)).astype(np.float32)
    noise = sample_noise(spec, 3, seed=11)
    out_j, kl_j = forward("jax", spec, params, X, noise)
    out_t, kl_t = forward("torch", spec, params, X, noise)
    np.testing.assert_allclose(out_j, out_t, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.ravel(kl_j), np.ravel(kl_t), rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not (HAVE_JAX and HAVE_TORCH), reason="needs both engines")
def test_drift_values_agree():
    import jax
    import torch

    from skbnnsde.engines.jax import model as jm
    from skbnnsde.engines.torch import model as tm

    spec = make_spec("sde")
    params = perturbed_params(spec)
    rng = np.random.default_rng(3)
    w = (params["w0"] + 0.1 * rng.normal(size=(4, spec.n_weights))).astype(np.float32)
    h = rng.normal(size=(4, 5, spec.state_dim)).astype(np.float32)
    t = 0.3
    jp = {k: jax.numpy.asarray(v) for k, v in params.items()}
    tp = {k: torch.as_tensor(v) for k, v in params.items()}
    fw_j = np.asarray(jax.vmap(lambda wi: jm.weight_drift(spec, jp, t, wi))(w))
    fw_t = tm.weight_drift(spec, tp, t, torch.as_tensor(w)).numpy()
    fw_ref = np.stack([ref.weight_drift(spec, params, t, wi) for wi in w.astype(np.float64)])
    np.testing.assert_allclose(fw_j, fw_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fw_t, fw_ref, rtol=1e-5, atol=1e-5)
    fh_j = np.asarray(jax.vmap(lambda hi, wi: jm.hidden_drift(spec, t, hi, wi))(h, w))
    fh_t = tm.hidden_drift(spec, t, torch.as_tensor(h), torch.as_tensor(w)).numpy()
    fh_ref = np.stack([ref.hidden_drift(spec, t, hi, wi) for hi, wi in zip(h.astype(np.float64), w.astype(np.float64))])
    np.testing.assert_allclose(fh_j, fh_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fh_t, fh_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("likelihood", ["gaussian", "laplace", "cauchy", "heteroscedastic", "categorical"])
def test_log_likelihoods_match_scipy(engine, likelihood):
    """Each engine's per-row log-likelihood is the documented density (summed over outputs)."""
    from scipy import special, stats

    from skbnnsde.engines.options import MIN_HETEROSCEDASTIC_SCALE

    task = "classification" if likelihood == "categorical" else "regression"
    spec = make_spec("sde", likelihood=likelihood, task=task, n_outputs=3, dtype="float64")
    rng = np.random.default_rng(0)
    out = rng.normal(size=(2, 5, spec.readout_width))  # (Monte-Carlo paths, rows, read-out)
    params = {"log_scale": np.array([-0.3, 0.0, 0.4])} if spec.has_noise_scale else {}
    if likelihood == "categorical":
        y = rng.integers(0, 3, size=5)
        expected = special.log_softmax(out, axis=-1)[:, np.arange(5), y]
    else:
        y = rng.normal(size=(5, 3))
        if likelihood == "heteroscedastic":
            loc, scale = out[..., :3], np.logaddexp(0.0, out[..., 3:]) + MIN_HETEROSCEDASTIC_SCALE
            dist = stats.norm
        else:
            loc, scale = out, np.exp(params["log_scale"])
            dist = {"gaussian": stats.norm, "laplace": stats.laplace, "cauchy": stats.cauchy}[likelihood]
        expected = dist.logpdf(y, loc=loc, scale=scale).sum(-1)
    if engine == "jax":
        import jax

        from skbnnsde.engines.jax.likelihoods import log_likelihood

        with jax.enable_x64(True):  # the engine's training loss maps it over the paths
            ll = jax.vmap(lambda o: log_likelihood(spec, params, o, jax.numpy.asarray(y)))
            got = np.asarray(ll(jax.numpy.asarray(out)))
    else:
        import torch

        from skbnnsde.engines.torch.likelihoods import log_likelihood

        tp = {k: torch.as_tensor(v) for k, v in params.items()}
        got = log_likelihood(spec, tp, torch.as_tensor(out), torch.as_tensor(y)).numpy()  # batched over paths
    assert got.shape == (2, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_beta_nll_weights_are_relative_variances_held_constant(engine):
    """β-NLL: weights ``(s²) ** β`` over their mean on the (unmasked) rows, per path and output, no gradient."""
    from scipy import stats

    from skbnnsde.engines.options import MIN_HETEROSCEDASTIC_SCALE

    spec = make_spec("sde", likelihood="heteroscedastic", n_outputs=2, dtype="float64")
    rng = np.random.default_rng(4)
    out, y, beta = rng.normal(size=(3, 5, 4)), rng.normal(size=(5, 2)), 0.5
    mask = np.array([1.0, 1.0, 1.0, 1.0, 0.0])  # the JAX engine pads minibatches with masked rows
    rows = 5 if engine == "torch" else 4
    w_raw = ((np.logaddexp(0.0, out[..., 2:]) + MIN_HETEROSCEDASTIC_SCALE) ** 2) ** beta
    expected_w = w_raw / w_raw[:, :rows].mean(axis=1, keepdims=True)
    if engine == "jax":
        import jax

        from skbnnsde.engines.jax.likelihoods import beta_nll_weights, log_likelihood

        with jax.enable_x64(True):
            o, m, yj = jax.numpy.asarray(out), jax.numpy.asarray(mask), jax.numpy.asarray(y)
            weights = jax.vmap(lambda oi: beta_nll_weights(spec, oi, beta, m))
            w = np.asarray(weights(o))
            weight_grad = np.asarray(jax.grad(lambda o: weights(o).sum())(o))
            ll = np.asarray(jax.vmap(lambda oi, wi: log_likelihood(spec, {}, oi, yj, weights=wi))(o, weights(o)))
    else:
        import torch

        from skbnnsde.engines.torch.likelihoods import beta_nll_weights, log_likelihood

        o = torch.as_tensor(out).requires_grad_(True)
        wt = beta_nll_weights(spec, o, beta)
        assert not wt.requires_grad
        w, weight_grad = wt.numpy(), np.zeros_like(out)
        ll = log_likelihood(spec, {}, o, torch.as_tensor(y), weights=wt).detach().numpy()
    np.testing.assert_allclose(w, expected_w, rtol=1e-12)
    np.testing.assert_array_equal(weight_grad, 0.0)
    s = np.logaddexp(0.0, out[..., 2:]) + MIN_HETEROSCEDASTIC_SCALE
    terms = stats.norm.logpdf(y, loc=out[..., :2], scale=s)
    np.testing.assert_allclose(ll, (terms * expected_w).sum(-1), rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_heteroscedastic_readout_matches_numpy_reference(engine):
    """The heteroscedastic read-out has a mean and a raw-scale column per target, in both engines."""
    spec = make_spec("sde", likelihood="heteroscedastic", stl=False)
    params = perturbed_params(spec)
    params["readout.W"][:, spec.n_outputs:] += 0.3  # the scale columns start at zero
    X = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    noise = sample_noise(spec, 4, seed=7)
    out, kl = forward(engine, spec, params, X, noise)
    out_ref, kl_ref = ref.forward_euler(spec, params, X.astype(np.float64), noise)
    assert np.shape(out) == (4, 5, 2 * spec.n_outputs)
    np.testing.assert_allclose(out, out_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.ravel(kl), np.ravel(kl_ref), rtol=1e-4, atol=1e-4)


def test_heteroscedastic_initialisation_is_the_homoscedastic_model():
    """Same means as the Gaussian model's read-out, zero scale weights, and scale 0.5 on every row."""
    from skbnnsde.engines.options import MIN_HETEROSCEDASTIC_SCALE

    het = init_params(make_spec("sde", likelihood="heteroscedastic"), 3)
    gauss = init_params(make_spec("sde"), 3)
    assert "log_scale" not in het and set(het) | {"log_scale"} == set(gauss)
    np.testing.assert_array_equal(het["readout.W"][:, :2], gauss["readout.W"])
    np.testing.assert_array_equal(het["readout.W"][:, 2:], 0.0)
    np.testing.assert_allclose(np.logaddexp(0.0, het["readout.b"][2:]) + MIN_HETEROSCEDASTIC_SCALE, 0.5, rtol=1e-6)
    np.testing.assert_allclose(np.exp(gauss["log_scale"]), 0.5, rtol=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
def test_kl_is_zero_at_initialisation(engine):
    spec = make_spec("sde", stl=False)
    params = init_params(spec, 0)
    X = np.zeros((2, 3), np.float32)
    _, kl = forward(engine, spec, params, X, sample_noise(spec, 3, seed=0))
    np.testing.assert_allclose(np.ravel(kl), 0.0, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_small_diffusion_approaches_point_model(engine):
    """As sigma -> 0 the sde posterior's predictions approach the point model's.

    With a Brownian prior and the drift at its zero initialisation, ``w(t) = w0 + sigma B_t``,
    so the gap to the ODE-net with weights ``w0`` shrinks linearly in sigma.
    """
    X = np.random.default_rng(4).normal(size=(6, 3))
    gaps = []
    for sigma in (1e-1, 1e-2, 1e-3):
        spec = make_spec("sde", diffusion=sigma, dtype="float64", stl=False, prior="brownian")
        params = init_params(spec, 0)
        out, _ = forward(engine, spec, params, X, sample_noise(spec, 4, seed=0))
        point_spec = spec.replace(posterior="point")
        point_params = {k: v for k, v in params.items() if not k.startswith("drift.")}
        out_p, _ = forward(engine, point_spec, point_params, X, sample_noise(point_spec, 1, seed=0))
        gaps.append(np.abs(out - out_p).max())
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] / gaps[0] < 0.05


# ---- architecture "conv" -------------------------------------------------------------------


def make_conv_spec(posterior, **kw):
    """Odd image sides (the squeeze pads), two stages, three blocks: every code path, tiny."""
    base = dict(n_features=2 * 5 * 5, n_outputs=3, architecture="conv", image_shape=(2, 5, 5), n_blocks=(1, 2),
                hidden_layer_sizes=(3,), weight_drift_sizes=(4,), aug_dim=1, n_steps=3, diffusion=0.2,
                posterior=posterior, activation="swish", stl=False)
    return ModelSpec(**{**base, **kw})


def conv_final_state(engine: str, spec, params, X, noise):
    """The state at the end of the last block (S, B, C, H, W) and the KL (S,), as NumPy."""
    if engine == "jax":
        import jax
        import jax.numpy as jnp

        from skbnnsde.engines.jax.engine import _jax_context, _noise_arrays
        from skbnnsde.engines.jax.solve import _features
        from skbnnsde.engines.jax.train import _to_jax

        with _jax_context(spec):
            p, x, nz = _to_jax(spec, params), jnp.asarray(X, spec.dtype), _noise_arrays(spec, noise)
            if not nz:
                h, kl, _ = jax.jit(lambda p, x: _features(spec, p, x, {}))(p, x)
                return np.asarray(h)[None], np.asarray(kl)[None]
            fn = jax.jit(jax.vmap(lambda p, x, n: _features(spec, p, x, n)[:2], in_axes=(None, None, 0)))
            h, kl = fn(p, x, nz)
            return np.asarray(h), np.asarray(kl)
    import torch

    from skbnnsde.engines.torch.solve import _features as torch_features
    from skbnnsde.engines.torch.train import _noise_tensors, _rows, _to_tensors

    with torch.no_grad():
        h, kl, _ = torch_features(spec, _to_tensors(spec, params), _rows(spec, X), _noise_tensors(spec, noise))
    return h.transpose(0, 1).numpy(), kl.numpy()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("posterior", ["sde", "meanfield", "point"])
def test_conv_engine_matches_numpy_reference(engine, posterior):
    """Same params and increments: the same h(1), KL and predictions as NumPy (f32, <= 1e-4)."""
    spec = make_conv_spec(posterior, prior="brownian" if posterior == "point" else "ou")
    params = perturbed_params(spec)
    X = np.random.default_rng(1).normal(size=(4, spec.n_features)).astype(np.float32)
    noise = sample_noise(spec, 3, seed=7)
    out, kl = forward(engine, spec, params, X, noise)
    out_ref, kl_ref, h_ref = ref.forward_euler(spec, params, X.astype(np.float64), noise, return_state=True)
    h, _ = conv_final_state(engine, spec, params, X, noise)
    assert h.shape == h_ref.shape == (len(out_ref), 4, 12, 3, 3)
    np.testing.assert_allclose(h, h_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out, out_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.ravel(kl), np.ravel(kl_ref), rtol=1e-4, atol=1e-4)
    if posterior != "point":
        assert np.all(np.ravel(kl_ref) > 0)


@pytest.mark.skipif(not (HAVE_JAX and HAVE_TORCH), reason="needs both engines")
@pytest.mark.parametrize("solver", ["srk", "reversible_heun"])
def test_conv_engines_agree_for_other_solvers(solver):
    """Same increments (and Lévy areas), other methods: the same h(1) and KL in both engines."""
    spec = make_conv_spec("sde", solver=solver)
    params = perturbed_params(spec)
    X = np.random.default_rng(2).normal(size=(3, spec.n_features)).astype(np.float32)
    noise = sample_noise(spec, 2, seed=11)
    (h_j, kl_j), (h_t, kl_t) = (conv_final_state(e, spec, params, X, noise) for e in ("jax", "torch"))
    np.testing.assert_allclose(h_j, h_t, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(kl_j, kl_t, rtol=1e-4, atol=1e-4)
    assert np.all(kl_j > 0)


@pytest.mark.skipif(not (HAVE_JAX and HAVE_TORCH), reason="needs both engines")
def test_conv_drift_values_agree():
    """f_h (concat-time convs) and every block's f_w agree with NumPy to 1e-5 in float32."""
    import jax
    import torch

    from skbnnsde.engines.params import block_params
    from skbnnsde.engines.jax import model as jm
    from skbnnsde.engines.torch import model as tm

    spec = make_conv_spec("sde")
    params = perturbed_params(spec)
    rng = np.random.default_rng(3)
    t = 0.3
    S, B = 3, 2
    for k, (prefix, layout, stage) in enumerate(zip(spec.block_prefixes, spec.block_weight_layouts, spec.block_stages)):
        bp = block_params(params, prefix)
        w = (bp["w0"] + 0.1 * rng.normal(size=(S, bp["w0"].size))).astype(np.float32)
        h = rng.normal(size=(S, B, *spec.stage_shapes[stage])).astype(np.float32)
        jp = {key: jax.numpy.asarray(v) for key, v in bp.items()}
        tp = {key: torch.as_tensor(v) for key, v in bp.items()}
        fw_ref = np.stack([ref.weight_drift(spec, bp, t, wi) for wi in w.astype(np.float64)])
        fw_j = np.asarray(jax.vmap(lambda wi: jm.weight_drift(spec, jp, t, wi))(w))
        fw_t = tm.weight_drift(spec, tp, t, torch.as_tensor(w)).numpy()
        np.testing.assert_allclose(fw_j, fw_ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(fw_t, fw_ref, rtol=1e-5, atol=1e-5)
        fh_ref = np.stack([ref.conv_hidden_drift(spec, layout, t, hi, wi)
                           for hi, wi in zip(h.astype(np.float64), w.astype(np.float64))])
        fh_j = np.asarray(jax.vmap(lambda hi, wi: jm.conv_hidden_drift(spec, layout, t, hi, wi))(h, w))
        fh_t = tm.conv_hidden_drift(spec, layout, t, torch.as_tensor(h).transpose(0, 1).contiguous(),
                                    torch.as_tensor(w)).transpose(0, 1).numpy()
        np.testing.assert_allclose(fh_j, fh_ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(fh_t, fh_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
def test_conv_kl_is_zero_at_initialisation(engine):
    spec = make_conv_spec("sde")
    params = init_params(spec, 0)
    X = np.zeros((2, spec.n_features), np.float32)
    _, kl = forward(engine, spec, params, X, sample_noise(spec, 3, seed=0))
    np.testing.assert_allclose(np.ravel(kl), 0.0, atol=1e-12)


# ---- a Gaussian posterior on the starting weights (w0_posterior="gaussian") ------------------
