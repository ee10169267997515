"""Image classification, the paper's second experiment (``examples/*/sdebnn_classification.py``).

:func:`classification_parser` builds the command line (the original research code's flag
names), :func:`load_image_data` reads digits, MNIST or CIFAR-10, :func:`classification_settings`
turns the flags into ``SDEBNNClassifier`` hyperparameters and :func:`run_classification`
fits, measures (accuracy, NLL, ECE) and draws the reliability diagram.
"""

from __future__ import annotations

import time

import numpy as np

from .cli import add_run_args, fw_dims_type, new_parser, output_dir, parse_dims, quiet_convergence_warnings
from .cli import run_settings, str2bool, write_metrics
from .plotting import plot_reliability

DATASETS = ("digits", "mnist", "cifar10")


def classification_parser(doc: str, *, default_output: str):
    """The flags shared by both engines' classification scripts."""
    from skbnnsde.engines.specs import ACTIVATIONS, SOLVERS

    parser = new_parser(doc)
    g = parser.add_argument_group("data")
    g.add_argument("--data", "--ds", dest="data", default="digits", choices=DATASETS,
                   help="digits: scikit-learn's 8x8 digits (offline, default); mnist / cifar10: the "
                        "standard files under --data-dir (MNIST IDX files, gzipped or not; CIFAR-10 "
                        "python batches)")
    g.add_argument("--data-dir", "--data_dir", dest="data_dir", default=None,
                   help="folder holding the MNIST or CIFAR-10 files (nothing is downloaded)")
    g.add_argument("--subsample", type=int, default=None,
                   help="train on a stratified random subset of this many rows (default: all)")
    g.add_argument("--test-subsample", "--test_subsample", dest="test_subsample", type=int, default=None,
                   help="evaluate on a stratified random subset of this many test rows (default: all)")
    g = parser.add_argument_group("model (original flag -> estimator hyperparameter)")
    g.add_argument("--model", default="sdenet", choices=["sdenet", "resnet"],
                   help='sdenet: the SDE-BNN; resnet: the deterministic baseline with the same network, '
                        'posterior="point" (an ODE-net) (default: %(default)s)')
    g.add_argument("--meanfield_sdebnn", action="store_true",
                   help='mean-field Gaussian weights instead of weight SDEs -> posterior="meanfield"')
    g.add_argument("--arch", default="conv", choices=["conv", "mlp"],
                   help="conv: SDE-BNN blocks of 3x3 convolutions on the images (architecture='conv', "
                        "image_shape=(C, H, W), n_blocks); mlp: one SDE-BNN block on the flattened "
                        "pixels (default: %(default)s)")
    g.add_argument("--nblocks", type=lambda s: parse_dims(s, "--nblocks"), default=None,
                   help="SDE-BNN blocks per stage, dash-separated (2-2-2); a squeeze (space-to-depth) "
                        "between stages -> n_blocks (conv only; default: 1-1, or 1 with --smoke)")
    g.add_argument("--aug", type=int, default=2,
                   help="zero channels (conv) / features (mlp) appended -> aug_dim (default: %(default)s)")
    g.add_argument("--fx_dim", type=lambda s: parse_dims(s, "--fx_dim"), default="16",
                   help="hidden widths of f_h (channels for conv), dash-separated -> hidden_layer_sizes "
                        "(default: %(default)s)")
    g.add_argument("--fx_actfn", default="softplus", choices=ACTIVATIONS,
                   help="activation of f_h -> activation (default: %(default)s)")
    g.add_argument("--fw_dims", type=fw_dims_type, default="1-16-1",
                   help="weight-drift net IN-H...-OUT as in the original: IN and OUT are placeholders "
                        "(f_w maps the flattened weights to themselves), the hidden widths -> "
                        "weight_drift_sizes (default: %(default)s)")
    g.add_argument("--nsteps", type=int, default=None,
                   help="solver steps per block over t in [0, 1] -> n_steps (default: 5)")
    g.add_argument("--method", "--solver", dest="method", default="euler", choices=SOLVERS,
                   help="SDE solver -> solver (default: %(default)s)")
    g.add_argument("--diff_coef", type=float, default=0.1,
                   help="weight diffusion -> diffusion (default: %(default)s)")
    g.add_argument("--kl_coef", type=float, default=1e-3,
                   help="weight of KL / n_train in the loss -> kl_weight (default: %(default)s; "
                        "1 is the true ELBO)")
    g.add_argument("--stl", dest="stl", nargs="?", const=True, default=None, type=str2bool,
                   help="sticking-the-landing gradient -> stl (default: on, off with --adjoint)")
    g.add_argument("--no-stl", dest="stl", action="store_false", help="the same as --stl False")
    g = parser.add_argument_group("training and evaluation")
    g.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate -> learning_rate (default: 1e-2 for conv, 1e-3 for mlp)")
    g.add_argument("--bs", "--batch-size", dest="bs", type=int, default=128,
                   help="minibatch size -> batch_size (default: %(default)s)")
    g.add_argument("--nsamples", type=int, default=1,
                   help="weight paths per training step -> n_mc_samples (default: %(default)s)")
    g.add_argument("--test-nsamples", "--test_nsamples", dest="test_nsamples", type=int, default=8,
                   help="weight paths averaged by predict_proba -> n_predict_samples (default: %(default)s)")
    g.add_argument("--shift", type=int, default=0, metavar="K",
                   help="also train on copies of the training images moved K pixels up, down, left and "
                        "right (5x the rows, skbnnsde.datasets.shift_images; 0: off, the default; its "
                        "effect on digits: benchmarks/results/classification.md)")
    g.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="also log the loss curve and the test metrics as TensorBoard scalars to DIR "
                        "(needs the tensorboard package)")
    add_run_args(parser, max_iter=20, output=default_output,
                 output_aliases=("--output_dir", "--output-dir", "--train-dir", "--train_dir"))
    return parser


