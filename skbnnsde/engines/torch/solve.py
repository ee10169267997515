"""Solve the SDE-BNN for a batch of rows and a batch of weight samples with torchsde.

Mirror of ``solve`` in ``engines/jax/sde.py``. The increments are given (drawn by the engine
from a ``torch.Generator`` when training, from NumPy via ``base.sample_noise`` when
predicting) and injected through :class:`GridBrownian`, which is what lets the two engines
agree for the same seed and what the sticking-the-landing term ``∫ u · dB`` needs.
"""

from __future__ import annotations

import math

import torch
import torchsde

from ..base import ModelSpec, block_params
from .brownian import GridBrownian
from .model import conv_initial_state, conv_readout, initial_state, meanfield_kl, readout, squeeze, weight_drift
from .sde import make_conv_block_ode, make_conv_block_sde, make_hidden_ode, make_weight_sde, solver_method

STL_ADJOINT_MESSAGE = (
    "stl=True needs the whole weight path, which the adjoint does not keep; "
    "use stl=False with adjoint=True (or adjoint=False to keep stl=True)"
)


def check_stl_adjoint(spec: ModelSpec, stl: bool) -> None:
    """ValueError for the unsupported combination of sticking-the-landing and the adjoint."""
    if stl and spec.adjoint and spec.posterior == "sde":
        raise ValueError(STL_ADJOINT_MESSAGE)


def drift_params(params):
    """The ``drift.*`` parameters, in a fixed order."""
    return {k: v for k, v in params.items() if k.startswith("drift.")}


def stl_kl(spec: ModelSpec, params, w_path, dW, kl=None):
    """Sticking-the-landing estimate of the KL of every path (left-point sums).

    ``sum_n 0.5 ||u(t_n, w_n)||² dt + u_sg(t_n, w_n) · dW_n`` with ``u = f_w / diffusion``;
    in ``u_sg`` the drift parameters are under stop-gradient, in the first term they are
    not, and the path ``w_n`` keeps its gradient in both.

    Why the first term keeps its parameter gradient: written as a function of the path,
    ``log dQ/dP = ∫ u'·(dw - p dt)/σ - 0.5 ∫ ||u'||² dt`` with ``u'`` the density's
    (stop-gradient) drift; along ``dw = (p + σ u) dt + σ dB`` that is
    ``∫ u'·u dt + ∫ u'·dB - 0.5 ∫ ||u'||² dt``, whose path derivative at ``u' = u`` is the
    full derivative of ``0.5 ||u||²`` plus that of ``u_sg · dB``. Freezing the parameters
    in both terms drops ``u · ∂u/∂θ``: the gradient no longer penalises the drift, which
    then grows without bound (e.g. for a constant drift ``u`` the KL ``u²/2`` would get zero
    gradient). This is the estimator of the authors' code (``term1`` with ``f``, ``term2``
    with ``f_detach``).

    Parameters
    ----------
    w_path : tensor (S, n_steps + 1, n_weights)
    dW : tensor (S, n_steps, n_weights)
        The standard Brownian increments of the path (``sqrt(dt) * z``).
    kl : tensor (S,), optional
        ``0.5 ∫ ||u||² dt`` as the solver integrated it (the state ``kl``, live parameters,
        path with its gradient): used as the first term instead of recomputing it, which
        saves one drift evaluation over the whole path and its backward pass. For Euler it
        is the same left-point sum; for the other solvers it is their quadrature of the same
        integral (as in the JAX engine).

    Returns
    -------
    tensor (S,)
    """
    live = drift_params(params)
    frozen = {k: v.detach() for k, v in live.items()}
    n = spec.n_steps
    ts = (torch.arange(n, dtype=w_path.dtype, device=w_path.device) * spec.dt).reshape(1, n, 1)
    w_left = w_path[:, :-1]
    u_sg = weight_drift(spec, frozen, ts, w_left) / spec.diffusion
    if kl is None:
        u = weight_drift(spec, live, ts, w_left) / spec.diffusion
        kl = (0.5 * spec.dt) * (u * u).sum((1, 2))
    return kl + (u_sg * dW).sum((1, 2))


