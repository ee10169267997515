"""The SDE-BNN's weight paths solved with ``jaxsde``: one block, one path, a batch of paths.

The joint state ``(h, w[, kl])`` of a block is integrated by ``jaxsde.sdeint`` on the fixed
grid of ``spec.n_steps`` steps over ``t`` in ``[0, 1]``, with noise on ``w`` only (additive,
so Ito and Stratonovich coincide) and the increments injected through
``jaxsde.GridIncrements``: the engine draws them (from ``jax.random`` when training, from
NumPy via ``noise.sample_noise`` when predicting) and scales them with
``noise.scale_noise``, which is what makes the two engines agree for the same seed, and what
the sticking-the-landing term ``∫ u · dB`` needs. For the constant-weight posteriors
(``meanfield``, ``point``) the weights have zero drift and zero diffusion, so the same method
integrates ``h`` as an ODE.

:func:`integrate_block` solves one block for one path; the mlp is one block, the conv
architecture a sequence of them (with a squeeze between stages), each with its own slice of
the noise's last axis. :func:`solve` maps a batch of paths (the
noise's leading axis) to read-out values with ``jax.vmap``.
"""

from __future__ import annotations

import functools
import operator

import jax
import jax.numpy as jnp

import jaxsde

from ..options import SOLVER_SDE_TYPES
from ..params import block_params, block_prior_std, block_slices
from ..specs import ModelSpec, needs_levy_area
from .model import (
    conv_hidden_drift,
    conv_initial_state,
    diffusion,
    hidden_drift,
    initial_state,
    prior_drift,
    readout,
    readout_kl,
    readout_prior,
    squeeze,
    w0_kl,
    w0_prior_penalty,
    weight_drift,
    weight_prior,
)

