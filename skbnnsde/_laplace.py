"""A linearised Laplace approximation over the parameters that training fits as points.

After the ELBO fit, the starting weights ``w0`` (unless ``w0_posterior="gaussian"`` or
``posterior="meanfield"`` give them a posterior already) and the read-out (unless
``readout_posterior="gaussian"``) are point
estimates ``theta*``. Linearising the read-out values in them, ``f(x; theta) ≈ f(x; theta*)
+ J(x) (theta - theta*)``, with ``J`` the Jacobian of the mean over weight paths (the same
paths, ``n_predict_samples`` of the estimator's prediction seed, when fitting and when
predicting, so that the training rows constrain exactly what is predicted), and a Gaussian
prior ``N(0, 1 / alpha)``, turns their posterior into the Gaussian ``N(theta*, Sigma)``,
``Sigma = (G + alpha I)^-1``, where ``G`` is the generalised Gauss-Newton matrix of the
training rows' log-likelihood. ``alpha`` maximises the linearised evidence (MacKay's
empirical Bayes). The predictive variance gains ``J(x) Sigma J(x)^T``, which grows where
the training rows did not constrain the function: between and beyond the data (Foong et
al., 2019, "In-between uncertainty in Bayesian neural networks"). NumPy only; the engines
give the Jacobians (``Engine.output_jacobian``); the math is in ``docs/model.md``.
"""

from __future__ import annotations

import numpy as np

from .engines.options import MIN_HETEROSCEDASTIC_SCALE

#: the prior precisions the evidence is maximised over (log-spaced)
PRIOR_PRECISIONS = np.logspace(-4, 4, 81)
#: rows per Jacobian evaluation (the Jacobian of a chunk is paths x rows x outputs x parameters)
JACOBIAN_ROWS = 256


def laplace_parameter_names(spec) -> tuple:
    """The parameters the approximation covers: the point-estimated ``w0`` of every block and read-out."""
    names = [] if spec.gaussian_w0 else [f"{prefix}w0" for prefix in spec.block_prefixes]
    return (*names, *(() if spec.gaussian_readout else ("readout.W", "readout.b")))


def output_precisions(spec, params: dict, out: np.ndarray) -> np.ndarray:
    """Fisher information of every read-out value for its row: (S, n, readout_width).

    Regression: ``1 / s²`` (Gaussian), ``1 / s²`` (Laplace location), ``1 / (2 s²)``
    (Cauchy), and for ``"heteroscedastic"`` ``1 / s(row)²`` on the mean columns and 0 on the
    scale columns (the approximation covers the mean). Classification is not handled here.
    """
    k = spec.n_outputs
    if spec.likelihood == "heteroscedastic":
        scale = np.logaddexp(0.0, out[..., k:]) + MIN_HETEROSCEDASTIC_SCALE
        return np.concatenate([1.0 / scale**2, np.zeros_like(scale)], axis=-1)
    s2 = np.exp(2.0 * np.asarray(params["log_scale"], dtype=np.float64))
    factor = {"gaussian": 1.0, "laplace": 1.0, "cauchy": 0.5}[spec.likelihood]
    return np.broadcast_to(factor / s2, out.shape)


def gauss_newton(jacobians: np.ndarray, precisions: np.ndarray) -> np.ndarray:
    """``sum_rows Jbar^T diag(precision) Jbar``, ``Jbar`` the mean over paths of ``J`` (S, n, k, P): (P, P).

    ``precisions`` (S, n, k) are averaged over the paths too.
    """
    mean_jac = jacobians.mean(axis=0)
    weighted = mean_jac * precisions.mean(axis=0)[..., None]
    return np.einsum("nkp,nkq->pq", weighted, mean_jac)


def evidence_prior_precision(G: np.ndarray, theta: np.ndarray, grid=PRIOR_PRECISIONS) -> float:
    """The prior precision ``alpha`` of the largest linearised log evidence.

    ``log Z(alpha) = -0.5 alpha ||theta||² + 0.5 P log alpha - 0.5 log det(G + alpha I)`` up
    to terms without ``alpha`` (the data fit at ``theta`` is held fixed).
    """
    eig = np.clip(np.linalg.eigvalsh(G), 0.0, None)
    P, sq = theta.size, float(theta @ theta)
    log_z = [-0.5 * a * sq + 0.5 * P * np.log(a) - 0.5 * np.sum(np.log(eig + a)) for a in grid]
    return float(grid[int(np.argmax(log_z))])


def posterior_covariance(G: np.ndarray, prior_precision: float) -> np.ndarray:
    """``(G + alpha I)^-1``, symmetric positive definite."""
    eig, vec = np.linalg.eigh(G)
    eig = np.clip(eig, 0.0, None)
    return (vec / (eig + prior_precision)) @ vec.T


def linearised_variance(jacobians: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """``diag(Jbar Sigma Jbar^T)`` per row and output, ``Jbar`` the mean of ``J`` (S, n, k, P) over paths: (n, k)."""
    mean_jac = jacobians.mean(axis=0)
    return np.einsum("nkp,pq,nkq->nk", mean_jac, covariance, mean_jac)


def linearised_draws(jacobians: np.ndarray, covariance: np.ndarray, n_draws: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``Jbar delta_s`` for ``n_draws`` draws ``delta_s ~ N(0, Sigma)``: (n_draws, n, k)."""
    eig, vec = np.linalg.eigh(covariance)
    root = vec * np.sqrt(np.clip(eig, 0.0, None))
    delta = rng.standard_normal((n_draws, root.shape[0])) @ root.T
    return np.einsum("nkp,sp->snk", jacobians.mean(axis=0), delta)
