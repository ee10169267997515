"""The general entry point :func:`sdeint` and the original thin wrappers."""

import jax
import jax.numpy as jnp
import numpy as np

from ._grid import concrete, make_grid
from ._integrate import forward_solve
from ._noise import make_noise
from ._terms import NOISE_TYPES, Terms, canonical_sde_type
from ._tree import flatten_with_none
from .solvers import check_supported, get_solver

__all__ = ["sdeint", "sdeint_ito", "sdeint_ito_fixed_grid", "sdeint_strat", "ADJOINTS"]

ADJOINTS = ("backprop", "stochastic", "reversible")


def _as_times(ts):
    """``(ts as a float jax array, NumPy copy or None when traced)``."""
    ts_np = concrete(ts)
    ts = jnp.asarray(ts)
    if not jnp.issubdtype(ts.dtype, jnp.floating):
        ts = ts.astype(jnp.zeros(()).dtype)
    if ts_np is not None:
        ts_np = np.asarray(ts_np, dtype=np.float64)
    return ts, ts_np


def _noise_structure(g, y0, yl, t0, args, noise_type):
    gshape = jax.eval_shape(lambda: g(y0, t0, args))
    gl, _ = flatten_with_none(gshape)
    if len(gl) != len(yl):
        raise ValueError(f"g must return a pytree with the structure of y0 ({len(yl)} leaves; "
                         f"None marks a noise-free leaf), got {len(gl)} leaves")
    noise_idx = [i for i, s in enumerate(gl) if s is not None]
    specs = []
    if noise_type == "general":
        if len(yl) != 1:
            raise ValueError("noise_type='general' requires y0 to be a single array")
        s = gl[0]
        if s is None or tuple(s.shape[:-1]) != tuple(yl[0].shape) or len(s.shape) != yl[0].ndim + 1:
            raise ValueError(f"for noise_type='general' g must return shape (*y.shape, m) = "
                             f"({', '.join(map(str, yl[0].shape))}, m), got "
                             f"{None if s is None else tuple(s.shape)}")
        specs.append(((s.shape[-1],), yl[0].dtype))
    else:
        for i in noise_idx:
            if tuple(gl[i].shape) != tuple(yl[i].shape):
                raise ValueError(
                    f"for noise_type={noise_type!r} each non-None leaf of g's output must have "
                    f"the shape of the matching y leaf: got {tuple(gl[i].shape)} for a leaf of "
                    f"shape {tuple(yl[i].shape)}")
            specs.append((tuple(yl[i].shape), yl[i].dtype))
    return noise_idx, specs


