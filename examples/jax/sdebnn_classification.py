r"""Image classification with an SDE-BNN on the JAX engine (the paper's MNIST/CIFAR-10 setup).

Fits ``SDEBNNClassifier(engine="jax")`` on images, prints the test accuracy, negative
log-likelihood (NLL) and expected calibration error (ECE), and saves a reliability
diagram ``<data>_<model>_reliability.png`` and ``metrics.json`` to ``--output``.

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
pixels. The flags keep the original code's names; ``--help`` says which hyperparameter
each one sets.

    python examples/jax/sdebnn_classification.py
    python examples/jax/sdebnn_classification.py --arch mlp --max-iter 30
    python examples/jax/sdebnn_classification.py --model sdenet --aug 2 --nblocks 2-2-2 --diff_coef 0.2 \
        --fx_dim 64 --fw_dims 2-64-2 --nsteps 20 --nsamples 1 --output results/cls_jax
    python examples/jax/sdebnn_classification.py --model resnet --output results/cls_jax_ode
    python examples/jax/sdebnn_classification.py --shift 1 --max-iter 24 --output results/cls_jax_shift
    python examples/jax/sdebnn_classification.py --data mnist --data-dir ~/data/mnist \
        --subsample 5000 --test-subsample 2000
    python examples/jax/sdebnn_classification.py --smoke --arch mlp --output /tmp/cls_jax
"""

from __future__ import annotations

from skbnnsde.experiments.classification import classification_parser, run_classification
from skbnnsde.experiments.cli import require_engine

ENGINE = "jax"


def build_parser():
    parser = classification_parser(__doc__, default_output="results/classification_jax")
    g = parser.add_argument_group("JAX engine")
    g.add_argument("--remat", action="store_true",
                   help="recompute solver steps in the backward pass to save memory -> remat")
    g.add_argument("--acc_grad", type=int, default=1,
                   help="split each minibatch into this many parts, accumulating gradients -> "
                        "grad_accumulation (default: %(default)s)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    require_engine(parser, ENGINE)
    if args.acc_grad < 1:
        parser.error("--acc_grad must be >= 1")
    extra = {"remat": args.remat, "grad_accumulation": args.acc_grad}
    return run_classification(args, parser, ENGINE, extra_params=extra)


if __name__ == "__main__":
    main()
