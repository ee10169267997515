"""Sticking the landing (STL), in both engines, against Girsanov's theorem.

The problem: fit the posterior weight SDE ``dw = (p(w) + f_w(t, w)) dt + sigma dB`` to a
*target* path measure ``R``, ``dw = (p(w) + f*(t, w)) dt + sigma dB`` from the same ``w0``,
where ``f*`` is the drift network with other ("teacher") parameters. The objective is the
KL divergence ``KL(Q || R) = E_Q[log dQ/dP - log dR/dP]``: the engine's KL term (with or
without STL) minus ``log dR/dP`` of the engine's path, which the test computes itself from
the path's increments (Girsanov for the Euler chain, exact in discrete time)::

    log dR/dP = sum_n v(t_n, w_n) . (w_{n+1} - w_n - p(w_n) dt) / sigma - 0.5 ||v||^2 dt,
    v = f* / sigma.

Why this problem. The STL estimator is the gradient of ``log dQ_theta'/dR`` along the
reparameterised path with the density's parameters ``theta'`` frozen. At ``Q = R`` that
log-ratio is zero for *every* path, so its path derivative is zero: the STL gradient has
zero variance at the optimum (a theorem, exact for the Euler chain), while the plain
estimator ``grad 0.5 ∫||u||^2 dt`` keeps the noise of the score term. Near the optimum,
after fitting by Adam, the STL variance is a small fraction of the plain one. Both estimate
the same expected gradient (their difference ``∫ (du/dw dw/dtheta) . dB`` has mean zero).

Float64, tiny sizes (10 weights, 10 steps); each engine's tests take a few seconds of CPU.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from engine_params import engine_param

from skbnnsde.engines.params import init_params
from skbnnsde.engines.specs import ModelSpec

N_PATHS = 64
SIGMA = 0.5

SPEC = ModelSpec(
    n_features=1, n_outputs=1, hidden_layer_sizes=(2,), aug_dim=0, weight_drift_sizes=(8,),
    n_steps=10, diffusion=SIGMA, prior="ou", dtype="float64", stl=True,
)
DRIFT_KEYS = ("drift.W0", "drift.b0", "drift.W1", "drift.b1")


def student_params():
    """The estimators' initial parameters: the drift's last layer is zero (f_w = 0, Q = P)."""
    return init_params(SPEC, 0)


def teacher_params():
    """The same model with a non-trivial drift: the target measure R (KL(R || P) of a few nats)."""
    params = dict(student_params())
    rng = np.random.default_rng(1)
    width = SPEC.weight_drift_sizes[0]
    params["drift.W0"] = params["drift.W0"] + 0.5 * rng.normal(size=params["drift.W0"].shape)
    params["drift.b0"] = 0.5 * rng.normal(size=params["drift.b0"].shape)
    params["drift.W1"] = SIGMA * rng.normal(size=params["drift.W1"].shape) / math.sqrt(width)
    params["drift.b1"] = 0.3 * SIGMA * rng.normal(size=params["drift.b1"].shape)
    return params


def brownian_increments(n_paths, seed):
    """``sqrt(dt) * z`` of shape (n_paths, n_steps, n_weights), from NumPy (the same for both engines)."""
    z = np.random.default_rng(seed).standard_normal((n_paths, SPEC.n_steps, SPEC.n_weights))
    return z * math.sqrt(SPEC.dt)


# ---- the two engines ----------------------------------------------------------------------


class TorchProblem:
    """The objective and its gradients on the torch engine (``solve`` with ``full_path``)."""

    def __init__(self, teacher):
        import torch

        from skbnnsde.engines.torch.solve import solve
        from skbnnsde.engines.torch.threads import threads_for

        self.torch, self.solve, self.threads_for = torch, solve, threads_for
        self.teacher = self._tensors(teacher)
        self.x = torch.zeros(1, 1, dtype=torch.float64)
        self.ts = (torch.arange(SPEC.n_steps, dtype=torch.float64) * SPEC.dt).reshape(1, -1, 1)

    def _tensors(self, params, requires_grad=False):
        f64 = self.torch.float64
        return {k: self.torch.tensor(v, dtype=f64, requires_grad=requires_grad) for k, v in params.items()}

    def _drift(self, q, w):
        a = self.torch.tanh(w @ q["drift.W0"][:-1] + self.ts * q["drift.W0"][-1] + q["drift.b0"])
        return a @ q["drift.W1"] + q["drift.b1"]

    def log_ratio(self, q, path):
        """``log dQ_q/dP`` of the Euler chain along ``path`` (S, n_steps + 1, n_w): (S,)."""
        w = path[:, :-1]
        v = self._drift(q, w) / SIGMA
        incr = path[:, 1:] - w + w * SPEC.dt  # w_{n+1} - w_n - p(w_n) dt, p(w) = -w
        return (v * incr).sum((1, 2)) / SIGMA - 0.5 * SPEC.dt * (v * v).sum((1, 2))

    def _objective(self, p, dW, stl):
        _, kl, path = self.solve(SPEC, p, self.x, {"dW": self.torch.as_tensor(dW)}, full_path=True, stl=stl)
        return kl - self.log_ratio(self.teacher, path), kl, path

    def per_path_grads(self, params, dW, stl):
        """Drift-parameter gradients of every path's objective: (n_paths, n_drift_params)."""
        out = []
        with self.threads_for(0):
            for k in range(dW.shape[0]):
                p = self._tensors(params, requires_grad=True)
                self._objective(p, dW[k : k + 1], stl)[0].sum().backward()
                out.append(self.torch.cat([p[name].grad.ravel() for name in DRIFT_KEYS]).numpy())
        return np.stack(out)

    def mean_grads(self, params, dW, stl):
        """Gradient of the objective averaged over the paths: dict of drift-parameter arrays."""
        with self.threads_for(0):
            p = self._tensors(params, requires_grad=True)
            self._objective(p, dW, stl)[0].mean().backward()
        return {k: p[k].grad.numpy() for k in DRIFT_KEYS}

    def kl_to_target(self, params, dW):
        """Per-path STL estimate of ``KL(Q || R)`` (the exact log-ratio ``log dQ/dR`` of each path)."""
        with self.torch.no_grad(), self.threads_for(0):
            return self._objective(self._tensors(params), dW, True)[0].numpy()

    def girsanov(self, params, dW):
        """The engine's STL KL and its gradient, next to the log-ratio recomputed from the path."""
        with self.threads_for(0):
            p = self._tensors(params, requires_grad=True)
            _, kl, path = self.solve(SPEC, p, self.x, {"dW": self.torch.as_tensor(dW)}, full_path=True, stl=True)
            reference = self.log_ratio({k: v.detach() for k, v in p.items()}, path)
            wrt = [p[k] for k in ("w0", *DRIFT_KEYS)]
            g_engine = self.torch.autograd.grad(kl.sum(), wrt, retain_graph=True)
            g_reference = self.torch.autograd.grad(reference.sum(), wrt)
        ravel = lambda gs: self.torch.cat([g.ravel() for g in gs]).numpy()  # noqa: E731
        return dict(kl=kl.detach().numpy(), reference=reference.detach().numpy(),
                    grad=ravel(g_engine), grad_reference=ravel(g_reference))


