r"""The bimodal 1-D variational SDE of the original paper's torch demo (``examples/*/sde_bimodal.py``).

Not an SDE-BNN and not an estimator: a one-dimensional latent SDE whose posterior over paths
is fitted by variational inference, to show that ``torchsde`` and ``jaxsde`` posteriors can be
multimodal. The model, the same in both scripts:

* prior: ``dz = -theta z dt + sigma dB`` (Ornstein–Uhlenbeck) on ``t`` in ``[0, T]``,
  ``z(0) ~ N(0, z0_std^2)``;
* posterior: ``dz = (-theta z + f(t, z)) dt + sigma dB``, the same ``z(0)`` distribution and
  diffusion; ``f`` is a small MLP on ``[z, t]``;
* likelihood: a Cauchy of scale 1 centred at ``z(T)`` at each observation ``y`` in ``{+5, -5}``;
* KL between the path measures (Girsanov): ``0.5 * ∫ (f(t, z) / sigma)^2 dt`` along each path
  (``z(0)`` has the same law under both, so it adds nothing);
* objective: the importance-weighted bound over ``K`` paths, ``log mean_k exp(log p(y | z_k(T))
  - kl_weight * KL_k)``, maximised with Adam.

The exact posterior of ``z(T)`` puts mass near both observations; so does the
``kl_weight``-tempered target ``p(z(T)) p(y | z(T))^(1 / kl_weight)`` (:func:`target_density`)
that the weighted bound aims at. This module holds what the two scripts share and does not
depend on a framework: the settings (:class:`BimodalSpec`), the command line
(:func:`bimodal_parser`), the measurement of the modes (:func:`measure_modes`), the figure
(:func:`plot_bimodal`) and the report (:func:`report`). It imports NumPy only;
matplotlib when a figure is drawn.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .cli import add_run_args, new_parser, output_dir, write_metrics

#: what the issue asks of the full run: at least this share of the samples on each side of 0 ...
MIN_FRACTION = 0.25
#: ... and each side's mean within this distance of its observation
MODE_TOLERANCE = 1.0


@dataclass(frozen=True)
class BimodalSpec:
    """The demo's settings: the original's values, except what it left open (``width``, ``seed``).

    ``n_steps`` Euler steps of ``t1 / n_steps`` cover ``[0, t1]``.
    """

    t1: float = 3.0
    n_steps: int = 100
    z0_std: float = 3.0
    theta: float = 0.1
    sigma: float = math.sqrt(2.0)
    observations: tuple = (5.0, -5.0)
    cauchy_scale: float = 1.0
    kl_weight: float = 0.2 / 3.0
    n_iw: int = 20
    lr: float = 2e-3
    n_iters: int = 300
    width: int = 32
    n_samples: int = 1000
    seed: int = 0

    @property
    def dt(self) -> float:
        return self.t1 / self.n_steps


def bimodal_parser(doc: str, engine: str):
    """The scripts' flags: the shared ones of :func:`~skbnnsde.experiments.cli.add_run_args`, and the demo's."""
    parser = new_parser(doc)
    g = parser.add_argument_group("the demo (defaults: the original's settings)")
    g.add_argument("--lr", type=float, default=BimodalSpec.lr, help="Adam learning rate (default: %(default)s)")
    g.add_argument("--width", type=int, default=BimodalSpec.width,
                   help="hidden width of the posterior drift net f(t, z), two hidden layers (default: %(default)s)")
    g.add_argument("--num_samples", type=int, default=BimodalSpec.n_samples,
                   help="samples of z(T) drawn from the trained posterior and measured (default: %(default)s)")
    g.add_argument("--results", default=None, metavar="PATH",
                   help="also write the measurement into this Markdown file (one row per engine, the "
                        "other engine's row is kept), e.g. benchmarks/results/bimodal.md")
    add_run_args(parser, max_iter=BimodalSpec.n_iters, output=f"results/bimodal_{engine}",
                 output_help="output folder for the PNG and metrics.json")
    return parser


def spec_from_args(args) -> BimodalSpec:
    """The settings of the flags; ``--smoke`` trains 3 steps and measures 100 samples."""
    if args.smoke:
        return BimodalSpec(lr=args.lr, n_iters=3, width=8, n_samples=100, seed=args.seed)
    return BimodalSpec(lr=args.lr, n_iters=args.max_iter, width=args.width, n_samples=args.num_samples,
                       seed=args.seed)


def cauchy_log_likelihood(z_t, spec: BimodalSpec) -> np.ndarray:
    """``sum_y log Cauchy(y; z(T), scale)`` over the observations, for each entry of ``z_t`` (NumPy).

    Examples
    --------
    >>> round(float(cauchy_log_likelihood(np.array([5.0]), BimodalSpec())[0]), 4)  # -log(pi) - log(101 pi)
    -6.9046
    """
    z = np.asarray(z_t, dtype=np.float64)[..., None]
    r = (np.asarray(spec.observations) - z) / spec.cauchy_scale
    return np.sum(-np.log(np.pi * spec.cauchy_scale) - np.log1p(r**2), axis=-1)


def prior_std_at_t1(spec: BimodalSpec) -> float:
    """Standard deviation of ``z(T)`` under the prior: OU from ``N(0, z0_std^2)``.

    Examples
    --------
    >>> round(prior_std_at_t1(BimodalSpec()), 3)
    3.074
    """
    decay = math.exp(-2.0 * spec.theta * spec.t1)
    return math.sqrt(spec.z0_std**2 * decay + spec.sigma**2 / (2.0 * spec.theta) * (1.0 - decay))


def target_density(z, spec: BimodalSpec, tempered: bool = True) -> np.ndarray:
    """Density of ``z(T)`` under the posterior the objective aims at, on a grid ``z`` (normalised on it).

    ``tempered=True``: ``p(z(T)) p(y | z(T))^(1 / kl_weight)``, the optimum of the
    ``kl_weight``-weighted bound; ``False``: the exact Bayes posterior ``p(z(T)) p(y | z(T))``.
    """
    z = np.asarray(z, dtype=np.float64)
    power = 1.0 / spec.kl_weight if tempered else 1.0
    log_d = -0.5 * (z / prior_std_at_t1(spec)) ** 2 + power * cauchy_log_likelihood(z, spec)
    d = np.exp(log_d - log_d.max())
    return d / np.sum(0.5 * (d[1:] + d[:-1]) * np.diff(z))  # the trapezoid rule (numpy 1.x has no trapezoid)


def measure_modes(z_t) -> dict:
    """Share of the samples on each side of 0 and the mean of each side.

    Parameters
    ----------
    z_t : array-like of shape (n_samples,)
        Samples of ``z(T)``.

    Returns
    -------
    dict
        ``n``, ``fraction_positive`` (``z > 0``), ``fraction_negative`` (``z < 0``),
        ``mean_positive``, ``mean_negative`` (NaN for an empty side).

    Examples
    --------
    >>> m = measure_modes([4.0, 6.0, -5.0, 0.0])
    >>> m["fraction_positive"], m["fraction_negative"], m["mean_positive"], m["mean_negative"]
    (0.5, 0.25, 5.0, -5.0)
    """
    z = np.asarray(z_t, dtype=np.float64).ravel()
    if z.size == 0:
        raise ValueError("measure_modes needs at least one sample")
    pos, neg = z > 0, z < 0
    return {
        "n": int(z.size),
        "fraction_positive": float(pos.mean()),
        "fraction_negative": float(neg.mean()),
        "mean_positive": float(z[pos].mean()) if pos.any() else float("nan"),
        "mean_negative": float(z[neg].mean()) if neg.any() else float("nan"),
    }


def meets_target(modes: dict, observations=(5.0, -5.0), min_fraction: float = MIN_FRACTION,
                 tolerance: float = MODE_TOLERANCE) -> bool:
    """Whether both sides hold ``min_fraction`` of the samples, their means within ``tolerance`` of ±5.

    Examples
    --------
    >>> meets_target(measure_modes([4.5] * 40 + [-5.2] * 60)), meets_target(measure_modes([5.0] * 80 + [-5.0] * 20))
    (True, False)
    """
    pos_obs, neg_obs = max(observations), min(observations)
    return bool(modes["fraction_positive"] >= min_fraction and modes["fraction_negative"] >= min_fraction
                and abs(modes["mean_positive"] - pos_obs) <= tolerance
                and abs(modes["mean_negative"] - neg_obs) <= tolerance)


def plot_bimodal(ts, paths, z_t, losses, spec: BimodalSpec, path, *, title: str):
    """Posterior sample paths of ``z(t)``, the histogram of ``z(T)`` and the training loss; saved as a PNG.

    Parameters
    ----------
    ts : array of shape (n_steps + 1,)
    paths : array of shape (n_paths, n_steps + 1)
        Posterior paths on ``ts``, coloured by the sign of ``z(T)``.
    z_t : array of shape (n_samples,)
        Posterior samples of ``z(T)`` for the histogram.
    losses : sequence of float
        The negative bound at each training step.
    """
    from .plotting import pyplot, savefig

    plt = pyplot()
    fig, (ax, ax_h, ax_l) = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained",
                                         gridspec_kw={"width_ratios": [2.2, 1.3, 1]})
    paths = np.asarray(paths)
    for p in paths:
        ax.plot(ts, p, lw=0.7, alpha=0.6, color="tab:red" if p[-1] > 0 else "tab:blue")
    for y in spec.observations:
        ax.plot(ts[-1], y, "kx", ms=10, mew=2)
    ax.plot([], [], "kx", ms=8, mew=2, label="observations of z(T)")
    ax.set(xlabel="t", ylabel="z(t)", title=f"{len(paths)} posterior paths (colour: sign of z(T))")
    ax.legend(loc="upper left", fontsize=8)
    z_t = np.asarray(z_t)
    lim = max(8.0, float(np.percentile(np.abs(z_t), 99.5)) + 1.0)
    grid = np.linspace(-lim, lim, 801)
    heights, _, _ = ax_h.hist(z_t, bins=np.linspace(-lim, lim, 81), density=True, color="tab:purple", alpha=0.6,
                              label=f"{z_t.size} posterior samples")
    tempered, exact = target_density(grid, spec), target_density(grid, spec, tempered=False)
    top = 1.4 * max(float(heights.max()), float(exact.max()))
    clipped = " (peaks clipped)" if tempered.max() > top else ""
    ax_h.plot(grid, tempered, "k-", lw=1.2, label="tempered target" + clipped)
    ax_h.plot(grid, exact, "k:", lw=1.2, label="exact posterior")
    ax_h.set_ylim(0, top)
    m = measure_modes(z_t)
    ax_h.set(xlabel="z(T)", ylabel="density",
             title=f"z(T): {m['fraction_negative']:.0%} < 0, {m['fraction_positive']:.0%} > 0")
    ax_h.legend(loc="upper center", fontsize=7, framealpha=0.9)
    ax_l.plot(np.arange(1, len(losses) + 1), losses, lw=0.8)
    ax_l.set(xlabel="training step", ylabel="- importance-weighted bound", title="training")
    fig.suptitle(title, fontsize=10)
    return savefig(fig, path)


def _git_rev() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


_RESULTS_HEAD = """# The bimodal variational SDE (the original torch demo), both solver libraries

