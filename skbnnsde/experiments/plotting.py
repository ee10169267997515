"""Figures of the examples: saving PNGs, the toy-regression figures and the reliability diagram.

matplotlib is imported when a figure is drawn, on the non-interactive Agg backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._ensemble import draw_members


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_path(path, default_name: str) -> Path:
    """``--output`` as a PNG path: ``path`` itself, or ``path / default_name`` for a folder.

    A folder is one that exists, or a name without a suffix.

    Examples
    --------
    >>> figure_path("out", "plot.png").as_posix(), figure_path("a/b.png", "plot.png").as_posix()
    ('out/plot.png', 'a/b.png')
    """
    path = Path(path)
    if path.is_dir() or path.suffix == "":
        path = path / default_name
    return path


def savefig(fig, path) -> Path:
    """Write ``fig`` to ``path`` (creating its folder), close it and say where it went."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    print(f"saved {path}")
    return path


# ---- toy 1-D regression ------------------------------------------------------------------


def hidden_paths(est, X, n_samples: int = 8, random_state=0):
    """Hidden states ``h(t)`` on the solver grid for the rows ``X``, under sampled weight paths.

    The estimators have no method for hidden trajectories; this rebuilds them from the
    weight paths of ``est.weight_paths`` (the paths ``sample_posterior`` uses for the same
    ``random_state``) with the NumPy reference model, :func:`skbnnsde.engines.reference.hidden_path`:
    ``h(0) = [x, 0]``, Euler steps of ``dh = f_h(t, h; w(t)) dt``. For ``solver="euler"``
    that is the engines' own computation; for other solvers an Euler approximation along
    the same weight paths. Only the ``"mlp"`` architecture is supported.

    Returns
    -------
    ts : ndarray of shape (n_steps + 1,)
    h : ndarray of shape (n_samples, n_steps + 1, n_rows, D)
    w : ndarray of shape (n_samples, n_steps + 1, n_weights)
    """
    from skbnnsde.engines.reference import hidden_path
    from skbnnsde.engines.specs import ModelSpec

    spec = ModelSpec.from_dict(est.spec_)
    if spec.architecture != "mlp":
        raise ValueError("hidden_paths supports the mlp architecture only")
    X = np.asarray(X, dtype=np.float64)
    h0 = np.concatenate([X, np.zeros((X.shape[0], spec.aug_dim))], axis=1)
    w = est.weight_paths(n_samples=n_samples, random_state=random_state)  # (S, n_steps + 1, n_w)
    h = np.stack([hidden_path(spec, h0, path) for path in w])
    return np.linspace(0.0, 1.0, w.shape[1]), h, w


def readout_values(est, h):
    """The regressor's read-out of hidden states ``h`` (..., D), in the units of ``y``: (..., n_outputs).

    The read-out is the last layer of the model, ``h(1) @ readout.W + readout.b``, with the
    names of the fitted parameters ``est.params_``. For an ensemble (``n_ensembles_ > 1``) the
    leading axis of ``h`` is the paths of :func:`hidden_paths`, path ``s`` from member ``s mod
    n_ensembles_`` as ``weight_paths`` draws them, and each is read out by its member.
    """
    W = np.asarray(est.params_["readout.W"], dtype=np.float64)
    b = np.asarray(est.params_["readout.b"], dtype=np.float64)
    n_targets = est.y_scale_.shape[0]  # a heteroscedastic read-out has its scale columns after these
    if W.ndim == 3:  # members on the first axis: every path's own member
        members = draw_members(h.shape[0], W.shape[0])
        out = np.einsum("s...d,sdk->s...k", h, W[members])
        out = out + b[members].reshape(h.shape[0], *(1,) * (h.ndim - 2), b.shape[-1])
    else:
        out = h @ W + b
    return out[..., :n_targets] * est.y_scale_ + est.y_mean_


def _posterior_panel(ax, fit: dict, draws, n_draws: int):
    """Data, true function, predictive mean ± 2 std and the functions ``draws`` (grid rows, n_draws)."""
    from skbnnsde.datasets import toy_true_function

    x = fit["grid"][:, 0]
    lower, upper = fit["g_mean"] - 2 * fit["g_std"], fit["g_mean"] + 2 * fit["g_std"]
    ax.fill_between(x, lower, upper, color="tab:blue", alpha=0.2, label="mean ± 2 std (predictive)")
    ax.plot(x, draws, color="tab:blue", lw=0.6, alpha=0.35)
    ax.plot([], [], color="tab:blue", lw=0.6, alpha=0.6, label=f"{n_draws} sampled functions")
    ax.plot(x, fit["g_mean"], color="tab:blue", lw=2, label="predictive mean")
    true = toy_true_function(fit["ds"], fit["grid"])
    for j in range(true.shape[1]):
        ax.plot(x, true[:, j], "k--", lw=1, label="true function" if j == 0 else None)
    ax.scatter(fit["X"][:, 0], fit["y"], s=12, color="k", zorder=3, label="training data")
    lo, hi = float(fit["y"].min()), float(fit["y"].max())
    pad = 0.6 * (hi - lo + 1e-9)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set(xlabel="x", ylabel="y")
    ax.legend(loc="best", fontsize=8)


