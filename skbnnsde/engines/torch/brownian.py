"""A fixed-grid Brownian motion for torchsde: pre-sampled increments, O(1) queries.

torchsde's default ``BrownianInterval`` samples increments lazily through a binary tree of
intervals with an LRU cache, which costs far more than the solve on fixed grids.
:class:`GridBrownian` instead holds the increments of every step, already laid out like the
SDE's state, and answers each solver query ``bm(t_k, t_{k+1})`` with a view of step ``k``.

Time is measured in *steps*: the grid points are the integers ``0, 1, ..., n_steps`` (see
``solve.py``: torchsde runs in the step time ``tau = t * n_steps``). Integers are exact in
floating point, so torchsde's ``curr_t + dt`` accumulation lands exactly on the grid in both
directions (the adjoint integrates backwards through negative times), for every ``n_steps``
and dtype. (With ``dt = 1 / n_steps`` on ``[0, 1]`` it does not: for about half of all
``n_steps`` the rounding makes torchsde take one extra, tiny step.)

In step time the Brownian motion is standard: the increment of a step is ``z ~ N(0, 1)``
and its space-time Lévy area ``H ~ N(0, 1/12)``. torchsde's SRK asks for
``bm(ta, tb, return_U=True)`` with ``U = ∫_ta^tb (W_s - W_ta) ds = (tb - ta) (W/2 + H)``
(``levy_area_approximation="space-time"``); ``return_A`` (the Lévy area between channels,
for ``log_ode``) is not supported.
"""

from __future__ import annotations

import torch
from torchsde import BaseBrownian

#: how far (in steps) a query time may be from a grid point before it is an error
_GRID_TOL = 1e-5


class GridBrownian(BaseBrownian):
    """Brownian increments on the integer grid ``0..n_steps``, for ``torchsde.sdeint``.

    Parameters
    ----------
    W : tensor (n_steps, batch, channels)
        Increment of every step (standard normal in step time).
    U : tensor (n_steps, batch, channels), optional
        ``∫ (W_s - W_k) ds`` over every step, i.e. ``W/2 + H``; enables SRK
        (``levy_area_approximation`` becomes ``"space-time"``).

    Queries ``bm(ta, tb)`` must have ``ta`` and ``tb`` on the grid; a query spanning several
    steps returns their sum (and the matching ``U``). Use :meth:`zeros` for a Brownian
    motion without noise (the ODE of the constant-weight posteriors).
    """

    __slots__ = ("_W", "_U", "_zero", "_n_steps", "_shape", "_dtype", "_device", "_levy")

    def __init__(self, W, U=None):
        super().__init__()
        if W.dim() != 3:
            raise ValueError(f"W must have shape (n_steps, batch, channels), got {tuple(W.shape)}")
        if U is not None and U.shape != W.shape:
            raise ValueError(f"U must have the shape of W {tuple(W.shape)}, got {tuple(U.shape)}")
        self._W = W
        self._U = U
        self._zero = None
        self._n_steps = int(W.shape[0])
        self._shape = tuple(W.shape[1:])
        self._dtype = W.dtype
        self._device = W.device
        self._levy = "none" if U is None else "space-time"

    @classmethod
    def zeros(cls, n_steps, shape, *, dtype, device, levy_area=False):
        """A Brownian motion whose increments (and Lévy areas) are all zero."""
        self = cls.__new__(cls)
        BaseBrownian.__init__(self)
        self._W = None
        self._U = None
        self._zero = torch.zeros(shape, dtype=dtype, device=device)
        self._n_steps = int(n_steps)
        self._shape = tuple(shape)
        self._dtype = dtype
        self._device = torch.device(device)
        self._levy = "space-time" if levy_area else "none"
        return self

    # ---- torchsde's BaseBrownian interface --------------------------------------------
    def __call__(self, ta, tb=None, return_U=False, return_A=False):
        if tb is None:
            raise ValueError("GridBrownian answers interval queries bm(ta, tb) only, not point evaluations")
        if return_A:
            raise ValueError(
                "GridBrownian has no Lévy area between channels (return_A); use a solver other than log_ode"
            )
        if return_U and self._levy == "none":
            raise ValueError("this GridBrownian holds no space-time Lévy area; build it with U= for SRK")
        ia, ib = self._index(ta), self._index(tb)
        if ib < ia:
            raise ValueError(f"query times must satisfy ta <= tb, got ta={float(ta)}, tb={float(tb)}")
        if self._zero is not None or ia == ib:
            zero = self._zero if self._zero is not None else self._W.new_zeros(self._shape)
            return (zero, zero) if return_U else zero
        if ib == ia + 1:
            W = self._W[ia]
            if return_U:
                return W, self._U[ia]
            return W
        W_steps = self._W[ia:ib]
        W = W_steps.sum(0)
        if not return_U:
            return W
        # U over [a, b]: sum over steps k of U_k + 1 * (W_k - W_a) (each step has length 1)
        before = torch.cumsum(W_steps, 0) - W_steps  # W_k - W_a at the start of each step
        return W, (self._U[ia:ib] + before).sum(0)

    def _index(self, t):
        tf = float(t)
        k = round(tf)
        if abs(tf - k) > _GRID_TOL * max(1.0, abs(tf)) or not 0 <= k <= self._n_steps:
            raise ValueError(
                f"GridBrownian was queried at time {tf!r}, which is not a point of its grid "
                f"0, 1, ..., {self._n_steps} (time is measured in steps): integrate with dt=1 "
                f"and adaptive=False from ts[0]=0"
            )
        return k

    def __repr__(self):
        return f"GridBrownian(n_steps={self._n_steps}, shape={self._shape}, levy_area={self._levy!r})"

    dtype = property(lambda self: self._dtype)
    device = property(lambda self: self._device)
    shape = property(lambda self: self._shape)
    levy_area_approximation = property(lambda self: self._levy)
    n_steps = property(lambda self: self._n_steps)