def _step_times(spec: ModelSpec, full_path: bool, dtype):
    # On the CPU even when the state is on a GPU: torchsde compares and adds times every step,
    # which would synchronise with the device; 0-dim CPU tensors mix freely with CUDA ones.
    n = spec.n_steps
    if full_path:
        return torch.arange(n + 1, dtype=dtype)
    return torch.tensor([0.0, float(n)], dtype=dtype)


def _integrate(spec: ModelSpec, module, y0, ts, bm, adjoint_params):
    if module.noise_type == "additive":
        # torchsde's argument checks draw one torch.randn from the global generator when the
        # SDE has g_prod; keep the user's global random stream untouched.
        devices = [y0.device] if y0.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            return _sdeint(spec, module, y0, ts, bm, adjoint_params)
    return _sdeint(spec, module, y0, ts, bm, adjoint_params)


def _sdeint(spec: ModelSpec, module, y0, ts, bm, adjoint_params):
    _, method, adjoint_method = solver_method(spec)
    if spec.adjoint and torch.is_grad_enabled():
        kwargs = {} if adjoint_method is None else {"adjoint_method": adjoint_method}
        return torchsde.sdeint_adjoint(
            module,
            y0,
            ts,
            bm=bm,
            method=method,
            dt=1.0,
            adaptive=False,
            adjoint_params=tuple(p for p in adjoint_params if p.requires_grad),
            **kwargs,
        )
    return torchsde.sdeint(module, y0, ts, bm=bm, method=method, dt=1.0, adaptive=False)


def solve(spec: ModelSpec, params, X, dW=None, H=None, *, eps=None, return_path=False, stl=False, remat=False):
    """Integrate ``S`` weight paths for the rows ``X`` and read out.

    Parameters
    ----------
    params : dict of tensors (names of ``base.param_shapes``)
    X : tensor (B, n_features)
    dW : tensor (S, n_steps, n_weights)
        Brownian increments ``sqrt(dt) * z`` (``posterior="sde"``). For
        ``architecture="conv"`` (here and in ``H``, ``eps``) the last axis holds the blocks'
        weights one after the other.
    H : tensor (S, n_steps, n_weights), optional
        Their space-time Lévy areas ``sqrt(dt / 12) * z_levy`` (``solver="srk"``; zeros if
        missing).
    eps : tensor (S, n_weights)
        Standard normal draws of the weights (``posterior="meanfield"``).
    return_path : bool
        Also return the weights at every grid point.
    stl : bool
        Replace the KL by its sticking-the-landing estimate (training only).
    remat : bool
        Recompute every drift evaluation in the backward pass instead of storing it.

    Returns
    -------
    out : tensor (S, B, n_outputs)
        Read-out values (``S = 1`` for ``posterior="point"``).
    kl : tensor (S,)
    w_path : tensor (S, n_steps + 1, n_weights), only with ``return_path``
    """
    if spec.architecture == "conv":
        h, kl, w_path = conv_features(spec, params, X, dW, H, eps=eps, return_path=return_path, stl=stl, remat=remat)
        out = conv_readout(params, h)
        return (out, kl, w_path) if return_path else (out, kl)
    if spec.posterior == "sde":
        return _solve_sde(spec, params, X, dW, H, return_path=return_path, stl=stl, remat=remat)
    return _solve_constant(spec, params, X, eps, return_path=return_path, remat=remat)