def check_classification_args(parser, args) -> None:
    """Reject flag combinations that cannot be honoured, with argparse errors."""
    if args.arch == "mlp" and args.nblocks is not None:
        parser.error("--nblocks applies to --arch conv only")
    if args.model == "resnet" and args.meanfield_sdebnn:
        parser.error("--model resnet (point weights) and --meanfield_sdebnn (mean-field weights) "
                     "exclude each other")
    if args.data != "digits" and args.data_dir is None:
        parser.error(f"--data {args.data} needs --data-dir, the folder that holds the {args.data} files "
                     "(nothing is downloaded)")
    if args.tensorboard is not None and tensorboard_writer_class() is None:
        parser.error("--tensorboard needs the tensorboard package (pip install tensorboard), "
                     "or tensorboardX; neither is installed")


def _stratified_subset(y, n, seed):
    from sklearn.model_selection import train_test_split

    if n is None or n >= len(y):
        return np.arange(len(y))
    stratify = y if n >= len(np.unique(y)) else None
    idx, _ = train_test_split(np.arange(len(y)), train_size=n, random_state=seed, stratify=stratify)
    return np.sort(idx)


def load_image_data(name: str, data_dir=None, *, subsample=None, test_subsample=None, seed=0):
    """Train and test images as float32 arrays ``(n, C, H, W)`` in [0, 1] and integer labels.

    ``digits``: scikit-learn's bundled 8x8 digits, split 75/25 (stratified); ``mnist``:
    :func:`skbnnsde.datasets.load_mnist`; ``cifar10``: :func:`skbnnsde.datasets.load_cifar10`.
    ``subsample`` / ``test_subsample`` keep stratified random subsets of that many rows.
    """
    from skbnnsde.datasets import load_cifar10, load_digits_images, load_mnist

    if name == "digits":
        from sklearn.model_selection import train_test_split

        X, y = load_digits_images()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    elif name in ("mnist", "cifar10"):
        loader = load_mnist if name == "mnist" else load_cifar10
        X_tr, y_tr = loader(data_dir, kind="train", as_float=True)
        X_te, y_te = loader(data_dir, kind="test", as_float=True)
    else:
        raise ValueError(f"unknown data set {name!r}; choose one of {DATASETS}")
    tr = _stratified_subset(y_tr, subsample, seed)
    te = _stratified_subset(y_te, test_subsample, seed + 1)
    return (np.asarray(X_tr[tr], np.float32), np.asarray(y_tr[tr]),
            np.asarray(X_te[te], np.float32), np.asarray(y_te[te]))