class JaxProblem:
    """The objective and its gradients on the JAX engine (``solve`` with ``full_path``)."""

    def __init__(self, teacher):
        import jax
        import jax.numpy as jnp

        from skbnnsde.engines.jax.engine import _jax_context
        from skbnnsde.engines.jax.solve import solve

        def solve_one_path(spec, params, x, noise, **kw):  # the batched solve with S = 1
            out, kl, path = solve(spec, params, x, {k: v[None] for k, v in noise.items()}, **kw)
            return out[0], kl[0], path[0]

        self.jax, self.jnp, self.solve = jax, jnp, solve_one_path
        self.context = lambda: _jax_context(SPEC)
        with self.context():
            self.teacher = self._arrays(teacher)
        self._grads = jax.jit(self._per_path_grads, static_argnums=2)
        self._girsanov = jax.jit(self._girsanov_impl)

    def _arrays(self, params):
        return {k: self.jnp.asarray(v, dtype=self.jnp.float64) for k, v in params.items()}

    def _drift(self, q, w):
        ts = self.jnp.arange(SPEC.n_steps, dtype=w.dtype)[:, None] * SPEC.dt
        a = self.jnp.tanh(w @ q["drift.W0"][:-1] + ts * q["drift.W0"][-1] + q["drift.b0"])
        return a @ q["drift.W1"] + q["drift.b1"]

    def log_ratio(self, q, path):
        """``log dQ_q/dP`` of the Euler chain along one ``path`` (n_steps + 1, n_w)."""
        w = path[:-1]
        v = self._drift(q, w) / SIGMA
        incr = path[1:] - w + w * SPEC.dt
        return self.jnp.sum(v * incr) / SIGMA - 0.5 * SPEC.dt * self.jnp.sum(v * v)

    def _objective(self, p, dW, stl):
        x = self.jnp.zeros((1, 1), dW.dtype)
        _, kl, path = self.solve(SPEC, p, x, {"dW": dW}, full_path=True, stl=stl)
        return kl - self.log_ratio(self.teacher, path)

    def _per_path_grads(self, p, dWs, stl):
        per_path = self.jax.vmap(self.jax.value_and_grad(self._objective), in_axes=(None, 0, None))
        values, grads = per_path(p, dWs, stl)
        return values, self.jnp.concatenate([grads[k].reshape(dWs.shape[0], -1) for k in DRIFT_KEYS], axis=1)

    def per_path_grads(self, params, dW, stl):
        with self.context():
            return np.asarray(self._grads(self._arrays(params), self.jnp.asarray(dW), stl)[1])

    def mean_grads(self, params, dW, stl):
        flat = self.per_path_grads(params, dW, stl).mean(0)  # the same compiled function
        out, offset = {}, 0
        for k in DRIFT_KEYS:
            n = params[k].size
            out[k] = flat[offset : offset + n].reshape(params[k].shape)
            offset += n
        return out

    def kl_to_target(self, params, dW):
        with self.context():
            return np.asarray(self._grads(self._arrays(params), self.jnp.asarray(dW), True)[0])

    def _girsanov_impl(self, p, dWs):
        x = self.jnp.zeros((1, 1), dWs.dtype)
        jnp = self.jnp

        def both(q, dW):  # one solve: the engine's STL KL and the log-ratio recomputed from its path
            _, kl, path = self.solve(SPEC, q, x, {"dW": dW}, full_path=True, stl=True)
            return jnp.stack([kl, self.log_ratio(self.jax.lax.stop_gradient(q), path)])

        def one(dW):
            wrt = {k: p[k] for k in ("w0", *DRIFT_KEYS)}
            rest = {k: v for k, v in p.items() if k not in wrt}
            values, pullback = self.jax.vjp(lambda q: both({**rest, **q}, dW), wrt)
            jac = self.jax.vmap(pullback)(jnp.eye(2, dtype=dW.dtype))[0]
            flat = jnp.concatenate([jac[k].reshape(2, -1) for k in ("w0", *DRIFT_KEYS)], axis=1)
            return values[0], values[1], flat[0], flat[1]

        return self.jax.vmap(one)(dWs)

    def girsanov(self, params, dW):
        with self.context():
            kl, ref, g, g_ref = self._girsanov(self._arrays(params), self.jnp.asarray(dW))
        return dict(kl=np.asarray(kl), reference=np.asarray(ref), grad=np.asarray(g).ravel(),
                    grad_reference=np.asarray(g_ref).ravel())


