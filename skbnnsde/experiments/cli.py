"""Command-line conventions shared by the example scripts.

Every example takes:

* ``--max-iter N`` (also spelled ``--max_iter`` and ``--epochs``): training epochs;
* ``--smoke``: a tiny budget that runs end to end in seconds (the tests use it; the
  numbers it prints mean nothing);
* ``--seed S``;
* ``--output PATH``: where the PNGs (and ``metrics.json``) go. For the scripts that write
  several files it is a folder (``--output_dir`` is the same flag); for ``quickstart.py``,
  ``pipeline_gridsearch.py`` and ``distributed_search.py`` it is the PNG (or a folder).

The experiments' own flags keep the names of the paper's research code (``--ds``,
``--activn``, ``--fw_dims``, ...), including its ``--flag True`` style for booleans.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np


def str2bool(text) -> bool:
    """``"True"``/``"false"``/``"1"``/``"no"`` ... -> bool (the original ``--flag True`` style).

    Examples
    --------
    >>> str2bool("True"), str2bool("no")
    (True, False)
    """
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in {"1", "true", "t", "yes", "y", "on"}:
        return True
    if value in {"0", "false", "f", "no", "n", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (True/False), got {text!r}")


def add_bool_flag(parser, name: str, default, help: str):
    """``--name``, ``--name True|False`` (the original scripts' style) and ``--no-name``."""
    dest = name.lstrip("-").replace("-", "_")
    parser.add_argument(name, dest=dest, nargs="?", const=True, default=default, type=str2bool, help=help)
    parser.add_argument(f"--no-{dest.replace('_', '-')}", dest=dest, action="store_false",
                        help=f"the same as {name} False")


def parse_dims(text: str, what: str = "dims") -> tuple:
    """``"2-64-2"`` -> ``(2, 64, 2)``; raises ``argparse.ArgumentTypeError`` when malformed.

    Examples
    --------
    >>> parse_dims("2-64-2")
    (2, 64, 2)
    """
    message = f"{what} must be dash-separated positive ints like 2-64-2, got {text!r}"
    try:
        dims = tuple(int(part) for part in str(text).split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(message) from None
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(message)
    return dims


def fw_dims_type(text: str) -> tuple:
    """The original ``--fw_dims IN-H1-...-OUT`` -> ``weight_drift_sizes=(H1, ...)`` (an argparse type).

    In the original code the first and last entries of ``fw_dims`` were placeholders: the
    weight-drift network ``f_w`` always maps the flattened weights (plus ``t``) back to the
    flattened weights, so its input and output widths are fixed by the model. Only the
    hidden widths are free; they become ``weight_drift_sizes``. A single number (``64``) is
    read as one hidden layer of that width.

    Examples
    --------
    >>> fw_dims_type("2-64-32-2"), fw_dims_type("64")
    ((64, 32), (64,))
    """
    dims = parse_dims(text, "--fw_dims")
    if len(dims) == 1:
        return dims
    if len(dims) == 2:
        raise argparse.ArgumentTypeError(
            f"--fw_dims {text} has no hidden layer: give IN-H-OUT (e.g. 2-64-2) or H")
    return tuple(dims[1:-1])


def add_run_args(parser, *, max_iter: int, output: str,
                 output_help: str = "output folder for the PNGs and metrics.json",
                 output_aliases: tuple = ("--output_dir", "--output-dir")):
    """The flags every example shares: budget, seed, output, verbosity."""
    parser.add_argument("--max-iter", "--max_iter", "--epochs", dest="max_iter", type=int, default=max_iter,
                        help="training epochs (default: %(default)s)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny budget (a few epochs of a tiny model on little data): checks that the "
                             "script runs end to end in seconds; the printed numbers mean nothing")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--output", *output_aliases, dest="output", default=output,
                        help=f"{output_help} (default: %(default)s)")
    parser.add_argument("--verbose", action="store_true", help="print the training loss every epoch")


def run_settings(args) -> dict:
    """Estimator hyperparameters of the flags of :func:`add_run_args`: the full budget, seed, verbosity."""
    return dict(
        max_iter=args.max_iter,
        n_iter_no_change=max(args.max_iter, 1),  # train the full budget, like the original code
        verbose=int(args.verbose),
        random_state=args.seed,
    )


def usage_block(doc: str) -> str:
    """The indented ``python examples/...`` commands of a script's docstring, for ``--help``."""
    lines, continued = [], False
    for line in doc.splitlines():
        if line.startswith("    python ") or continued:
            lines.append(line)
        continued = bool(lines) and lines[-1] is line and line.endswith("\\")
    return "examples:\n" + "\n".join(lines) if lines else ""


def new_parser(doc: str) -> argparse.ArgumentParser:
    """A parser whose description is the docstring's first paragraph and whose epilog its usage lines."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=usage_block(doc),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def require_engine(parser, engine: str) -> None:
    """Exit with a clear message when ``engine`` is not installed."""
    from skbnnsde.engines import is_installed

    if not is_installed(engine):
        parser.exit(2, f"{parser.prog}: the {engine} engine is not installed: "
                       f"pip install 'skbnnsde[{engine}]'\n")


def quiet_convergence_warnings() -> None:
    """The examples train for a fixed number of epochs on purpose; hide sklearn's reminder."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def output_dir(path) -> Path:
    """The folder ``path``, created if missing."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_metrics(out, metrics: dict) -> Path:
    """``metrics.json`` in ``out``: the printed numbers, for scripts and tests to read back."""
    path = Path(out) / "metrics.json"
    plain = {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in metrics.items()}
    path.write_text(json.dumps(plain, indent=2, sort_keys=True) + "\n")
    return path
