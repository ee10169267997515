"""Deep ensembles of SDE-BNNs (``n_ensembles``): the members, their seeds and their draws.

With ``n_ensembles = M > 1`` an estimator fits ``M`` members, each from its own
initialisation and with its own minibatch order and training paths, and predicts with the
equal-weight mixture of their posteriors. Independent initialisations land on different
functions where the data do not pin the function down, so the mixture's spread grows there
(Lakshminarayanan et al., 2017), on top of each member's weight-path spread and Laplace step.

Layout of the fitted state: every array of ``params_`` gains a leading member axis
``(M, ...)``; the Laplace step's covariance and prior precision too; ``optimizer_state_`` is
a list with one entry per member. Member 0 uses the seeds a single fit would, and ``M = 1``
keeps today's layout, so ``n_ensembles=1`` is exactly the single model.

Draws are spread over the members in turn: of ``n`` draws, draw ``i`` comes from member
``i mod M``, from that member's own stream (:func:`member_seed`). ``predict`` pools
``M * n_predict_samples`` draws, ``n_predict_samples`` per member, so its mean and spread are
the mixture's. NumPy only.
"""

from __future__ import annotations

import numpy as np

from ._streams import derived_seed
from .engines.training import FitResult

#: members of ``n_ensembles="auto"`` for a regressor trained on at most ``specs.SMALL_DATA_ROWS`` rows
AUTO_ENSEMBLE_MEMBERS_SMALL_REGRESSION = 3
#: members of ``n_ensembles="auto"`` for every other ``fit``
AUTO_ENSEMBLE_MEMBERS = 2


def member_seed(seed: int, member: int) -> int:
    """The seed of ``member``'s stream for the estimator-level ``seed``: ``seed`` itself for member 0.

    Examples
    --------
    >>> member_seed(7, 0)
    7
    >>> member_seed(7, 1) != member_seed(7, 2)
    True
    """
    if member == 0:
        return int(seed)
    return derived_seed(seed, member)


def member_params(params: dict, member: int, n_members: int) -> dict:
    """The parameters of one member: ``params`` itself for a single model, else its slice of the member axis."""
    if n_members == 1:
        return params
    return {name: value[member] for name, value in params.items()}


def stack_members(members: list) -> dict:
    """Per-member dicts of arrays stacked on a leading member axis (a single member unchanged)."""
    if len(members) == 1:
        return members[0]
    return {name: np.stack([np.asarray(m[name]) for m in members]) for name in members[0]}


def member_draw_counts(n_draws: int, n_members: int) -> list:
    """How many of ``n_draws`` draws each member gives (draw ``i`` from member ``i mod n_members``).

    Examples
    --------
    >>> member_draw_counts(5, 2)
    [3, 2]
    """
    return [len(range(m, n_draws, n_members)) for m in range(n_members)]


def interleave(parts: list, n_draws: int) -> np.ndarray:
    """Member ``m``'s draws (leading axis) put at positions ``m, m + M, ...`` of ``n_draws`` draws.

    A member with no draws (fewer draws than members) has ``None``.

    Examples
    --------
    >>> interleave([np.array([0, 2, 4]), np.array([1, 3])], 5).tolist()
    [0, 1, 2, 3, 4]
    """
    present = [p for p in parts if p is not None]
    out = np.empty((n_draws, *present[0].shape[1:]), dtype=np.result_type(*present))
    for m, part in enumerate(parts):
        if part is not None:
            out[m :: len(parts)] = part
    return out


def draws_across_members(n_draws: int, n_members: int, draw) -> np.ndarray:
    """``n_draws`` draws, draw ``i`` from member ``i mod n_members``: ``draw(member, count)`` gives a member's.

    ``draw`` returns an array with ``count`` draws on its leading axis; a single model's draws
    are returned as they are.

    Examples
    --------
    >>> draws_across_members(5, 2, lambda m, count: np.full(count, m)).tolist()
    [0, 1, 0, 1, 0]
    """
    if n_members == 1:
        return draw(0, n_draws)
    counts = member_draw_counts(n_draws, n_members)
    return interleave([draw(m, count) if count else None for m, count in enumerate(counts)], n_draws)


def draw_members(n_draws: int, n_members: int) -> np.ndarray:
    """The member of every draw: ``arange(n_draws) % n_members``."""
    return np.arange(n_draws) % n_members


def _mean_curve(curves: list) -> list:
    """Epoch by epoch, the mean over the members that ran the epoch (early stopping ends them apart)."""
    length = max((len(c) for c in curves), default=0)
    return [float(np.mean([c[i] for c in curves if len(c) > i])) for i in range(length)]


def combine_results(results: list) -> FitResult:
    """One ``FitResult`` for the members' results: mean curves, the most epochs, converged when all did.

    ``optimizer_state`` and ``rng_state`` are the per-member lists (a single member's own).
    """
    if len(results) == 1:
        return results[0]
    return FitResult(
        loss_curve=_mean_curve([r.loss_curve for r in results]),
        validation_scores=_mean_curve([r.validation_scores for r in results]),
        n_iter=max(int(r.n_iter) for r in results),
        converged=all(r.converged for r in results),
        interrupted=any(r.interrupted for r in results),
        optimizer_state=[r.optimizer_state for r in results],
        rng_state=[r.rng_state for r in results],
    )


def member_state(state, member: int, n_members: int):
    """A member's entry of a per-member stored state (``optimizer_state_``, the random streams).

    Training continues only a fit of as many members (``_same_structure``), so a state of
    several members is their list.
    """
    return state if state is None or n_members == 1 else state[member]