A 1-D latent SDE, not an estimator: `z(0) ~ N(0, 3^2)`, prior drift `-0.1 z`, diffusion `sqrt(2)`
on `t` in `[0, 3]` (100 Euler steps), a Cauchy likelihood of scale 1 at the observations +5 and -5
of `z(T)`, KL weight 0.2/3, an importance-weighted bound over 20 paths, Adam at 2e-3 for 300
steps; the posterior drift adds an MLP `f(t, z)` to the prior's (see
`skbnnsde/experiments/bimodal.py`). Measured on 1,000 samples of `z(T)` from the trained
posterior. Target (issue 13): each side of 0 holds >= 25 % of the samples, and each side's mean is
within 1 of its observation.

Written by `python examples/<engine>/sde_bimodal.py --results benchmarks/results/bimodal.md`
(one row per engine; a run replaces its engine's row). `train s`: the 300 Adam steps (for jax,
with the compilation); `total s`: from the parsed command line to the saved files, without
Python's start and the imports. The scripts' docstrings say what else was tried (other widths,
initialisations and seeds) and what it gave.

"""
_RESULTS_COLUMNS = ("engine", "seed", "width", "steps", "z(T) < 0", "z(T) > 0", "mean < 0", "mean > 0",
                    "target met", "train s", "total s", "date", "machine", "commit")


def write_results(path, engine: str, metrics: dict, spec: BimodalSpec) -> Path:
    """Put this run's row into the Markdown table at ``path``, keeping the other engines' rows."""
    path = Path(path)
    rows = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("| ") and cells[0] not in ("engine", "---"):
                rows[cells[0]] = line
    try:
        load = "load %.1f, " % os.getloadavg()[0]
    except OSError:
        load = ""
    machine = f"{platform.machine()}, {os.cpu_count()} cores ({load}shared)"
    rows[engine] = "| " + " | ".join([
        engine, str(spec.seed), str(spec.width), str(spec.n_iters),
        f"{metrics['fraction_negative']:.1%}", f"{metrics['fraction_positive']:.1%}",
        f"{metrics['mean_negative']:+.2f}", f"{metrics['mean_positive']:+.2f}",
        "yes" if metrics["target_met"] else "**no**",
        f"{metrics['train_seconds']:.1f}", f"{metrics['total_seconds']:.1f}",
        time.strftime("%Y-%m-%d"), machine, _git_rev(),
    ]) + " |"
    path.parent.mkdir(parents=True, exist_ok=True)
    table = ["| " + " | ".join(_RESULTS_COLUMNS) + " |", "|" + " --- |" * len(_RESULTS_COLUMNS)]
    path.write_text(_RESULTS_HEAD + "\n".join(table + [rows[k] for k in sorted(rows)]) + "\n")
    print(f"wrote {path}")
    return path


def report(args, engine: str, spec: BimodalSpec, *, ts, paths, z_t, losses, train_seconds: float,
           started: float) -> dict:
    """Measure the modes of ``z_t``, print them, draw the figure, write ``metrics.json`` (and ``--results``).

    Returns the metrics: those of :func:`measure_modes`, ``target_met``, ``train_seconds``,
    ``total_seconds``, ``final_loss`` and the settings.
    """
    modes = measure_modes(z_t)
    metrics = {**modes, "target_met": meets_target(modes, spec.observations), "engine": engine,
               "train_seconds": float(train_seconds), "final_loss": float(np.mean(losses[-10:])),
               **{k: v for k, v in asdict(spec).items() if k in ("seed", "width", "n_iters", "lr")}}
    print(f"[{engine}] {spec.n_iters} Adam steps in {train_seconds:.1f}s, final -bound {metrics['final_loss']:.3f}")
    print(f"z(T) over {modes['n']} posterior samples: {modes['fraction_negative']:.1%} < 0 "
          f"(mean {modes['mean_negative']:+.2f}), {modes['fraction_positive']:.1%} > 0 "
          f"(mean {modes['mean_positive']:+.2f}); target (>= {MIN_FRACTION:.0%} each side, means "
          f"within {MODE_TOLERANCE} of ±5) {'met' if metrics['target_met'] else 'NOT met'}")
    out = output_dir(args.output)
    plot_bimodal(ts, paths, z_t, losses, spec, out / f"bimodal_{engine}.png",
                 title=f"Variational SDE posterior with two Cauchy observations ({engine}, "
                       f"{'torchsde' if engine == 'torch' else 'jaxsde'}; seed {spec.seed})")
    metrics["total_seconds"] = time.perf_counter() - started
    write_metrics(out, metrics)
    if args.results:
        write_results(args.results, engine, metrics, spec)
    print(f"total {metrics['total_seconds']:.1f}s")
    return metrics