def _solve_sde(spec, params, X, dW, H, *, return_path, stl, remat):
    check_stl_adjoint(spec, stl)
    if dW is None:
        raise ValueError('posterior="sde" needs the Brownian increments dW')
    S, n, n_w = dW.shape
    if n != spec.n_steps or n_w != spec.n_weights:
        raise ValueError(f"dW must have shape (S, {spec.n_steps}, {spec.n_weights}), got {tuple(dW.shape)}")
    B, D = X.shape[0], spec.state_dim
    hd = B * D
    dtype, device = dW.dtype, dW.device
    sqrt_n = math.sqrt(n)

    h0 = initial_state(spec, X).reshape(1, hd).expand(S, hd)
    w0 = params["w0"].unsqueeze(0).expand(S, n_w)
    y0 = torch.cat([h0, w0, dW.new_zeros(S, 1)], dim=1)
    N = y0.shape[1]

    # step-time increments, laid out like the state, step-major: (n, S, N)
    Wg = dW.new_zeros(n, S, N)
    Wg[:, :, hd : hd + n_w] = dW.transpose(0, 1) * sqrt_n
    Ug = None
    if spec.solver == "srk":
        Ug = 0.5 * Wg
        if H is not None:
            Ug[:, :, hd : hd + n_w] += H.transpose(0, 1) * sqrt_n
    bm = GridBrownian(Wg, Ug)

    full_path = return_path or stl
    module = make_weight_sde(spec, params, B, remat=remat, dtype=dtype, device=device)
    ys = _integrate(spec, module, y0, _step_times(spec, full_path, dtype), bm, tuple(drift_params(params).values()))
    yT = ys[-1]
    out = readout(params, yT[:, :hd].reshape(S, B, D))
    w_path = ys[:, :, hd : hd + n_w].transpose(0, 1) if full_path else None
    kl = stl_kl(spec, params, w_path, dW, kl=yT[:, -1]) if stl else yT[:, -1]
    if return_path:
        return out, kl, w_path
    return out, kl


def constant_weights(spec: ModelSpec, params, eps=None):
    """The weights of the constant-weight posteriors: (S, n_weights); S = 1 for ``point``."""
    if spec.posterior == "meanfield":
        if eps is None:
            raise ValueError('posterior="meanfield" needs the standard normal draws eps')
        return params["w0"] + torch.exp(params["w_logstd"]) * eps
    return params["w0"].unsqueeze(0)


def _solve_constant(spec, params, X, eps, *, return_path, remat):
    w = constant_weights(spec, params, eps)
    S, n_w = w.shape
    B, D = X.shape[0], spec.state_dim
    hd = B * D
    dtype, device = w.dtype, w.device
    if spec.posterior == "meanfield":
        kl = meanfield_kl(spec, params).expand(S)
    else:
        kl = w.new_zeros(S)
    h0 = initial_state(spec, X).reshape(1, hd).expand(S, hd)
    if hd:
        bm = GridBrownian.zeros(spec.n_steps, (S, hd), dtype=dtype, device=device, levy_area=spec.solver == "srk")
        module = make_hidden_ode(spec, w, B, remat=remat)
        ys = _integrate(spec, module, h0, _step_times(spec, False, dtype), bm, (w,))
        out = readout(params, ys[-1].reshape(S, B, D))
    else:
        out = readout(params, h0.reshape(S, 0, D))
    if return_path:
        return out, kl, w.unsqueeze(1).expand(S, spec.n_steps + 1, n_w)
    return out, kl


# ---- architecture "conv" -----------------------------------------------------------------