PROBLEMS = {"torch": TorchProblem, "jax": JaxProblem}


@pytest.fixture(scope="module", params=[engine_param("torch"), engine_param("jax")])
def problem(request):
    """The engine's problem object, built (and, for JAX, compiled) once per module."""
    return PROBLEMS[request.param](teacher_params())


# ---- helpers ----------------------------------------------------------------------------


def adam(problem, params, *, n_iter, lr, n_paths, seed):
    """Fit the drift parameters by Adam on the STL objective (NumPy Adam, engine gradients)."""
    params = {k: np.array(v) for k, v in params.items()}
    m = {k: np.zeros_like(params[k]) for k in DRIFT_KEYS}
    v = {k: np.zeros_like(params[k]) for k in DRIFT_KEYS}
    b1, b2, eps = 0.9, 0.999, 1e-8
    for it in range(1, n_iter + 1):
        g = problem.mean_grads(params, brownian_increments(n_paths, seed + it), True)
        for k in DRIFT_KEYS:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            params[k] = params[k] - lr * (m[k] / (1 - b1**it)) / (np.sqrt(v[k] / (1 - b2**it)) + eps)
    return params


def paired_z(plain, sticky):
    """|mean difference| / its standard error, per parameter (the two use the same paths)."""
    d = plain - sticky
    se = d.std(0, ddof=1) / math.sqrt(len(d))
    return np.abs(d.mean(0)) / np.maximum(se, 1e-300)


