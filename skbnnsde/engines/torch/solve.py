"""Solve the SDE-BNN with torchsde for a batch of rows and every weight path at once.

One SDE block is solved by :func:`integrate_block`: the mlp is one block, the conv
architecture a sequence of them (squeezed between stages), each with its own slice of the
noise's last axis. Its state, one torchsde row holding every path, is::

    y = [h.ravel(), w.ravel() (S * n_w), kl (S, posterior="sde" only)]

with drift ``[hidden(t, h, w), p(w) + f_w(t, w), 0.5 ||f_w / diffusion||²]`` and diffusion
``diffusion`` on ``w``, zero on ``h`` and ``kl``. The constant-weight posteriors
(``meanfield``, ``point``) integrate ``w`` with zero drift and zero diffusion through the same
code: with zero noise every method reduces to its deterministic scheme, and ``w`` stays
exactly where it started.

Step time. torchsde runs in the step time ``tau = t * n_steps`` with ``dt=1``, so the grid is
``0, 1, ..., n_steps`` and its times are exact integers (see ``brownian.py``). This is the
same SDE (drift ``F / n_steps``, diffusion ``diffusion / sqrt(n_steps)`` against a standard
Brownian motion in ``tau``), and every torchsde method is equivariant under the rescaling, so
the solution is the one on ``[0, 1]`` with ``dt = 1 / n_steps``. ``hidden(t, h, w)`` and
``f_w`` see ``t`` in ``[0, 1]``: :class:`_BlockSDE` converts the drift and the diffusion,
``_brownian`` the increments, ``_step_times`` the output times; nothing else sees step time.

Noise type. The noise is additive. For the Ito methods the SDE declares
``noise_type="additive"`` and gives ``g_prod`` only: torchsde's SRK then takes its SRA1 scheme
(3 drift evaluations per step instead of the 10 of SRID2), Milstein skips its (zero) ``g dg``
term, and the Ito adjoint needs no Ito-Stratonovich correction. The Stratonovich methods
declare ``noise_type="diagonal"`` with ``g`` (reversible Heun and its adjoint need the
diffusion itself). torchsde chooses what to call by ``hasattr``, so the two are two classes.

The increments are given (see ``noise.scale_noise``) and injected through
:class:`~skbnnsde.engines.torch.brownian.GridBrownian`, which is what lets the two engines
agree for the same seed and what the sticking-the-landing term ``∫ u · dB`` needs.
"""

from __future__ import annotations

import contextlib
import functools
import math

import torch
import torch.utils.checkpoint
import torchsde

from ..options import SOLVER_SDE_TYPES
from ..params import block_params, block_prior_std, block_slices
from ..specs import ModelSpec, needs_levy_area
from .brownian import GridBrownian
from .model import _drift_layers, conv_hidden_drift, conv_initial_state, diffusion, hidden_drift, initial_state
from .model import prior_drift, readout, readout_kl, readout_prior, squeeze, w0_kl, w0_prior_penalty, weight_drift
from .model import weight_prior

#: estimator solver name -> (sde_type, torchsde method); torchsde's methods have the same names
SOLVER_METHODS = {name: (sde_type, name) for name, sde_type in SOLVER_SDE_TYPES.items()}

#: solvers whose adjoint is not torchsde's default for their sde_type
_ADJOINT_METHODS = {"reversible_heun": "adjoint_reversible_heun"}


def solver_method(spec: ModelSpec):
    """``(sde_type, method)`` of torchsde for ``spec.solver``; ValueError naming the choices."""
    try:
        return SOLVER_METHODS[spec.solver]
    except KeyError:
        raise ValueError(f"solver must be one of {sorted(SOLVER_METHODS)}, got {spec.solver!r}") from None