def plot_toy_predictive(fit: dict, path, *, n_draws: int, title: str):
    """Data, true function, posterior predictive mean ± 2 std, sampled functions, loss curve.

    ``fit`` is the dict of :func:`skbnnsde.experiments.toy.fit_toy` after ``toy_metrics``.
    """
    plt = pyplot()
    est = fit["est"]
    draws = est.sample_posterior(fit["grid_s"], n_samples=n_draws, random_state=1)
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [3, 1]})
    _posterior_panel(ax, fit, draws, n_draws)
    ax.set_title(title)
    ax_loss.plot(np.arange(1, len(est.loss_curve_) + 1), est.loss_curve_)
    ax_loss.set(xlabel="epoch", ylabel="loss (negative ELBO per point)", title="training")
    fig.tight_layout()
    return savefig(fig, path)


def plot_toy_dynamics(fit: dict, path, *, n_paths: int = 6, n_inputs: int = 9, n_weights: int = 8,
                      title: str = "") -> float:
    """The paper's dynamics figure: hidden units, read-out and weights over the depth ``t``.

    Also checks that the rebuilt hidden paths reproduce ``sample_posterior`` (see
    :func:`hidden_paths`) and returns the largest difference at ``t = 1``.
    """
    plt = pyplot()
    est = fit["est"]
    lo, hi = float(fit["grid"].min()), float(fit["grid"].max())
    xs = fit["scaler"].transform(np.linspace(lo, hi, n_inputs)[:, None])
    ts, h, w = hidden_paths(est, xs, n_samples=n_paths, random_state=2)
    out = readout_values(est, h)[..., 0]  # (S, n_steps + 1, rows)
    direct = est.sample_posterior(xs, n_samples=n_paths, random_state=2)  # (rows, S)
    mismatch = float(np.max(np.abs(out[:, -1, :].T - direct)))
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), layout="constrained")
    for r in range(xs.shape[0]):
        color = cmap(r / max(xs.shape[0] - 1, 1))
        for s in range(n_paths):
            axes[0].plot(ts, h[s, :, r, 0], color=color, lw=0.8, alpha=0.7)
            axes[1].plot(ts, out[s, :, r], color=color, lw=0.8, alpha=0.7)
    axes[0].set(xlabel="depth t", ylabel="hidden unit h_1(t)  (h_1(0) = standardised x)",
                title=f"hidden units, {n_inputs} inputs x {n_paths} weight paths")
    axes[1].set(xlabel="depth t", ylabel="read-out of h(t), in units of y",
                title="read-out along the depth (ends at the prediction)")
    n_show = min(n_weights, w.shape[2])
    pick = np.linspace(0, w.shape[2] - 1, n_show).astype(int)
    wcolors = plt.get_cmap("tab10")
    for j, idx in enumerate(pick):
        for s in range(n_paths):
            axes[2].plot(ts, w[s, :, idx], color=wcolors(j % 10), lw=0.8, alpha=0.7)
    axes[2].set(xlabel="depth t", ylabel="weight value",
                title=f"{n_show} of {w.shape[2]} weights w(t), {n_paths} paths")
    fig.colorbar(plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(lo, hi)), ax=axes[1], label="input x")
    how = ("exact (Euler, as the solver)" if est.solver == "euler"
           else f"Euler approximation (the fit used {est.solver})")
    fig.suptitle(f"{title} — hidden paths rebuilt from weight_paths: {how}", fontsize=10)
    savefig(fig, path)
    return mismatch


def prior_description(est) -> str:
    """What the prior functions of :func:`plot_toy_prior_posterior` are, as two lines of text.

    Read from the fitted model (``est.spec_``), like the draws themselves.
    """
    from skbnnsde.engines.specs import ModelSpec

    spec = ModelSpec.from_dict(est.spec_)
    scale = " / fan_in" if spec.prior_scaling == "fan_in" else ""
    w0 = f"w(0) ~ N(0, {spec.prior_std:g}²{scale})"
    if spec.posterior == "sde" and spec.w0_posterior == "point":
        w0 += " (the prior of w0_posterior='gaussian'; the fitted model learns w(0) as a point)"
    if spec.posterior == "meanfield":
        paths = "constant weights"
    else:
        drift = "-w dt" if spec.prior == "ou" else "0 dt"
        paths = f"w(t) from the prior SDE dw = {drift} + {spec.diffusion:g} dB (Euler, {spec.n_steps} steps)"
    return (f"prior: {w0}; {paths};\nread-out (a point parameter, no prior) drawn from its initialisation "
            f"N(0, 1/{spec.readout_dim}), bias 0; y in data units via the estimator's standardisation of y")