# ---- the tests ----------------------------------------------------------------------------


def test_stl_kl_is_the_girsanov_log_ratio(problem):
    """The engine's STL KL has the value and the gradient of ``log dQ_theta'/dP`` along the path.

    Value: ``sum 0.5 ||u||^2 dt + u . dW`` equals the log-ratio recomputed from the Euler
    increments. Gradient: the engine's (drift parameters live in the first term, frozen in
    the second, path differentiated) equals the gradient of the recomputed log-ratio with
    the density's parameters frozen and only the path differentiated -- the STL estimator.
    """
    params = teacher_params()  # any drift with a non-trivial w-dependence
    out = problem.girsanov(params, brownian_increments(4, seed=3))
    np.testing.assert_allclose(out["kl"], out["reference"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out["grad"], out["grad_reference"], rtol=1e-8, atol=1e-10)
    assert np.abs(out["grad"]).max() > 1e-3


def test_stl_gradient_is_exactly_zero_at_the_target(problem):
    """At ``Q = R`` every path's STL gradient vanishes; the plain one only on average."""
    dW = brownian_increments(N_PATHS, seed=0)
    teacher = teacher_params()
    plain = problem.per_path_grads(teacher, dW, False)
    sticky = problem.per_path_grads(teacher, dW, True)
    var_plain, var_stl = plain.var(0).sum(), sticky.var(0).sum()
    print(f"at the target: drift-gradient variance plain {var_plain:.4g}, stl {var_stl:.3g}")
    assert var_plain > 1.0
    assert np.abs(sticky).max() < 1e-10
    # the expected gradient at the optimum is zero: the plain mean is zero within its errors
    assert np.mean(paired_z(plain, sticky) < 4.0) >= 0.95
    assert np.all(np.abs(problem.kl_to_target(teacher, dW)) < 1e-10)  # log dQ/dR = 0 on every path


def test_stl_reduces_gradient_variance_after_fitting(problem):
    """Fit Q to R by Adam from the zero drift, then compare the estimators over 64 paths."""
    dW = brownian_increments(N_PATHS, seed=0)
    start = student_params()
    kl_start = problem.kl_to_target(start, dW).mean()
    fitted = adam(problem, start, n_iter=150, lr=0.03, n_paths=N_PATHS, seed=100)
    kl_fitted = problem.kl_to_target(fitted, dW).mean()
    plain = problem.per_path_grads(fitted, dW, False)
    sticky = problem.per_path_grads(fitted, dW, True)
    var_plain, var_stl = plain.var(0).sum(), sticky.var(0).sum()
    print(
        f"KL(Q||R) {kl_start:.3f} -> {kl_fitted:.3f}; drift-gradient variance plain {var_plain:.4g}, "
        f"stl {var_stl:.4g}, ratio {var_stl / var_plain:.3f}"
    )
    assert kl_fitted < 0.2 * kl_start
    assert var_stl < 0.3 * var_plain
    # same expected gradient: the paired differences have mean zero within their errors
    assert np.mean(paired_z(plain, sticky) < 4.0) >= 0.95