class _BlockSDE(torch.nn.Module):
    """The state ``[h, w, kl]`` of one block, its drift and diffusion in step time (module docstring).

    Parameters
    ----------
    hidden : callable ``(t, h, w) -> dh``
        The block's ``f_h`` for states of shape ``h_shape`` and weights ``w`` (S, n_w).
    layers : list or None
        ``f_w``'s layers (``model._drift_layers``); None for constant weights.
    y0 : tensor (1, N)
        The initial state (its dtype and device).
    sigma : float or 0-dim tensor
        The weights' diffusion (a tensor when it is learnt: the diffusion is then computed
        from it at every call, so that its gradient flows).
    """

    def __init__(self, spec: ModelSpec, hidden, h_shape, w_shape, layers, y0, remat, sigma):
        super().__init__()
        self.spec, self.hidden, self.layers = spec, hidden, layers
        self.h_shape, self.w_shape = tuple(h_shape), tuple(w_shape)
        self.sizes = (math.prod(h_shape), math.prod(w_shape), 0 if layers is None else w_shape[0])
        self.sde_type = solver_method(spec)[0]
        self.sigma = sigma
        self._learnt = isinstance(sigma, torch.Tensor)
        self._g_row = y0.new_zeros(y0.shape)  # the diffusion of every component (per unit of a learnt one)
        if layers is None:
            self._w_fixed = y0.new_zeros(self.sizes[1])  # the zero drift of constant weights
        else:
            scale = 1.0 if self._learnt else sigma
            self._g_row[:, self.sizes[0] : self.sizes[0] + self.sizes[1]] = scale / math.sqrt(spec.n_steps)
        self.remat = remat

    def _diffusion_row(self):
        return self._g_row * self.sigma if self._learnt else self._g_row

    def f(self, tau, y):
        if self.remat and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(self._drift, tau, y, use_reentrant=False)
        return self._drift(tau, y)

    def _drift(self, tau, y):
        spec, dt = self.spec, self.spec.dt
        t = tau * dt
        h, w, _ = y[0].split(self.sizes)
        w = w.view(self.w_shape)
        parts = [self.hidden(t, h.view(self.h_shape), w).reshape(-1)] if self.sizes[0] else []
        if self.layers is None:
            parts.append(self._w_fixed)
        else:
            fw = weight_drift(spec, self.layers, t, w)
            parts.append((prior_drift(spec, w) + fw).reshape(-1))
            parts.append((0.5 * (1.0 / self.sigma**2)) * (fw * fw).sum(-1))
        return torch.cat(parts).unsqueeze(0) * dt


class _AdditiveNoise(_BlockSDE):
    noise_type = "additive"

    def g_prod(self, tau, y, v):
        return self._diffusion_row() * v


class _DiagonalNoise(_BlockSDE):
    noise_type = "diagonal"

    def g(self, tau, y):
        return self._diffusion_row().expand(y.shape[0], -1)


#: sde_type -> the class of its noise type (see the module docstring)
_SDE_CLASSES = {"ito": _AdditiveNoise, "stratonovich": _DiagonalNoise}


def _initial_weights(spec: ModelSpec, bparams, noise):
    """``w(0)`` of every path: (S, n_w); S = 1 for ``point``."""
    if spec.gaussian_w0:
        return bparams["w0"] + torch.exp(bparams["w_logstd"]) * noise["eps"]
    w0 = bparams["w0"].unsqueeze(0)
    return w0.expand(noise["dW"].shape[0], -1) if spec.posterior == "sde" else w0


def _brownian(spec: ModelSpec, noise, lo: int, hi: int, y0):
    """The step-time increments (and ``U = W/2 + H``) laid out like the state, ``w`` at ``lo:hi``."""
    n, levy = spec.n_steps, needs_levy_area(spec)
    if "dW" not in noise:
        return GridBrownian.zeros(n, tuple(y0.shape), dtype=y0.dtype, device=y0.device, levy_area=levy)
    sqrt_n = math.sqrt(n)
    W = y0.new_zeros(n, *y0.shape)
    W[:, 0, lo:hi] = noise["dW"].transpose(0, 1).reshape(n, hi - lo) * sqrt_n
    U = None
    if levy:
        U = 0.5 * W
        if noise.get("H") is not None:
            U[:, 0, lo:hi] += noise["H"].transpose(0, 1).reshape(n, hi - lo) * sqrt_n
    return GridBrownian(W, U)


