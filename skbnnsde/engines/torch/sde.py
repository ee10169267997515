"""The SDE-BNN as a torchsde SDE over the joint flat state of every weight sample.

Mirror of ``engines/jax/sde.py`` (which also holds the solve; here it is ``solve.py``).

State per Monte-Carlo sample (one row of the torchsde batch)::

    y = [h.flatten() (B * D), w (n_weights), kl (1)]

with drift ``[f_h(t, h; w), p(w) + f_w(t, w), 0.5 ||f_w / diffusion||²]`` and diffusion
``diffusion`` on ``w``, zero on ``h`` and ``kl``.

Step time. The modules are written in the step time ``tau = t * n_steps`` (so the grid is
``0, 1, ..., n_steps`` and torchsde runs with ``dt=1``): drift ``F(t, y) / n_steps`` and
diffusion ``diffusion / sqrt(n_steps)`` against a standard Brownian motion in ``tau``. It
is the same SDE (``B_t = B'_tau / sqrt(n_steps)``) and every torchsde method is equivariant
under this rescaling, so the numerical solution is the one on ``[0, 1]`` with
``dt = 1 / n_steps``; what changes is that grid times are exact integers (see
``brownian.py``).

Noise type. The noise is additive (constant diffusion). For the Ito methods the modules
declare ``noise_type="additive"`` and give ``g_prod`` only: torchsde's SRK then takes its
SRA1 scheme for additive noise (3 drift evaluations per step instead of the 10 of SRID2 for
diagonal noise), Milstein skips its (zero) ``g dg`` term instead of differentiating the
diffusion every step, and the Ito adjoint needs no Ito-Stratonovich correction. The
Stratonovich methods declare ``noise_type="diagonal"`` with ``g`` (reversible Heun and its
adjoint need the diffusion itself). Either way the Brownian motion has one channel per
state component, zero except on ``w``.

Conv blocks (``architecture="conv"``) use :class:`ConvBlockSDE` / :class:`ConvBlockODE`,
whose torchsde batch is a single row holding every sample::

    y = [h (B, S, C, H, W).flatten(), w (S, n_w).flatten(), kl (S)]

so that the hidden state is already laid out for the grouped convolutions of
``model.conv_hidden_drift`` (no transposes per drift evaluation).
"""

from __future__ import annotations

import math

import torch
import torch.utils.checkpoint

from ..base import ModelSpec
from .model import conv_hidden_drift, drift_layers, hidden_drift, weight_drift

#: estimator solver name -> (sde_type, torchsde method, torchsde adjoint method or None = default)
SOLVER_METHODS = {
    "euler": ("ito", "euler", None),
    "milstein": ("ito", "milstein", None),
    "srk": ("ito", "srk", None),
    "euler_heun": ("stratonovich", "euler_heun", None),
    "heun": ("stratonovich", "heun", None),
    "midpoint": ("stratonovich", "midpoint", None),
    "reversible_heun": ("stratonovich", "reversible_heun", "adjoint_reversible_heun"),
}

#: sde_type -> the noise type the modules declare (see the module docstring)
NOISE_TYPES = {"ito": "additive", "stratonovich": "diagonal"}


def solver_method(spec: ModelSpec):
    """``(sde_type, method, adjoint_method)`` for ``spec.solver``; ValueError naming the choices."""
    try:
        return SOLVER_METHODS[spec.solver]
    except KeyError:
        raise ValueError(f"solver must be one of {sorted(SOLVER_METHODS)}, got {spec.solver!r}") from None


class _StepTimeSDE(torch.nn.Module):
    """Shared machinery: step time, the constant diffusion vector, optional rematerialisation."""

    def __init__(self, spec: ModelSpec, g_row, *, remat=False):
        super().__init__()
        self.spec = spec
        self.n_steps = spec.n_steps
        self.dt = 1.0 / spec.n_steps
        self.sde_type = solver_method(spec)[0]
        self._g_row = g_row  # (1, N): the diffusion of every component, in step time
        self.remat = remat

    def f(self, tau, y):
        if self.remat and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(self._drift, tau, y, use_reentrant=False)
        return self._drift(tau, y)

    def _drift(self, tau, y):  # pragma: no cover - abstract
        raise NotImplementedError