#: estimator solver name -> (sde_type, jaxsde method)
SOLVER_METHODS = {
    name: (sde_type, "euler_maruyama" if name == "euler" else name) for name, sde_type in SOLVER_SDE_TYPES.items()
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


def stl_correction(spec: ModelSpec, bparams, w_path, dW, diffusion=None):
    """The sticking-the-landing term ``∫ u_sg · dB`` along one path (left-point sum).

    ``sum_n u_sg(t_n, w_n) · dW_n`` with the drift parameters under stop-gradient while the
    path ``w_n`` keeps its gradient. Added to ``0.5 ∫ ||u||² dt`` it leaves the value an
    unbiased estimate of the KL (the term has mean zero) and turns the gradient into the
    path-derivative (STL) estimator: the plain gradient plus a zero-mean control variate
    that cancels its noise as the posterior approaches the prior-weighted optimum.

    Parameters
    ----------
    bparams : dict
        One block's parameters without prefix (``drift.*`` are used).
    w_path : array (n_steps + 1, n_w)
        The block's weights at every step.
    dW : array (n_steps, n_w)
        The Brownian increments that produced ``w_path``.
    diffusion : float or scalar array, optional
        The diffusion (default ``spec.diffusion``); a learnt one is frozen like the drift's
        parameters (the sum has zero-mean gradient in every parameter the path carries).
    """
    frozen = jax.lax.stop_gradient({k: v for k, v in bparams.items() if k.startswith("drift.")})
    sigma = jax.lax.stop_gradient(spec.diffusion if diffusion is None else diffusion)
    ts = jnp.arange(spec.n_steps, dtype=w_path.dtype) * spec.dt
    u = jax.vmap(lambda t, w: weight_drift(spec, frozen, t, w))(ts, w_path[:-1]) / sigma
    return jnp.sum(u * dW)


def integrate_block(spec: ModelSpec, hidden, h0, bparams, noise, *, full_path=False, stl=False, remat=False,
                    prior_std=None, diffusion=None):
    """Solve one SDE block for one weight path: ``dh = hidden(t, h, w) dt``, ``t`` in ``[0, 1]``.

    Serves the mlp, every conv block and every posterior: ``"sde"`` integrates the weights'
    SDE and its KL alongside ``h``, ``"meanfield"`` and ``"point"`` hold the weights constant.

    Parameters
    ----------
    hidden : callable ``(t, h, w) -> dh``
        The block's ``f_h`` for states shaped like ``h0`` and one weight vector.
    h0 : array
        Initial hidden state (any shape).
    bparams : dict
        The block's parameters without prefix (``w0``, ``drift.*``, ``w_logstd``; see
        ``params.block_params``).
    noise : dict
        For this block only, as ``noise.scale_noise`` makes them: ``"dW"`` (n_steps, n_w)
        Brownian increments (``"sde"``), ``"H"`` their space-time Lévy areas (solvers that
        ``needs_levy_area``), ``"eps"`` (n_w,) (the starting weights' draw, ``spec.gaussian_w0``).
        With ``stochastic_fraction < 1`` the increments are the last ``n`` weights' only
        (``spec.drift_sizes_for(n_w)[-1]``); the first ``n_w - n`` stay at ``w(0)``.
    full_path : bool
        Also return the weights at every step.
    stl : bool
        Add :func:`stl_correction` to the KL (``posterior="sde"`` only; implies the full path).
    remat : bool
        Recompute the solver's steps in the backward pass instead of storing them.
    prior_std : float or array (n_w,), optional
        The block's prior std of the starting weights (``params.weight_prior_std``; default
        ``spec.prior_std``), for the KL of ``spec.gaussian_w0`` or the penalty of ``spec.map_w0``.
    diffusion : float or scalar array, optional
        The weights' diffusion (:func:`model.diffusion`; default ``spec.diffusion``).

    Returns
    -------
    h1 : array like ``h0``
    kl : scalar
    w_path : (n_steps + 1, n_w), or None unless ``full_path`` or ``stl``
    """
    sde_type, method = solver_method(spec)
    dtype = h0.dtype
    sigma = float(spec.diffusion) if diffusion is None else diffusion
    stochastic = spec.posterior == "sde"
    stl = stl and stochastic
    full_path = full_path or stl

    if spec.gaussian_w0:
        w_init = bparams["w0"] + jnp.exp(bparams["w_logstd"]) * noise["eps"]
    else:
        w_init = bparams["w0"]
    args = {k: v for k, v in bparams.items() if k.startswith("drift.")}
    if not isinstance(sigma, float):  # learnt: an argument, so that the adjoints differentiate it
        args["diffusion"] = sigma
    n_fixed = w_init.shape[-1] - spec.drift_sizes_for(w_init.shape[-1])[-1]
    if n_fixed:  # stochastic_fraction < 1: the first weights stay at their start, an argument of f_h
        args["w_fixed"], w_init = w_init[:n_fixed], w_init[n_fixed:]

    def f_h(t, h, w, args):
        return hidden(t, h, jnp.concatenate([args["w_fixed"], w]) if n_fixed else w)

    def diffusion_of(args):  # a fixed diffusion stays a compile-time constant (same numbers as ever)
        return args.get("diffusion", sigma)

    def f(y, t, args):
        h, w = y[0], y[1]
        dh = f_h(t, h, w, args)
        if not stochastic:
            return (dh, jnp.zeros_like(w))
        u = weight_drift(spec, args, t, w)
        return (dh, prior_drift(spec, w) + u, 0.5 * jnp.sum(u**2) / diffusion_of(args) ** 2)

    def g(y, t, args):
        w = y[1]
        if not stochastic:
            return (None, jnp.zeros_like(w))
        return (None, jnp.full_like(w, diffusion_of(args)), None)

    n_w = w_init.shape[-1]
    dW = noise["dW"] if stochastic else jnp.zeros((spec.n_steps, n_w), dtype)
    H = noise.get("H")
    if H is None and needs_levy_area(spec):
        H = jnp.zeros_like(dW)
    tree = (lambda a: (None, a, None)) if stochastic else (lambda a: (None, a))
    bm = jaxsde.GridIncrements(tree(dW), None if H is None else tree(H))
    y0 = (h0, w_init, jnp.zeros((), dtype)) if stochastic else (h0, w_init)
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
        args,
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
    kl = jnp.zeros((), dtype)
    if stochastic:  # the path's KL, integrated alongside
        kl = ys[2][-1]
        if stl:
            kl = kl + stl_correction(spec, bparams, w_path, dW, diffusion=sigma)
    if n_fixed and full_path:
        w_path = jnp.concatenate([jnp.broadcast_to(args["w_fixed"], (w_path.shape[0], n_fixed)), w_path], axis=-1)
    w0_prior_std = spec.prior_std if prior_std is None else prior_std
    if spec.gaussian_w0:  # and the starting weights'
        kl_w0 = w0_kl(bparams, w0_prior_std)
        kl = kl + kl_w0 if stochastic else kl_w0
    if spec.map_w0:  # or their prior's penalty
        kl = kl + w0_prior_penalty(bparams["w0"], w0_prior_std)
    return h1, kl, w_path


def _features(spec: ModelSpec, params, x, noise, *, full_path=False, stl=False, remat=False):
    """Every block in turn, for one weight path: the last block's state, the KL, the weight path.

    The state is (B, D) for the mlp (one block) and (B, C, H, W) for the conv architecture
    (squeezed between stages); the KL is summed over the blocks, and the weight path
    (n_steps + 1, n_weights) concatenates the blocks' (None unless ``full_path`` or ``stl``).
    """
    kw = dict(full_path=full_path, stl=stl, remat=remat, diffusion=diffusion(spec, params))
    prior_std = weight_prior(spec, params)
    if spec.architecture != "conv":
        hidden = functools.partial(hidden_drift, spec)
        return integrate_block(spec, hidden, initial_state(spec, x), params, noise, prior_std=prior_std, **kw)
    h, kls, paths = conv_initial_state(spec, x), [], []
    for k, (prefix, layout, cols) in enumerate(block_slices(spec)):
        if k > 0 and spec.block_stages[k] != spec.block_stages[k - 1]:
            h = squeeze(h)
        block_noise = {name: v[..., cols] for name, v in noise.items()}
        hidden = functools.partial(conv_hidden_drift, spec, layout)
        h, kl, path = integrate_block(spec, hidden, h, block_params(params, prefix), block_noise,
                                      prior_std=block_prior_std(prior_std, cols), **kw)
        kls.append(kl)
        paths.append(path)
    w_path = None if paths[0] is None else jnp.concatenate(paths, axis=-1)
    return h, functools.reduce(operator.add, kls), w_path


def _solve_path(spec: ModelSpec, params, x, noise, *, full_path, stl, remat):
    """:func:`solve` for one weight path: ``(out (B, k), kl (), w_path or None)``."""
    weight_noise = {k: v for k, v in noise.items() if k != "readout_eps"}
    h, kl, w_path = _features(spec, params, x, weight_noise, full_path=full_path, stl=stl, remat=remat)
    out = readout(params, h.reshape(h.shape[0], -1), noise.get("readout_eps"))
    if spec.gaussian_readout:  # the read-out's KL
        kl = kl + readout_kl(params, readout_prior(spec, params))
    return out, kl, (w_path if full_path else None)


def solve(spec: ModelSpec, params, x, noise, *, full_path=False, stl=False, remat=False):
    """Integrate a batch of weight paths for the rows ``x`` (B, n_features) and read out.

    Parameters
    ----------
    spec : ModelSpec
    params : dict
        The parameters as JAX arrays.
    x : array (B, n_features)
    noise : dict
        ``noise.scale_noise`` of S paths' variates, each with the leading axis S: ``"dW"``
        (S, n_steps, n_weights) Brownian increments (``"sde"``), ``"H"`` their space-time
        Lévy areas, ``"eps"`` (S, n_weights) (``spec.gaussian_w0``), ``"readout_eps"`` (the read-out's
        draw, ``spec.gaussian_readout``); ``{}`` for ``"point"`` (one
        path, S = 1). For ``architecture="conv"`` the last axis holds the blocks one after
        the other.
    full_path : bool
        Also return the weights at every step.
    stl : bool
        Add the sticking-the-landing term to the KL (``posterior="sde"`` only).
    remat : bool
        Recompute the solver's steps in the backward pass instead of storing them.

    Returns
    -------
    out : (S, B, readout_width) read-out values
    kl : (S,)
    w_path : (S, n_steps + 1, n_weights), or None unless ``full_path``
    """
    path = functools.partial(_solve_path, spec, params, x, full_path=full_path, stl=stl, remat=remat)
    if not noise:
        return jax.tree_util.tree_map(lambda a: a[None], path({}))
    return jax.vmap(path)(noise)
