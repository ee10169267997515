"""One weight path of the SDE-BNN, solved with ``jaxsde``.

Mirror of ``engines/torch/sde.py``. The joint state ``(h, w[, kl])`` is integrated by
``jaxsde.sdeint`` on the fixed grid of ``spec.n_steps`` steps, with noise on ``w`` only
(additive, so Ito and Stratonovich coincide) and the increments injected through
``jaxsde.GridIncrements``: the engine draws them (from ``jax.random`` when training, from
NumPy via ``base.sample_noise`` when predicting), which is what makes the two engines
agree for the same seed, and what the sticking-the-landing term ``∫ u · dB`` needs.
For the constant-weight posteriors (``meanfield``, ``point``) the weights have zero drift
and zero diffusion, so the same method integrates ``h`` as an ODE.

One SDE block is solved by :func:`integrate_block`; the mlp is one block, the conv
architecture a sequence of them (with squeeze between stages), each with its own slice of
the noise's last axis.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import jaxsde

from ..base import ModelSpec, block_params
from .model import (
    conv_hidden_drift,
    conv_initial_state,
    hidden_drift,
    initial_state,
    meanfield_kl,
    prior_drift,
    readout,
    squeeze,
    weight_drift,
)

#: estimator solver name -> (sde_type, jaxsde method)
SOLVER_METHODS = {
    "euler": ("ito", "euler_maruyama"),
    "milstein": ("ito", "milstein"),
    "srk": ("ito", "srk"),
    "euler_heun": ("stratonovich", "euler_heun"),
    "heun": ("stratonovich", "heun"),
    "midpoint": ("stratonovich", "midpoint"),
    "reversible_heun": ("stratonovich", "reversible_heun"),
}


def solver_method(spec: ModelSpec):
    """``(sde_type, method)`` of jaxsde for ``spec.solver``; ValueError naming the choices."""
    try:
        return SOLVER_METHODS[spec.solver]
    except KeyError:
        raise ValueError(f"solver must be one of {sorted(SOLVER_METHODS)}, got {spec.solver!r}") from None


def _adjoint_mode(spec: ModelSpec) -> str:
    if not spec.adjoint:
        return "backprop"
    return "reversible" if spec.solver == "reversible_heun" else "stochastic"


def stl_correction(spec: ModelSpec, params, w_path, dW):
    """The sticking-the-landing term ``∫ u_sg · dB`` along one path (left-point sum).

    ``sum_n u_sg(t_n, w_n) · dW_n`` with the drift parameters under stop-gradient while the
    path ``w_n`` keeps its gradient. Added to ``0.5 ∫ ||u||² dt`` it leaves the value an
    unbiased estimate of the KL (the term has mean zero) and turns the gradient into the
    path-derivative (STL) estimator: the plain gradient plus a zero-mean control variate
    that cancels its noise as the posterior approaches the prior-weighted optimum.
    """
    frozen = jax.lax.stop_gradient({k: v for k, v in params.items() if k.startswith("drift.")})
    ts = jnp.arange(spec.n_steps, dtype=w_path.dtype) * spec.dt
    u = jax.vmap(lambda t, w: weight_drift(spec, frozen, t, w))(ts, w_path[:-1]) / spec.diffusion
    return jnp.sum(u * dW)


def integrate_block(spec: ModelSpec, hidden, h0, bparams, noise, *, full_path=False, stl=False, remat=False):
    """Solve one SDE block: ``dh = hidden(t, h, w) dt`` with the block's weight dynamics.

    Parameters
    ----------
    hidden : callable ``(t, h, w) -> dh``
        The block's ``f_h`` for states shaped like ``h0`` and one weight vector.
    h0 : array
        Initial hidden state (any shape).
    bparams : dict
        The block's parameters without prefix (``w0``, ``drift.*``, ``w_logstd``; see
        ``base.block_params``).
    noise : dict
        ``"dW"`` (n_steps, n_w) Brownian increments (``"sde"``), ``"H"`` their space-time
        Lévy areas (``srk``), ``"eps"`` (n_w,) (``"meanfield"``); for this block only.
    full_path : bool
        Also return the weights at every step.
    stl : bool
        Add the sticking-the-landing term to the KL (implies ``full_path``).

    Returns
    -------
    h1 : array like ``h0``; kl : scalar; w_path : (n_steps + 1, n_w) or None
    """
    sde_type, method = solver_method(spec)
    dtype = h0.dtype
    sigma = spec.diffusion
    full_path = full_path or stl
    stochastic = spec.posterior == "sde"
    track_kl = stochastic

    if spec.posterior == "meanfield":
        w_init = bparams["w0"] + jnp.exp(bparams["w_logstd"]) * noise["eps"]
    else:
        w_init = bparams["w0"]
    drift_params = {k: v for k, v in bparams.items() if k.startswith("drift.")}

    def f(y, t, args):
        h, w = y[0], y[1]
        dh = hidden(t, h, w)
        if not stochastic:
            return (dh, jnp.zeros_like(w))
        u = weight_drift(spec, args, t, w)
        dw = prior_drift(spec, w) + u
        if track_kl:
            return (dh, dw, 0.5 * jnp.sum(u**2) / sigma**2)
        return (dh, dw)

    def g(y, t, args):
        w = y[1]
        scale = jnp.full_like(w, sigma) if stochastic else jnp.zeros_like(w)
        return (None, scale, None) if track_kl else (None, scale)

    n_w = w_init.shape[-1]
    dW = noise["dW"] if stochastic else jnp.zeros((spec.n_steps, n_w), dtype)
    H = noise.get("H")
    if H is None and spec.solver == "srk":
        H = jnp.zeros_like(dW)
    tree = (lambda a: (None, a, None)) if track_kl else (lambda a: (None, a))
    bm = jaxsde.GridIncrements(tree(dW), None if H is None else tree(H))
    y0 = (h0, w_init, jnp.zeros((), dtype)) if track_kl else (h0, w_init)
    if full_path:
        ts = jnp.linspace(0.0, 1.0, spec.n_steps + 1, dtype=dtype)
    else:
        ts = jnp.array([0.0, 1.0], dtype=dtype)
    ys = jaxsde.sdeint(
        f,
        g,
        y0,
        ts,
        None,
        drift_params,
        sde_type=sde_type,
        noise_type="additive",
        method=method,
        nsteps=spec.n_steps,
        adjoint=_adjoint_mode(spec),
        bm=bm,
        checkpoint=remat,
    )
    h1 = ys[0][-1]
    w_path = ys[1] if full_path else None
    if spec.posterior == "meanfield":
        kl = meanfield_kl(spec, bparams)
    elif spec.posterior == "point":
        kl = jnp.zeros((), dtype)
    else:
        kl = ys[2][-1]
        if stl:
            kl = kl + stl_correction(spec, bparams, w_path, dW)
    return h1, kl, w_path


def _block_noise(noise, lo: int, hi: int) -> dict:
    """One block's slice of the noise's last axis."""
    return {k: v[..., lo:hi] for k, v in noise.items()}


def conv_features(spec: ModelSpec, params, x, noise, *, full_path=False, stl=False, remat=False):
    """The conv architecture up to the last stage's state, for one weight path.

    Returns
    -------
    h : (B, C, H, W) state at the end of the last block; kl : scalar (summed over blocks);
    w_path : (n_steps + 1, n_weights) (the blocks' weights concatenated) or None
    """
    h = conv_initial_state(spec, x)
    offsets = [0]
    for n_w in spec.block_n_weights:
        offsets.append(offsets[-1] + n_w)
    stages = spec.block_stages
    kl = jnp.zeros((), x.dtype)
    paths = []
    for k, (prefix, layout) in enumerate(zip(spec.block_prefixes, spec.block_weight_layouts)):
        if k > 0 and stages[k] != stages[k - 1]:
            h = squeeze(h)

        def hidden(t, hk, w, layout=layout):
            return conv_hidden_drift(spec, layout, t, hk, w)

        h, kl_k, path_k = integrate_block(
            spec,
            hidden,
            h,
            block_params(params, prefix),
            _block_noise(noise, offsets[k], offsets[k + 1]),
            full_path=full_path,
            stl=stl,
            remat=remat,
        )
        kl = kl + kl_k
        paths.append(path_k)
    w_path = jnp.concatenate(paths, axis=-1) if (full_path or stl) else None
    return h, kl, w_path


def solve(spec: ModelSpec, params, x, noise, *, full_path=False, stl=False, remat=False):
    """Integrate one weight path for the rows ``x`` (B, n_features) and read out.

    Parameters
    ----------
    noise : dict
        ``"dW"`` (n_steps, n_weights) Brownian increments (``"sde"``), ``"H"`` their
        space-time Lévy areas (``srk``), ``"eps"`` (n_weights,) (``"meanfield"``). For
        ``architecture="conv"`` the last axis holds the blocks one after the other.
    full_path : bool
        Also return the weights at every step (needed by ``stl`` and ``weight_paths``).
    stl : bool
        Add the sticking-the-landing term to the KL (implies ``full_path``).

    Returns
    -------
    out : (B, n_outputs) read-out values; kl : scalar; w_path : (n_steps + 1, n_weights) or None
    """
    if spec.architecture == "conv":
        h, kl, w_path = conv_features(spec, params, x, noise, full_path=full_path, stl=stl, remat=remat)
        return readout(params, h.reshape(h.shape[0], -1)), kl, w_path

    def hidden(t, h, w):
        return hidden_drift(spec, t, h, w)

    h1, kl, w_path = integrate_block(
        spec, hidden, initial_state(spec, x), params, noise, full_path=full_path, stl=stl, remat=remat
    )
    return readout(params, h1), kl, w_path