def plot_toy_prior_posterior(fit: dict, path, *, n_draws: int, n_prior: int = 200, title: str = ""):
    """The paper's toy figure: functions from the prior, and the posterior after the data.

    Left, the prior (:func:`skbnnsde.experiments.prior.sample_prior`): the median and the
    central 50 % and 90 % bands of ``n_prior`` prior functions (without observation noise;
    quantiles, as the prior's function values are heavy-tailed, so a few draws would make a
    ± 2 std band far wider than almost all of them) and ``n_draws`` of them, on the
    plotting grid, which extends beyond the data. Right, the posterior: the data, the true
    function, the predictive mean ± 2 std of ``predict(return_std=True)`` and ``n_draws``
    functions of ``sample_posterior``. ``fit`` is the dict of
    :func:`skbnnsde.experiments.toy.fit_toy` after ``toy_metrics``.

    Returns
    -------
    path : Path
        Where the PNG went.
    spread : dict
        The prior functions' mean std over the grid (``prior_function_std``) and the mean
        width of their central 90 % band (``prior_function_q90_width``), in the units of y.
    """
    from .prior import sample_prior

    plt = pyplot()
    est, x = fit["est"], fit["grid"][:, 0]
    prior = sample_prior(est, fit["grid_s"], n_samples=max(n_prior, n_draws), random_state=4)
    q05, q25, q50, q75, q95 = np.percentile(prior, [5, 25, 50, 75, 95], axis=1)
    draws = est.sample_posterior(fit["grid_s"], n_samples=n_draws, random_state=1)
    fig, (ax_p, ax) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    n = prior.shape[1]
    ax_p.fill_between(x, q05, q95, color="tab:purple", alpha=0.15, label=f"5-95 % of {n} prior functions")
    ax_p.fill_between(x, q25, q75, color="tab:purple", alpha=0.25, label="25-75 %")
    ax_p.plot(x, prior[:, :n_draws], color="tab:purple", lw=0.7, alpha=0.6)
    ax_p.plot([], [], color="tab:purple", lw=0.7, label=f"{n_draws} prior functions")
    ax_p.plot(x, q50, color="tab:purple", lw=2, label="prior median")
    ax_p.scatter(fit["X"][:, 0], fit["y"], s=6, color="0.5", zorder=3, label="training data (not seen)")
    lo, hi = min(float(q05.min()), float(fit["y"].min())), max(float(q95.max()), float(fit["y"].max()))
    ax_p.set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    ax_p.set(xlabel="x", ylabel="y", title="prior: before the data")
    ax_p.legend(loc="best", fontsize=8)
    _posterior_panel(ax, fit, draws, n_draws)
    ax.set_title("posterior: after the data")
    fig.suptitle(title, fontsize=11)
    fig.supxlabel(prior_description(est), fontsize=8)
    savefig(fig, path)
    spread = {"prior_function_std": float(prior.std(axis=1).mean()),
              "prior_function_q90_width": float(np.mean(q95 - q05))}
    return path, spread


# ---- classification ----------------------------------------------------------------------


def plot_reliability(y_true, proba, classes, path, *, title: str, n_bins: int = 10):
    """Reliability diagram: accuracy against confidence per bin, with the bin counts."""
    from skbnnsde.metrics import reliability_diagram_data

    plt = pyplot()
    d = reliability_diagram_data(y_true, proba, n_bins=n_bins, labels=classes)
    centers = 0.5 * (d.bin_edges[:-1] + d.bin_edges[1:])
    width = 0.95 * (d.bin_edges[1] - d.bin_edges[0])
    fig, (ax, ax_n) = plt.subplots(2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    acc, conf = np.nan_to_num(d.accuracy), np.nan_to_num(d.confidence)
    ax.bar(centers, acc, width=width, color="tab:blue", edgecolor="k", label="accuracy")
    ax.bar(centers, np.abs(conf - acc), bottom=np.minimum(acc, conf), width=width, color="tab:red",
           alpha=0.35, label="gap to confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1), title=f"{title}\nECE = {d.ece:.4f}")
    ax.legend(loc="upper left", fontsize=8)
    ax_n.bar(centers, d.counts, width=width, color="gray")
    ax_n.set(xlabel="confidence (top-label probability)", ylabel="rows")
    fig.tight_layout()
    return savefig(fig, path)


def plot_cv_scores(labels, mean, std, path, *, title: str, color: str = "tab:blue"):
    """Cross-validated mean test score (± std over the folds) of every grid point, one row each."""
    plt = pyplot()
    rows = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(labels) + 1.5))
    ax.errorbar(mean, rows, xerr=std, fmt="o", color=color, capsize=3)
    ax.set_yticks(rows, labels, fontsize=8)
    ax.set(xlabel="cross-validated mean test log-likelihood (higher is better)", title=title)
    fig.tight_layout()
    return savefig(fig, path)
