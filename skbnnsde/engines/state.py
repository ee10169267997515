"""Training state carried from one fit to the next: Adam's moments and the random streams.

Engine-neutral NumPy data, so that a fitted estimator pickles with the standard library and
either engine continues a fit that the other began (``warm_start=True`` and ``partial_fit``).

The optimiser state is a plain dict with the same layout in both engines::

    {"step": int64 array (), "mu": {name: array}, "nu": {name: array}}

``step`` is the number of Adam steps taken, ``mu`` and ``nu`` its first and second moment
estimates per parameter name (``params.param_shapes``), before bias correction. These are
``torch.optim.Adam``'s ``step``, ``exp_avg`` and ``exp_avg_sq`` and optax's
``ScaleByAdamState`` ``count``, ``mu`` and ``nu``: both update ``m <- b1 m + (1 - b1) g``,
``v <- b2 v + (1 - b2) g²`` and step by ``lr * m / (1 - b1^t) / (sqrt(v / (1 - b2^t)) + eps)``
with ``t`` the step count after the increment (b1=0.9, b2=0.999, eps=1e-8), so continuing
from a state is the same computation in both, up to floating-point rounding.

The random state is ``{"order": <numpy bit generator state>, "noise": {"kind": ..., "state":
array}}``: the minibatch order's stream (engine-neutral, ``training.run_epochs``) and the
engine's stream of training paths, which only the engine and device kind that wrote it can
resume (``"kind"`` names them); another starts its paths from the fit's seed instead.
"""

from __future__ import annotations

import numpy as np


def adam_state(step, mu: dict, nu: dict) -> dict:
    """The optimiser state as plain NumPy data (see the module docstring).

    Examples
    --------
    >>> state = adam_state(3, {"w": [0.1, 0.2]}, {"w": [0.01, 0.04]})
    >>> int(state["step"]), state["mu"]["w"].tolist()
    (3, [0.1, 0.2])
    """
    return {
        "step": np.asarray(int(step), dtype=np.int64),
        "mu": {k: np.array(v, copy=True) for k, v in mu.items()},
        "nu": {k: np.array(v, copy=True) for k, v in nu.items()},
    }


def check_adam_state(state: dict, params: dict, dtype) -> "tuple[int, dict, dict]":
    """``(step, mu, nu)`` of ``state`` for ``params``, the moments as arrays of ``dtype``.

    Raises a ``ValueError`` when the state does not cover exactly the parameters' names and
    shapes (a state of another model).

    Examples
    --------
    >>> params = {"w": np.zeros(2)}
    >>> step, mu, nu = check_adam_state(adam_state(1, {"w": [1.0, 2.0]}, {"w": [1.0, 4.0]}), params, "float32")
    >>> step, mu["w"].dtype.name
    (1, 'float32')
    """
    try:
        step, mu, nu = int(state["step"]), state["mu"], state["nu"]
    except (KeyError, TypeError) as err:
        raise ValueError(f"optimizer_state must be a dict with 'step', 'mu' and 'nu', got {state!r:.80}") from err
    out = []
    for name, moments in (("mu", mu), ("nu", nu)):
        if set(moments) != set(params):
            raise ValueError(
                f"optimizer_state[{name!r}] has the parameters {sorted(moments)}, the model {sorted(params)}"
            )
        arrays = {k: np.asarray(moments[k], dtype=dtype) for k in params}
        for k, v in arrays.items():
            if v.shape != np.shape(params[k]):
                raise ValueError(
                    f"optimizer_state[{name!r}][{k!r}] has shape {v.shape}, the parameter {np.shape(params[k])}"
                )
        out.append(arrays)
    if step < 0:
        raise ValueError(f"optimizer_state['step'] must be >= 0, got {step}")
    return step, out[0], out[1]


def noise_state(rng_state: "dict | None", kind: str):
    """The stored state of the training paths' stream when ``kind`` wrote it, else None.

    Examples
    --------
    >>> state = {"order": {}, "noise": {"kind": "jax", "state": np.array([0, 7], np.uint32)}}
    >>> noise_state(state, "jax").tolist(), noise_state(state, "torch:cpu")
    ([0, 7], None)
    """
    noise = (rng_state or {}).get("noise")
    if not noise or noise.get("kind") != kind:
        return None
    return np.asarray(noise["state"])


def with_noise_state(rng_state: dict, kind: str, state) -> dict:
    """``rng_state`` with the engine's stream of training paths set to ``state`` of ``kind``."""
    return {**rng_state, "noise": {"kind": kind, "state": np.array(state, copy=True)}}