def standardize_images(X_train, X_test):
    """Per-channel standardisation with the training set's mean and std; rows flattened (C order)."""
    mean = X_train.mean(axis=(0, 2, 3), keepdims=True)
    std = X_train.std(axis=(0, 2, 3), keepdims=True)
    std = np.where(std > 0, std, 1.0)

    def flat(a):
        return ((a - mean) / std).reshape(a.shape[0], -1).astype(np.float32)

    return flat(X_train), flat(X_test)


def model_name(args) -> str:
    """``sdenet``, ``meanfield`` or ``resnet``: the model part of the output file names."""
    return "meanfield" if args.meanfield_sdebnn else args.model


def classification_settings(args, image_shape) -> dict:
    """Estimator hyperparameters from the classification flags (``--smoke`` shrinks everything)."""
    posterior = {"resnet": "point", "meanfield": "meanfield", "sdenet": "sde"}[model_name(args)]
    stl = (not getattr(args, "adjoint", False)) if args.stl is None else args.stl
    params = dict(
        hidden_layer_sizes=tuple(args.fx_dim),
        activation=args.fx_actfn,
        aug_dim=args.aug,
        weight_drift_sizes=tuple(args.fw_dims),
        posterior=posterior,
        n_steps=args.nsteps if args.nsteps is not None else 5,
        solver=args.method,
        diffusion=args.diff_coef,
        kl_weight=args.kl_coef,
        stl=stl,
        learning_rate=args.lr if args.lr is not None else (1e-2 if args.arch == "conv" else 1e-3),
        batch_size=args.bs,
        n_mc_samples=args.nsamples,
        n_predict_samples=args.test_nsamples,
        **run_settings(args),
    )
    if args.arch == "conv":
        default_blocks = (1,) if args.smoke else (1, 1)
        params.update(architecture="conv", image_shape=tuple(int(s) for s in image_shape),
                      n_blocks=tuple(args.nblocks) if args.nblocks is not None else default_blocks)
    else:
        params["architecture"] = "mlp"
    if args.smoke:
        params.update(hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_steps=2, n_mc_samples=1,
                      n_predict_samples=2, max_iter=1, n_iter_no_change=1)
    return params


def tensorboard_writer_class():
    """``SummaryWriter`` of torch.utils.tensorboard or tensorboardX, or None if neither works."""
    try:
        import tensorboard  # noqa: F401  (torch.utils.tensorboard needs it)
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter
    except ImportError:
        pass
    try:
        from tensorboardX import SummaryWriter

        return SummaryWriter
    except ImportError:
        return None


def log_tensorboard(logdir, est, metrics: dict) -> None:
    """The loss curve (and validation scores) per epoch and the final metrics, as scalars."""
    writer = tensorboard_writer_class()(logdir)
    try:
        for epoch, loss in enumerate(est.loss_curve_, start=1):
            writer.add_scalar("train/loss", loss, epoch)
        for epoch, score in enumerate(est.validation_scores_ or [], start=1):
            writer.add_scalar("validation/score", score, epoch)
        for key in ("accuracy", "nll", "ece"):
            writer.add_scalar(f"test/{key}", metrics[key], est.n_iter_)
        writer.add_scalar("train/accuracy", metrics["train_accuracy"], est.n_iter_)
    finally:
        writer.close()
    print(f"tensorboard scalars written to {logdir} (tensorboard --logdir {logdir})")