def _step_times(spec: ModelSpec, full_path: bool, dtype):
    # On the CPU even when the state is on a GPU: torchsde compares and adds times every step,
    # which would synchronise with the device; 0-dim CPU tensors mix freely with CUDA ones.
    n = spec.n_steps
    return torch.arange(n + 1, dtype=dtype) if full_path else torch.tensor([0.0, float(n)], dtype=dtype)


def _sdeint(spec: ModelSpec, sde, y0, ts, bm, adjoint_params):
    method = solver_method(spec)[1]
    run = torchsde.sdeint
    if spec.adjoint and torch.is_grad_enabled():
        extra = {"adjoint_method": _ADJOINT_METHODS[spec.solver]} if spec.solver in _ADJOINT_METHODS else {}
        params = tuple(p for p in adjoint_params if p.requires_grad)
        run = functools.partial(torchsde.sdeint_adjoint, adjoint_params=params, **extra)
    # torchsde's argument checks draw one torch.randn from the global generator when the SDE
    # has g_prod; keep the user's global random stream untouched.
    devices = [y0.device] if y0.device.type == "cuda" else []
    rng = torch.random.fork_rng(devices=devices) if sde.noise_type == "additive" else contextlib.nullcontext()
    with rng:
        return run(sde, y0, ts, bm=bm, method=method, dt=1.0, adaptive=False)


def stl_correction(spec: ModelSpec, bparams, w_path, dW, diffusion=None):
    """The sticking-the-landing term ``∫ u_sg · dB`` of every path (left-point sums): (S,).

    ``sum_n u_sg(t_n, w_n) · dW_n`` with ``u = f_w / diffusion``, the drift parameters under
    stop-gradient while the path ``w_n`` (S, n_steps + 1, n_w) keeps its gradient; ``dW``
    (S, n_steps, n_w) are the path's Brownian increments. Added to the integrated
    ``0.5 ∫ ||u||² dt`` (live parameters) it leaves the value an unbiased estimate of the KL
    and turns the gradient into the path-derivative (STL) estimator.

    Why the first term keeps its parameter gradient: written as a function of the path,
    ``log dQ/dP = ∫ u'·(dw - p dt)/σ - 0.5 ∫ ||u'||² dt`` with ``u'`` the density's
    (stop-gradient) drift; along ``dw = (p + σ u) dt + σ dB`` that is
    ``∫ u'·u dt + ∫ u'·dB - 0.5 ∫ ||u'||² dt``, whose path derivative at ``u' = u`` is the
    full derivative of ``0.5 ||u||²`` plus that of ``u_sg · dB``. Freezing the parameters in
    both terms would drop ``u · ∂u/∂θ``: the gradient would no longer penalise the drift.
    This is the estimator of the authors' code (``term1`` with ``f``, ``term2`` with
    ``f_detach``). A learnt ``diffusion`` (default ``spec.diffusion``) is frozen like
    the drift's parameters: a left-point sum against ``dB`` has zero-mean gradient in every
    parameter that only the path carries.
    """
    frozen = {k: v.detach() for k, v in bparams.items() if k.startswith("drift.")}
    sigma = spec.diffusion if diffusion is None else diffusion
    sigma = sigma.detach() if isinstance(sigma, torch.Tensor) else sigma
    n = spec.n_steps
    ts = (torch.arange(n, dtype=w_path.dtype, device=w_path.device) * spec.dt).reshape(1, n, 1)
    u_sg = weight_drift(spec, frozen, ts, w_path[:, :-1]) / sigma
    return (u_sg * dW).sum((1, 2))