# torchsde decides what to call by ``hasattr``: an additive-noise SDE must not have a ``g``
# returning a (batch, state) tensor (it would be read as a (batch, state, noise) matrix),
# and a diagonal one wants ``g``. So each noise type is a mixin.
class _DiagonalNoise:
    noise_type = "diagonal"

    def g(self, tau, y):
        return self._g_row.expand(y.shape[0], -1)


class _AdditiveNoise:
    noise_type = "additive"

    def g_prod(self, tau, y, v):
        return self._g_row * v


_NOISE_MIXINS = {"diagonal": _DiagonalNoise, "additive": _AdditiveNoise}


class WeightSDE(_StepTimeSDE):
    """The joint SDE of hidden state, weights and KL for ``posterior="sde"``.

    Parameters
    ----------
    spec : ModelSpec
    params : dict of tensors
        Needs ``drift.*`` (closed over, not registered: pass them as ``adjoint_params``).
    n_rows : int
        ``B``, the rows of the batch (0 to integrate the weights alone).
    """

    def __init__(self, spec: ModelSpec, params, n_rows: int, *, remat=False, dtype=None, device=None):
        n_w = spec.n_weights
        self.hd = n_rows * spec.state_dim
        g_row = torch.zeros(1, self.hd + n_w + 1, dtype=dtype, device=device)
        g_row[:, self.hd : self.hd + n_w] = spec.diffusion / math.sqrt(spec.n_steps)
        super().__init__(spec, g_row, remat=remat)
        self.params = params
        self.layers = drift_layers(spec, params)
        self.n_rows = n_rows
        self.n_w = n_w
        self.inv_sigma2 = 1.0 / spec.diffusion**2

    def _drift(self, tau, y):
        spec, S, hd, n_w = self.spec, y.shape[0], self.hd, self.n_w
        t = tau * self.dt
        h, w, _ = y.split((hd, n_w, 1), dim=1)
        fw = weight_drift(spec, self.layers, t, w)
        dw = fw - w if spec.prior == "ou" else fw  # p(w) + f_w
        dkl = (0.5 * self.inv_sigma2) * (fw * fw).sum(-1, keepdim=True)
        if not hd:
            return torch.cat((dw, dkl), dim=1) * self.dt
        dh = hidden_drift(spec, t, h.reshape(S, self.n_rows, spec.state_dim), w)
        return torch.cat((dh.reshape(S, hd), dw, dkl), dim=1) * self.dt


class HiddenODE(_StepTimeSDE):
    """``dh = f_h(t, h; w) dt`` with constant weights ``w`` (S, n_weights), zero diffusion.

    The ``meanfield`` and ``point`` posteriors integrate this with the same torchsde method
    as the SDE: with zero diffusion every method reduces to its deterministic scheme
    (Euler, Heun, midpoint, SRA1's order-2 Runge-Kutta, reversible Heun), and the adjoint
    works unchanged (pass ``w`` as ``adjoint_params``).
    """

    def __init__(self, spec: ModelSpec, w, n_rows: int, *, remat=False):
        self.hd = n_rows * spec.state_dim
        g_row = torch.zeros(1, self.hd, dtype=w.dtype, device=w.device)
        super().__init__(spec, g_row, remat=remat)
        self.w = w
        self.n_rows = n_rows

    def _drift(self, tau, y):
        S = y.shape[0]
        h = y.reshape(S, self.n_rows, self.spec.state_dim)
        return hidden_drift(self.spec, tau * self.dt, h, self.w).reshape(S, self.hd) * self.dt