def run_classification(args, parser, engine: str, extra_params: dict | None = None) -> dict:
    """Load the images, fit ``SDEBNNClassifier``, print and plot accuracy, NLL and ECE."""
    from skbnnsde import SDEBNNClassifier
    from skbnnsde.engines.specs import ModelSpec
    from skbnnsde.metrics import expected_calibration_error

    quiet_convergence_warnings()
    check_classification_args(parser, args)
    if args.smoke:
        args.subsample = min(args.subsample or 60, 60)
        args.test_subsample = min(args.test_subsample or 40, 40)
    X_tr, y_tr, X_te, y_te = load_image_data(args.data, args.data_dir, subsample=args.subsample,
                                             test_subsample=args.test_subsample, seed=args.seed)
    image_shape = X_tr.shape[1:]
    if args.shift:  # on the [0, 1] pixels, while 0 is the background
        from skbnnsde.datasets import shift_images

        try:
            X_tr, y_tr = shift_images(X_tr, y_tr, image_shape, max_shift=args.shift)
        except ValueError as err:
            parser.error(f"--shift {args.shift}: {err}")
    Xf_tr, Xf_te = standardize_images(X_tr, X_te)
    params = {**classification_settings(args, image_shape), **(extra_params or {})}
    name = model_name(args)
    label = {"resnet": "ODE-net (point weights)", "meanfield": "mean-field", "sdenet": "SDE-BNN"}[name]
    print(f"data={args.data}: train {X_tr.shape[0]} x {image_shape}, test {X_te.shape[0]}; "
          f"model={label}, arch={args.arch}, engine={engine}")
    clf = SDEBNNClassifier(engine=engine, **params)
    out = output_dir(args.output)
    start = time.perf_counter()
    clf.fit(Xf_tr, y_tr)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    proba = clf.predict_proba(Xf_te)
    predict_s = time.perf_counter() - start
    col = np.clip(np.searchsorted(clf.classes_, y_te), 0, len(clf.classes_) - 1)  # classes_ is sorted
    p_true = np.where(clf.classes_[col] == y_te, proba[np.arange(len(y_te)), col], 0.0)
    metrics = {
        "accuracy": float(np.mean(clf.classes_[np.argmax(proba, axis=1)] == y_te)),
        "nll": float(-np.mean(np.log(np.clip(p_true, 1e-12, None)))),
        "ece": float(expected_calibration_error(y_te, proba, labels=clf.classes_, n_bins=10)),
        "train_accuracy": float(clf.score(Xf_tr, y_tr)),
        "fit_seconds": fit_s,
        "predict_seconds": predict_s,
        "epochs": int(clf.n_iter_),
        "n_train": int(len(y_tr)),
        # weights of the network(s) f_h that the SDE moves (every block's)
        "n_weights": int(ModelSpec.from_dict(clf.spec_).n_weights),
    }
    print(f"{clf.n_iter_} epochs in {fit_s:.1f}s (predict {predict_s:.1f}s, "
          f"{params['n_predict_samples']} paths); {metrics['n_weights']} weights in f_h")
    print(f"test accuracy {metrics['accuracy']:.4f}   NLL {metrics['nll']:.4f}   ECE {metrics['ece']:.4f}   "
          f"(train accuracy {metrics['train_accuracy']:.4f})")
    plot_reliability(y_te, proba, clf.classes_, out / f"{args.data}_{name}_reliability.png",
                     title=f"{label} on {args.data} ({engine} engine, {args.arch})")
    write_metrics(out, {**metrics, "data": args.data, "model": name, "arch": args.arch, "engine": engine})
    if args.tensorboard is not None:
        log_tensorboard(args.tensorboard, clf, metrics)
    return metrics