def integrate_block(spec: ModelSpec, hidden, h0, bparams, noise, *, full_path=False, stl=False, remat=False,
                    prior_std=None, diffusion=None):
    """Solve one SDE block for every path: ``dh = hidden(t, h, w) dt`` with the block's weight dynamics.

    Parameters
    ----------
    hidden : callable ``(t, h, w) -> dh``
        The block's ``f_h`` for states shaped like ``h0`` and weights (S, n_w); ``t`` in [0, 1].
    h0 : tensor
        Initial hidden state of every path (any shape; ``h0.numel() == 0`` integrates the
        weights alone).
    bparams : dict of tensors
        The block's parameters without prefix (``w0``, ``drift.*``, ``w_logstd``; see
        ``params.block_params``).
    noise : dict of tensors
        This block's slice of ``noise.scale_noise``'s dict, leading axis S: ``"dW"``
        (S, n_steps, n_w) and ``"H"`` (solvers that ``needs_levy_area``) for ``"sde"``, ``"eps"`` (S, n_w)
        the starting weights' draw (``spec.gaussian_w0``), ``{}`` for ``"point"`` (S = 1).
    full_path : bool
        Also return the weights at every step.
    stl : bool
        Add :func:`stl_correction` to the KL (``posterior="sde"``; implies ``full_path``).
    remat : bool
        Recompute every drift evaluation in the backward pass instead of storing it.
    prior_std : float or tensor (n_w,), optional
        The block's prior std of the starting weights (``params.weight_prior_std``; default
        ``spec.prior_std``), for the KL of ``spec.gaussian_w0`` or the penalty of ``spec.map_w0``.
    diffusion : float or 0-dim tensor, optional
        The weights' diffusion (:func:`model.diffusion`; default ``spec.diffusion``).

    Returns
    -------
    h1 : tensor like ``h0``; kl : tensor (S,); w_path : tensor (S, n_steps + 1, n_w) or None
    """
    stochastic = spec.posterior == "sde"
    stl = stl and stochastic
    full_path = full_path or stl
    w_init = _initial_weights(spec, bparams, noise)
    n_fixed = w_init.shape[-1] - spec.drift_sizes_for(w_init.shape[-1])[-1]
    if n_fixed:  # stochastic_fraction < 1: the first weights stay at their start (an adjoint parameter)
        w_fixed, w_init = w_init[:, :n_fixed], w_init[:, n_fixed:]
        full_hidden = hidden

        def hidden(t, h, w):
            return full_hidden(t, h, torch.cat([w_fixed, w], dim=-1))
    S, n_w = w_init.shape
    lo, hi = h0.numel(), h0.numel() + S * n_w
    kl0 = w_init.new_zeros(S if stochastic else 0)
    y0 = torch.cat([h0.reshape(-1), w_init.reshape(-1), kl0]).unsqueeze(0)
    layers = _drift_layers(spec, bparams) if stochastic else None
    sigma = spec.diffusion if diffusion is None else diffusion
    sde = _SDE_CLASSES[solver_method(spec)[0]](spec, hidden, h0.shape, w_init.shape, layers, y0, remat, sigma)
    adjoint_params = tuple(v for k, v in bparams.items() if k.startswith("drift."))
    if isinstance(sigma, torch.Tensor):
        adjoint_params += (sigma,)
    if n_fixed and w_fixed.requires_grad:
        adjoint_params += (w_fixed,)
    ys = _sdeint(spec, sde, y0, _step_times(spec, full_path, y0.dtype), _brownian(spec, noise, lo, hi, y0),
                 adjoint_params)
    h1 = ys[-1, 0, :lo].view(h0.shape)
    w_path = ys[:, 0, lo:hi].reshape(-1, S, n_w).transpose(0, 1) if full_path else None
    kl = w_init.new_zeros(S)
    if stochastic:  # the path's KL, integrated alongside
        kl = ys[-1, 0, hi:]
        if stl:
            kl = kl + stl_correction(spec, bparams, w_path, noise["dW"], diffusion=sigma)
    if n_fixed and full_path:
        w_path = torch.cat([w_fixed.unsqueeze(1).expand(-1, w_path.shape[1], -1), w_path], dim=-1)
    w0_prior_std = spec.prior_std if prior_std is None else prior_std
    if spec.gaussian_w0:  # and the starting weights'
        kl_w0 = w0_kl(bparams, w0_prior_std)
        kl = kl + kl_w0 if stochastic else kl_w0.expand(S)
    if spec.map_w0:  # or their prior's penalty
        kl = kl + w0_prior_penalty(bparams["w0"], w0_prior_std)
    return h1, kl, w_path


