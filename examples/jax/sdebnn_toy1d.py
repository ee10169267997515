r"""Toy 1-D regression with an SDE-BNN on the JAX engine (the paper's toy experiments).

Fits ``SDEBNNRegressor(engine="jax")`` on one of the paper's toy sets (``cos``, ``cos2``,
``coscos``, ``b20``, ``b40``, ``b40gap``), prints the train RMSE, the test log-likelihood
and the ratio of the predictive std away from the data (gaps and margins) to the std on
it, and saves three PNGs to ``--output``:

* ``<ds>_predictive.png``: data, true function, posterior predictive mean ± 2 std,
  functions drawn with ``sample_posterior``, and the training loss;
* ``<ds>_dynamics.png``: hidden units and weights over the depth ``t`` under several
  posterior weight paths (the paper's dynamics figure);
* ``<ds>_prior_posterior.png``: the paper's toy figure: functions drawn from the prior
  (weights ``w(0)`` from their Gaussian prior, paths ``w(t)`` from the prior SDE, the
  read-out from its initialisation; they fan out away from the middle of the inputs)
  beside the posterior (data, predictive mean ± 2 std, ``sample_posterior`` functions).

The flags keep the original research code's names (``--ds``, ``--activn``, ``--loss``,
``--kl_scale``, ``--diff_const``, ``--aug_dim``, ``--stl``, ``--prior_dw``,
``--num_samples``, ``--output``); ``--help`` says which hyperparameter each one sets.

    python examples/jax/sdebnn_toy1d.py
    python examples/jax/sdebnn_toy1d.py --ds cos --activn swish --loss laplace --kl_scale 1. \
        --diff_const 0.2 --driftw_scale 0.1 --aug_dim 2 --stl --prior_dw ou --output results/toy_jax
    python examples/jax/sdebnn_toy1d.py --ds b40gap --loss mse --max_iter 600 --num_samples 100
    python examples/jax/sdebnn_toy1d.py --smoke --output /tmp/toy_jax
"""

from __future__ import annotations

from pathlib import Path

from skbnnsde.experiments.cli import require_engine, write_metrics
from skbnnsde.experiments.toy import run_toy, toy_parser

ENGINE = "jax"


def build_parser():
    parser = toy_parser(__doc__, default_output="results/toy1d_jax")
    g = parser.add_argument_group("JAX engine")
    g.add_argument("--remat", action="store_true",
                   help="recompute solver steps in the backward pass to save memory -> remat")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    require_engine(parser, ENGINE)
    fit, metrics = run_toy(args, ENGINE, extra_params={"remat": args.remat})
    write_metrics(Path(args.output), metrics)
    return metrics


if __name__ == "__main__":
    main()