def sdeint(f, g, y0, ts, key=None, args=None, *, sde_type="ito", noise_type="diagonal",
           method="euler_maruyama", dt=None, nsteps=None, adjoint="backprop", bm=None,
           checkpoint=False):
    """Solve ``dy = f(y, t, args) dt + g(y, t, args) dW`` on a fixed grid.

    Parameters
    ----------
    f : callable ``f(y, t, args) -> pytree like y``
        Drift.
    g : callable ``g(y, t, args)``
        Diffusion. For ``noise_type`` ``"diagonal"``/``"additive"`` a pytree
        like ``y`` in which a leaf may be ``None`` (that leaf has no noise and
        is integrated as an ODE); the noise acts element-wise, ``g * dW``.
        For ``"general"``, ``y`` must be one array and ``g`` returns shape
        ``(*y.shape, m)``; the noise is ``g @ dW`` with ``dW`` of shape ``(m,)``.
        A ``g`` returning None for every leaf makes the equation an ODE (any
        method and ``sde_type`` then).
    y0 : pytree of arrays
        Initial state at ``ts[0]``.
    ts : array (n,), n >= 2, increasing
        Output times. The result holds the state at every entry; every
        interval ``[ts[i], ts[i+1]]`` ends exactly at ``ts[i+1]``.
    key : PRNG key, optional
        Source of the Brownian motion (needed unless ``bm`` is given). Noise
        leaf ``i`` (among the non-None leaves of ``g``) uses
        its own key (``key`` itself for the first), so its path does not
        depend on the other leaves; :func:`jaxsde.grid_increments` returns
        exactly these increments.
    args : pytree, optional
        Passed to ``f`` and ``g``; differentiable.
    sde_type : {"ito", "stratonovich"} ("strat" is accepted)
    noise_type : {"diagonal", "additive", "general"}
    method : str
        One of :data:`jaxsde.METHODS`: ``euler_maruyama`` (alias ``euler``),
        ``milstein``, ``srk``, ``shark``, ``euler_heun``, ``heun``, ``midpoint``,
        ``reversible_heun``.
    dt : float, optional
        Split interval ``[ts[i], ts[i+1]]`` into ``ceil(width / dt)`` equal
        steps; ``ts`` must then be concrete (a list or NumPy array works
        inside ``jit``; a traced array does not).
    nsteps : int, optional
        Total number of steps; must be a multiple of ``len(ts) - 1``; each
        interval gets ``nsteps // (len(ts) - 1)`` equal steps. ``ts`` may be
        traced. Without ``dt`` and ``nsteps``: one step per interval.
    adjoint : {"backprop", "stochastic", "reversible"}
        ``"backprop"`` differentiates through the ``lax.scan``;
        ``"stochastic"`` solves the adjoint SDE backward on the same
        Brownian path (memory O(1) in the number of steps);
        ``"reversible"`` (only ``method="reversible_heun"``) gives the exact
        gradient of the discrete solve by reconstructing states backward.
        Under both adjoints, ``ts`` and injected increments get zero
        cotangents (use ``"backprop"`` to differentiate w.r.t. ``ts``).
    bm : GridIncrements or VirtualBrownianTree, optional
        Brownian motion to use instead of sampling from ``key``.
    checkpoint : bool
        With ``"backprop"``, wrap each step in ``jax.checkpoint`` (recompute
        the step's intermediates on the backward pass); ignored otherwise.

    Returns
    -------
    pytree like ``y0`` whose leaves have a leading axis ``len(ts)``.

    Raises
    ------
    ValueError
        For an unknown or unsupported method / ``sde_type`` / ``noise_type`` /
        ``adjoint`` combination (the message names the supported ones), a
        step grid that ``nsteps``/``dt`` cannot make, or Brownian input of
        the wrong shape.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from jaxsde import sdeint
    >>> ys = sdeint(lambda y, t, a: a * y, lambda y, t, a: 0.2 * y, jnp.ones(3),
    ...             jnp.linspace(0., 1., 5), jax.random.PRNGKey(0), 0.5, nsteps=40)
    >>> ys.shape
    (5, 3)
    """
    solver = get_solver(method)
    sde_type = canonical_sde_type(sde_type)
    if noise_type not in NOISE_TYPES:
        raise ValueError(f"noise_type must be one of {NOISE_TYPES}, got {noise_type!r}")
    if adjoint not in ADJOINTS:
        raise ValueError(f"adjoint must be one of {ADJOINTS}, got {adjoint!r}")
    if adjoint == "reversible" and solver.name != "reversible_heun":
        raise ValueError("adjoint='reversible' requires method='reversible_heun', "
                         f"got method={solver.name!r}")
    ts, ts_np = _as_times(ts)
    grid = make_grid(ts, dt=dt, nsteps=nsteps, ts_concrete=ts_np)
    yl, treedef = jax.tree_util.tree_flatten(y0)
    yl = [jnp.asarray(y) for y in yl]
    yl = [y if jnp.issubdtype(y.dtype, jnp.inexact) else y.astype(jnp.zeros(()).dtype) for y in yl]
    y0 = jax.tree_util.tree_unflatten(treedef, yl)
    noise_idx, specs = _noise_structure(g, y0, yl, ts[0], args, noise_type)
    check_supported(solver, sde_type, noise_type, has_noise=bool(noise_idx))
    noise = make_noise(key, bm, specs, grid, solver.needs_levy, solver.name)
    terms = Terms(f, g, treedef, len(yl), noise_idx, noise_type, sde_type)
    if adjoint == "backprop":
        outs, _ = forward_solve(solver, terms, yl, grid, noise, args, checkpoint=checkpoint)
    elif adjoint == "stochastic":
        from .adjoint import adjoint_solve
        outs = adjoint_solve(solver, terms, yl, grid, noise, args)
    else:
        from .reversible import reversible_solve
        outs = reversible_solve(solver, terms, yl, grid, noise, args)
    return jax.tree_util.tree_unflatten(treedef, outs)