class ConvBlockSDE(_StepTimeSDE):
    """One conv SDE block for ``posterior="sde"``: hidden state, weights and KL of every sample.

    Parameters
    ----------
    spec : ModelSpec
    layout : tuple
        The block's entry of ``spec.block_weight_layouts``.
    bparams : dict of tensors
        The block's parameters without prefix; needs ``drift.*`` (closed over: pass them
        as ``adjoint_params``).
    h_shape : tuple
        ``(B, S, C, H, W)`` of the hidden state (``B = 0`` integrates the weights alone).
    n_w : int
        The block's number of weights.
    """

    def __init__(self, spec: ModelSpec, layout, bparams, h_shape, n_w: int, *, remat=False, dtype=None, device=None):
        S = h_shape[1]
        self.hd = math.prod(h_shape)
        g_row = torch.zeros(1, self.hd + S * n_w + S, dtype=dtype, device=device)
        g_row[:, self.hd : self.hd + S * n_w] = spec.diffusion / math.sqrt(spec.n_steps)
        super().__init__(spec, g_row, remat=remat)
        self.layout = layout
        self.layers = drift_layers(spec, bparams)
        self.h_shape = tuple(h_shape)
        self.S = S
        self.n_w = n_w
        self.inv_sigma2 = 1.0 / spec.diffusion**2

    def _drift(self, tau, y):
        spec, S, hd, n_w = self.spec, self.S, self.hd, self.n_w
        t = tau * self.dt
        h, w, _ = y[0].split((hd, S * n_w, S))
        w = w.view(S, n_w)
        fw = weight_drift(spec, self.layers, t, w)
        dw = fw - w if spec.prior == "ou" else fw  # p(w) + f_w
        dkl = (0.5 * self.inv_sigma2) * (fw * fw).sum(-1)
        parts = [dw.reshape(-1), dkl]
        if hd:
            dh = conv_hidden_drift(spec, self.layout, t, h.view(self.h_shape), w)
            parts.insert(0, dh.reshape(-1))
        return torch.cat(parts).unsqueeze(0) * self.dt


class ConvBlockODE(_StepTimeSDE):
    """One conv block with constant weights ``w`` (S, n_w): ``dh = f_h(t, h; w) dt``, zero diffusion."""

    def __init__(self, spec: ModelSpec, layout, w, h_shape, *, remat=False):
        self.hd = math.prod(h_shape)
        g_row = torch.zeros(1, self.hd, dtype=w.dtype, device=w.device)
        super().__init__(spec, g_row, remat=remat)
        self.layout = layout
        self.w = w
        self.h_shape = tuple(h_shape)

    def _drift(self, tau, y):
        h = y.view(self.h_shape)
        dh = conv_hidden_drift(self.spec, self.layout, tau * self.dt, h, self.w)
        return dh.reshape(1, self.hd) * self.dt


_CLASSES: dict = {}


def _with_noise(base, spec: ModelSpec):
    """``base`` combined with the noise mixin that ``spec.solver`` wants (cached classes)."""
    noise_type = NOISE_TYPES[solver_method(spec)[0]]
    key = (base, noise_type)
    if key not in _CLASSES:
        _CLASSES[key] = type(f"{base.__name__}{noise_type.capitalize()}", (_NOISE_MIXINS[noise_type], base), {})
    return _CLASSES[key]


def make_weight_sde(spec, params, n_rows, *, remat=False, dtype=None, device=None) -> WeightSDE:
    """The :class:`WeightSDE` for ``spec``, with the noise methods its solver wants."""
    return _with_noise(WeightSDE, spec)(spec, params, n_rows, remat=remat, dtype=dtype, device=device)


def make_hidden_ode(spec, w, n_rows, *, remat=False) -> HiddenODE:
    """The :class:`HiddenODE` for ``spec`` and constant weights ``w``."""
    return _with_noise(HiddenODE, spec)(spec, w, n_rows, remat=remat)


def make_conv_block_sde(spec, layout, bparams, h_shape, n_w, *, remat=False, dtype=None, device=None) -> ConvBlockSDE:
    """The :class:`ConvBlockSDE` for ``spec``, with the noise methods its solver wants."""
    return _with_noise(ConvBlockSDE, spec)(spec, layout, bparams, h_shape, n_w, remat=remat, dtype=dtype, device=device)


def make_conv_block_ode(spec, layout, w, h_shape, *, remat=False) -> ConvBlockODE:
    """The :class:`ConvBlockODE` for ``spec`` and constant weights ``w``."""
    return _with_noise(ConvBlockODE, spec)(spec, layout, w, h_shape, remat=remat)