def conv_features(spec: ModelSpec, params, X, dW=None, H=None, *, eps=None, return_path=False, stl=False, remat=False):
    """The conv architecture up to the last stage's state, for ``S`` weight paths at once.

    Each block is one torchsde solve over all samples (see ``sde.ConvBlockSDE``); the state
    passes from block to block, squeezed between stages. Arguments as :func:`solve`.

    Returns
    -------
    h : tensor (B, S, C, H, W)
        The state at the end of the last block.
    kl : tensor (S,)
        Summed over blocks (the sticking-the-landing estimate with ``stl``).
    w_path : tensor (S, n_steps + 1, n_weights) or None
        The blocks' weights, concatenated on the last axis (with ``return_path``).
    """
    check_stl_adjoint(spec, stl)
    if spec.posterior == "sde":
        if dW is None:
            raise ValueError('posterior="sde" needs the Brownian increments dW')
        if tuple(dW.shape[1:]) != (spec.n_steps, spec.n_weights):
            raise ValueError(f"dW must have shape (S, {spec.n_steps}, {spec.n_weights}), got {tuple(dW.shape)}")
        S = dW.shape[0]
    elif spec.posterior == "meanfield":
        if eps is None:
            raise ValueError('posterior="meanfield" needs the standard normal draws eps')
        S = eps.shape[0]
    else:
        S = 1
    ref = next(iter(params.values()))
    X = X.to(dtype=ref.dtype)
    h = conv_initial_state(spec, X, S)
    kl = ref.new_zeros(S)
    paths = []
    offset = 0
    stages = spec.block_stages
    blocks = zip(spec.block_prefixes, spec.block_weight_layouts, spec.block_n_weights)
    for k, (prefix, layout, n_w) in enumerate(blocks):
        if k > 0 and stages[k] != stages[k - 1]:
            h = squeeze(h)
        bp = block_params(params, prefix)
        sl = slice(offset, offset + n_w)
        offset += n_w
        if spec.posterior == "sde":
            Hk = None if H is None else H[..., sl]
            h, kl_k, path = _conv_block_sde(
                spec, layout, bp, h, dW[..., sl], Hk, return_path=return_path, stl=stl, remat=remat
            )
        else:
            eps_k = None if eps is None else eps[:, sl]
            h, kl_k, path = _conv_block_constant(spec, layout, bp, h, eps_k, return_path=return_path, remat=remat)
        kl = kl + kl_k
        paths.append(path)
    w_path = torch.cat(paths, dim=-1) if return_path else None
    return h, kl, w_path


def _conv_block_sde(spec, layout, bp, h, dW, H, *, return_path, stl, remat):
    S, n, n_w = dW.shape
    hd = h.numel()
    dtype, device = dW.dtype, dW.device
    sqrt_n = math.sqrt(n)
    w0 = bp["w0"].unsqueeze(0).expand(S, n_w)
    y0 = torch.cat([h.reshape(-1), w0.reshape(-1), dW.new_zeros(S)]).unsqueeze(0)
    N = y0.shape[1]

    # step-time increments, laid out like the state: (n, 1, N)
    Wg = dW.new_zeros(n, 1, N)
    Wg[:, 0, hd : hd + S * n_w] = dW.transpose(0, 1).reshape(n, S * n_w) * sqrt_n
    Ug = None
    if spec.solver == "srk":
        Ug = 0.5 * Wg
        if H is not None:
            Ug[:, 0, hd : hd + S * n_w] += H.transpose(0, 1).reshape(n, S * n_w) * sqrt_n
    bm = GridBrownian(Wg, Ug)

    full_path = return_path or stl
    module = make_conv_block_sde(spec, layout, bp, tuple(h.shape), n_w, remat=remat, dtype=dtype, device=device)
    ys = _integrate(spec, module, y0, _step_times(spec, full_path, dtype), bm, tuple(drift_params(bp).values()))
    yT = ys[-1, 0]
    h1 = yT[:hd].view(h.shape)
    w_path = ys[:, 0, hd : hd + S * n_w].reshape(-1, S, n_w).transpose(0, 1) if full_path else None
    kl = yT[hd + S * n_w :]
    if stl:
        kl = stl_kl(spec, bp, w_path, dW, kl=kl)
    return h1, kl, (w_path if return_path else None)


def _conv_block_constant(spec, layout, bp, h, eps, *, return_path, remat):
    w = constant_weights(spec, bp, eps)
    S, n_w = w.shape
    kl = meanfield_kl(spec, bp).expand(S) if spec.posterior == "meanfield" else w.new_zeros(S)
    hd = h.numel()
    if hd:
        bm = GridBrownian.zeros(spec.n_steps, (1, hd), dtype=w.dtype, device=w.device, levy_area=spec.solver == "srk")
        module = make_conv_block_ode(spec, layout, w, tuple(h.shape), remat=remat)
        ys = _integrate(spec, module, h.reshape(1, hd), _step_times(spec, False, w.dtype), bm, (w,))
        h = ys[-1].view(h.shape)
    path = w.unsqueeze(1).expand(S, spec.n_steps + 1, n_w) if return_path else None
    return h, kl, path