_WRAPPER_PARAMS = """
    Parameters
    ----------
    f, g : callable ``(y, t, args)``
        Drift and diffusion, as in :func:`sdeint`.
    y0 : pytree of arrays
    ts : array (n,)
        Output times.
    rng : PRNG key
        Source of the Brownian motion (None with ``bm=...``).
    args : pytree, optional
    method : str
        See :data:`jaxsde.METHODS`.
    **kwargs
        Any other keyword of :func:`sdeint` (``noise_type``, ``nsteps``,
        ``dt``, ``bm``, ``adjoint``, ...).

    Returns
    -------
    pytree like ``y0`` with a leading axis ``len(ts)``.
"""


def sdeint_ito_fixed_grid(f, g, y0, ts, rng, args=None, method="euler_maruyama", **kwargs):
    kwargs.setdefault("adjoint", "backprop")
    return sdeint(f, g, y0, ts, rng, args, sde_type="ito", method=method, **kwargs)


def sdeint_ito(f, g, y0, ts, rng, args=None, method="milstein", **kwargs):
    kwargs.setdefault("adjoint", "stochastic")
    return sdeint(f, g, y0, ts, rng, args, sde_type="ito", method=method, **kwargs)


def sdeint_strat(f, g, y0, ts, rng, args=None, method="midpoint", **kwargs):
    kwargs.setdefault("adjoint", "stochastic")
    return sdeint(f, g, y0, ts, rng, args, sde_type="stratonovich", method=method, **kwargs)


sdeint_ito_fixed_grid.__doc__ = """Ito solve differentiated by backprop through the scan (original API).

    Equivalent to ``sdeint(f, g, y0, ts, rng, args, sde_type="ito",
    method=method, adjoint="backprop", **kwargs)``.
""" + _WRAPPER_PARAMS + """
    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> ys = sdeint_ito_fixed_grid(lambda y, t, a: -y, lambda y, t, a: 0.1 * y,
    ...                            jnp.ones(2), jnp.linspace(0., 1., 11), jax.random.PRNGKey(0), None)
    >>> ys.shape
    (11, 2)
"""

sdeint_ito.__doc__ = """Ito solve with the stochastic adjoint (O(1) memory gradients; original API).

    Equivalent to ``sdeint(f, g, y0, ts, rng, args, sde_type="ito",
    method=method, adjoint="stochastic", **kwargs)``; the default method is
    Milstein (strong order 1 for diagonal noise).
""" + _WRAPPER_PARAMS + """
    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> ys = sdeint_ito(lambda y, t, a: -y, lambda y, t, a: 0.1 * y,
    ...                 jnp.ones(2), jnp.linspace(0., 1., 11), jax.random.PRNGKey(0), None)
    >>> ys.shape
    (11, 2)
"""

sdeint_strat.__doc__ = """Stratonovich solve, with the stochastic adjoint by default.

    Equivalent to ``sdeint(f, g, y0, ts, rng, args, sde_type="stratonovich",
    method=method, adjoint="stochastic", **kwargs)``; pass
    ``method="reversible_heun", adjoint="reversible"`` for exact gradients.
""" + _WRAPPER_PARAMS + """
    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> ys = sdeint_strat(lambda y, t, a: -y, lambda y, t, a: 0.1 * y,
    ...                   jnp.ones(2), jnp.linspace(0., 1., 11), jax.random.PRNGKey(0), None)
    >>> ys.shape
    (11, 2)
"""