def _features(spec: ModelSpec, params, x, noise, *, full_path=False, stl=False, remat=False):
    """Every block in turn: the last block's state, the KL summed over blocks, the weight paths.

    The state is (S, B, D) for the mlp and (B, S, C, H, W) for the conv architecture (squeezed
    between stages); the weight paths concatenate the blocks' on the last axis.
    """
    S = next(iter(noise.values())).shape[0] if noise else 1
    conv = spec.architecture == "conv"
    if conv:
        h = conv_initial_state(spec, x).unsqueeze(1).expand(-1, S, -1, -1, -1)
    else:
        h = initial_state(spec, x).unsqueeze(0).expand(S, -1, -1)
    stages, mlp_hidden = spec.block_stages, functools.partial(hidden_drift, spec)
    prior_std = weight_prior(spec, params)
    sigma = diffusion(spec, params)
    kl, paths = 0.0, []
    for k, (prefix, layout, sl) in enumerate(block_slices(spec)):
        if k > 0 and stages[k] != stages[k - 1]:
            h = squeeze(h)
        hidden = functools.partial(conv_hidden_drift, spec, layout) if conv else mlp_hidden
        block_noise = {name: v[..., sl] for name, v in noise.items()}
        h, kl_k, path = integrate_block(spec, hidden, h, block_params(params, prefix), block_noise,
                                        full_path=full_path, stl=stl, remat=remat,
                                        prior_std=block_prior_std(prior_std, sl), diffusion=sigma)
        kl = kl + kl_k
        paths.append(path)
    return h, kl, (torch.cat(paths, dim=-1) if full_path else None)


def solve(spec: ModelSpec, params, x, noise, *, full_path=False, stl=False, remat=False):
    """Integrate every weight path for the rows ``x`` (B, n_features) and read out.

    Parameters
    ----------
    params : dict of tensors (names of ``params.param_shapes``)
    noise : dict of tensors
        ``noise.scale_noise``'s dict with a leading axis of S paths: ``"dW"``
        (S, n_steps, n_weights) Brownian increments and ``"H"`` their space-time Lévy areas
        (solvers that ``needs_levy_area``) for ``"sde"``; ``"eps"`` (S, n_weights), the
        starting weights' draw (``spec.gaussian_w0``); ``"readout_eps"`` (S, (readout_dim + 1) *
        readout_width), the read-out's (``spec.gaussian_readout``); ``{}`` for ``"point"`` (S = 1). For
        ``architecture="conv"`` the last axis holds the blocks' weights one after the other.
    full_path : bool
        Also return the weights at every step.
    stl : bool
        Add the sticking-the-landing term to the KL (``posterior="sde"`` only).
    remat : bool
        Recompute every drift evaluation in the backward pass instead of storing it.

    Returns
    -------
    out : tensor (S, B, n_outputs); kl : tensor (S,); w_path : tensor (S, n_steps + 1, n_weights) or None
    """
    weight_noise = {k: v for k, v in noise.items() if k != "readout_eps"}
    h, kl, w_path = _features(spec, params, x, weight_noise, full_path=full_path, stl=stl, remat=remat)
    if spec.architecture == "conv":
        h = h.flatten(2).transpose(0, 1)
    out = readout(params, h, noise.get("readout_eps"))
    if spec.gaussian_readout:  # the read-out's KL
        kl = kl + readout_kl(params, readout_prior(spec, params))
    return out, kl, w_path
