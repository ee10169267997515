"""What ``n_ensembles`` members cost: fit time against a single model, and members trained together.

Two measurements, side by side in one process, repeats alternating so both see the same load:

1. ``SDEBNNRegressor(n_ensembles=M).fit`` against ``n_ensembles=1`` on the same rows (the
   estimator trains the members one after another), for each engine in ``--engines``.
2. The design alternative, JAX only: the engine's compiled epoch ``jax.vmap``-ed over ``M``
   members' parameters, Adam states and keys (one program for all members), against the same
   epoch run ``M`` times in turn. It uses the JAX engine's internals
   (``train._compiled_epoch``, ``train._epoch_arrays``): it measures a way of computing the
   ensemble the estimators do not ship, to show whether it would be faster on this machine.

Data: ``--rows`` rows of synthetic ``sine_regression`` data with ``--n-features`` columns
(the size of a small UCI set), the estimator defaults otherwise (``max_iter`` from
``--max-iter``; ``laplace=False`` so the time is the training's).

Command used for ``benchmarks/results/ensembles.md`` (from the repository root)::

    python -m benchmarks.ensembles --output benchmarks/results/ensembles.md

Tiny smoke run::

    python -m benchmarks.ensembles --rows 64 --max-iter 2 --epochs 2 --repeats 1 --engines jax --output /tmp/ens.md
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from . import _common as C


def _fit_seconds(engine: str, members: int, X, y, max_iter: int) -> float:
    from skbnnsde import SDEBNNRegressor

    est = SDEBNNRegressor(engine=engine, n_ensembles=members, max_iter=max_iter, laplace=False, random_state=0)
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


def _epoch_programs(members: int, X, y):
    """``(run_in_turn, run_vmapped)``: functions of a number of epochs, timing the two ways (JAX)."""
    import jax
    import jax.numpy as jnp

    from skbnnsde.engines.jax import train as T
    from skbnnsde.engines.params import init_params
    from skbnnsde.engines.specs import ModelSpec, TrainSpec

    spec, train = ModelSpec(n_features=X.shape[1], n_outputs=1), TrainSpec()
    n = X.shape[0]
    batch = train.batch_size_for(n)
    epoch, optimizer = T._compiled_epoch(spec, train.n_mc_samples, 1, False, 0.0)
    Xb, yb, mb, wb = T._epoch_arrays(T._rows(spec, X), T._targets(spec, y[:, None]),
                                     [np.arange(i, min(i + batch, n)) for i in range(0, n, batch)],
                                     T._pad_rows(n, batch, 1))
    dtype = np.float32
    lrs, kl, n_train = np.full(len(Xb), 0.01, dtype), dtype(1.0), dtype(n)
    params = [T._to_jax(spec, init_params(spec, m)) for m in range(members)]
    states = [optimizer.init(p) for p in params]
    keys = [jax.random.PRNGKey(m) for m in range(members)]

    def in_turn(epochs):
        for p, s, k in zip(params, states, keys):
            for _ in range(epochs):
                p, s, k, losses = epoch(p, s, k, Xb, yb, mb, wb, lrs, kl, n_train)
            jax.block_until_ready(losses)

    stack = lambda trees: jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trees)  # noqa: E731
    vmapped = jax.jit(jax.vmap(epoch, in_axes=(0, 0, 0, 0, 0, 0, 0, None, None, None)))
    per_member = [jnp.broadcast_to(jnp.asarray(a), (members, *a.shape)) for a in (Xb, yb, mb, wb)]

    def together(epochs):
        p, s, k = stack(params), stack(states), jnp.stack(keys)
        for _ in range(epochs):
            p, s, k, losses = vmapped(p, s, k, *per_member, lrs, kl, n_train)
        jax.block_until_ready(losses)

    in_turn(1)  # compile both before timing
    together(1)
    return in_turn, together


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ensembles", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5, help="ensemble members M")
    parser.add_argument("--rows", type=int, default=364, help="training rows (boston's training split: 364)")
    parser.add_argument("--n-features", type=int, default=13)
    parser.add_argument("--max-iter", type=int, default=100, help="epochs of every estimator fit")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the epoch-program comparison")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engines", default="jax,torch")
    parser.add_argument("--output", default=str(C.RESULTS_DIR / "ensembles.md"))
    args = parser.parse_args(argv)
    started = C.now()
    X, y = C.sine_regression(args.rows, args.n_features, seed=0)
    engines = C.parse_list(args.engines)
    M = args.members

    fits = {(e, m): [] for e in engines for m in (1, M)}
    for e in engines:  # imports and compilation before timing
        _fit_seconds(e, 1, X, y, 1)
    for r in range(args.repeats):
        for e in engines:
            for m in (1, M):
                fits[(e, m)].append(_fit_seconds(e, m, X, y, args.max_iter))
                C.log(f"repeat {r} {e} n_ensembles={m}: fit {fits[(e, m)][-1]:.2f} s")
    programs = {}
    if "jax" in engines:
        in_turn, together = _epoch_programs(M, X, y)
        single, _ = _epoch_programs(1, X, y)
        programs = {"one member": [], f"{M} members in turn": [], f"{M} members vmapped": []}
        for r in range(args.repeats):
            programs["one member"].append(_timed(single, args.epochs))
            programs[f"{M} members in turn"].append(_timed(in_turn, args.epochs))
            programs[f"{M} members vmapped"].append(_timed(together, args.epochs))
            C.log(f"repeat {r} epochs: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in programs.items()))

    med = {k: float(np.median(v)) for k, v in fits.items()}
    rows = [[e, f"{med[(e, 1)]:.2f}", f"{med[(e, M)]:.2f}", f"{med[(e, M)] / med[(e, 1)]:.2f}"] for e in engines]
    text = C.header("Ensemble cost (`n_ensembles`)", argv, started, prog="benchmarks.ensembles")
    text += (f"\n- data: {args.rows} rows x {args.n_features} features (`sine_regression`); estimator defaults, "
             f"`max_iter={args.max_iter}`, `laplace=False`; median over {args.repeats} alternating repeats\n\n")
    text += f"## Fit time, {M} members against one\n\n"
    text += C.md_table(["engine", "n_ensembles=1 s", f"n_ensembles={M} s", "ratio"], rows)
    if programs:
        base = float(np.median(programs["one member"]))
        prog_rows = [[k, f"{np.median(v):.2f}", f"{np.median(v) / base:.2f}"] for k, v in programs.items()]
        text += (f"\n\n## JAX: {args.epochs} epochs of the compiled training program\n\n"
                 "The members trained in turn (what the estimator does) against one `jax.vmap`-ed "
                 "program for all members.\n\n")
        text += C.md_table(["program", "s", "ratio to one member"], prog_rows)
    C.write_text(args.output, text + "\n")
    print(text)
    return med


if __name__ == "__main__":
    main()
