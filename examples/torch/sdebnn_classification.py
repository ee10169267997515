r"""Image classification with an SDE-BNN on the PyTorch engine (the paper's MNIST/CIFAR-10 setup).

Fits ``SDEBNNClassifier(engine="torch")`` on images, prints the test accuracy, negative
log-likelihood (NLL) and expected calibration error (ECE), and saves a reliability
diagram ``<data>_<model>_reliability.png`` and ``metrics.json`` to ``--output``;
``--tensorboard DIR`` also logs the loss curve and the metrics as TensorBoard scalars.

Data: scikit-learn's 8x8 digits by default (offline, 1x8x8 images); ``--data mnist`` or
``--data cifar10`` with ``--data-dir`` read the standard files you downloaded (MNIST IDX
files, gzipped or not; CIFAR-10 "python version" pickle batches) through
``skbnnsde.datasets``; nothing is downloaded. Pixels are standardised per channel.

Models: ``--model sdenet`` is the SDE-BNN (``posterior="sde"``), ``--meanfield_sdebnn`` the
same network with mean-field Gaussian weights (``posterior="meanfield"``), and
``--model resnet`` the deterministic baseline (``posterior="point"``: the same
continuous-depth network with point weights, an ODE-net, where the original used a
ResNet-32). ``--arch conv`` (default) stacks SDE-BNN blocks of 3x3 convolutions with a
squeeze between stages (``--nblocks 2-2-2``); ``--arch mlp`` is one block on the flattened
pixels.

The original torch script's solver flags map as follows: ``--dt`` sets
``n_steps = round(1 / dt)``, ``--method`` the solver, ``--adjoint`` the stochastic adjoint,
``--inhomogeneous`` whether the weight drift sees ``t`` (``time_dependent_drift``). The
estimators integrate on a fixed grid, so ``--adaptive`` and ``--adjoint_adaptive`` are
refused with an error rather than ignored.

    python examples/torch/sdebnn_classification.py
    python examples/torch/sdebnn_classification.py --arch mlp --max-iter 30 --tensorboard runs/digits
    python examples/torch/sdebnn_classification.py --dt 0.05 --method midpoint --adjoint True \
        --inhomogeneous True --output results/cls_torch
    python examples/torch/sdebnn_classification.py --data cifar10 --data-dir ~/data/cifar10 \
        --subsample 5000 --test-subsample 2000 --dt 0.1
    python examples/torch/sdebnn_classification.py --smoke --arch mlp --output /tmp/cls_torch
"""

from __future__ import annotations

from skbnnsde.experiments.classification import classification_parser, run_classification
from skbnnsde.experiments.cli import add_bool_flag, require_engine

ENGINE = "torch"


def build_parser():
    parser = classification_parser(__doc__, default_output="results/classification_torch")
    g = parser.add_argument_group("PyTorch engine (the original torch script's flags)")
    g.add_argument("--dt", type=float, default=None,
                   help="solver step on t in [0, 1]: n_steps = round(1 / dt) "
                        "(give --dt or --nsteps, not both)")
    add_bool_flag(g, "--adjoint", False,
                  "stochastic adjoint gradients (memory constant in the number of steps) -> adjoint; "
                  "turns sticking-the-landing off unless --stl is given (they exclude each other)")
    add_bool_flag(g, "--inhomogeneous", True,
                  "the weight drift f_w also sees t -> time_dependent_drift (default: True)")
    add_bool_flag(g, "--adaptive", False,
                  "adaptive step sizes: NOT supported (the estimators use a fixed grid); "
                  "giving it is an error")
    add_bool_flag(g, "--adjoint_adaptive", False,
                  "adaptive steps in the adjoint pass: NOT supported; giving it is an error")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    require_engine(parser, ENGINE)
    for flag in ("adaptive", "adjoint_adaptive"):
        if getattr(args, flag):
            parser.error(f"--{flag} is not supported: SDEBNNClassifier integrates on a fixed grid of n_steps "
                         "steps (set the step with --dt or --nsteps)")
    if args.dt is not None:
        if args.nsteps is not None:
            parser.error("give --dt or --nsteps, not both")
        if not 0 < args.dt <= 1:
            parser.error("--dt must be in (0, 1]")
        args.nsteps = max(1, round(1.0 / args.dt))
    if args.adjoint and args.stl:
        parser.error("--adjoint and --stl exclude each other: sticking the landing needs the whole weight "
                     "path, which the adjoint does not keep")
    return run_classification(args, parser, ENGINE, extra_params={
        "adjoint": args.adjoint,
        "time_dependent_drift": args.inhomogeneous,
    })


if __name__ == "__main__":
    main()
