"""The examples are part of the interface: every script runs end to end, so none can rot.

* Slow: each script in ``examples/`` runs as a subprocess with its tiny budget (``--smoke``)
  into ``tmp_path``; it must exit 0 and write its PNGs. Scripts whose engine (or dask) is
  not installed are skipped with the reason. The bimodal SDE demos also run their full
  budget, which must give the two modes issue 13 asks for.
* Fast: the classification examples read MNIST (IDX, gzipped or not) and CIFAR-10 (python
  pickle batches) files in their real formats, written here like ``tests/test_datasets.py``
  does, and train one epoch of a tiny model on them; flags that cannot be honoured fail
  with argparse errors.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skbnnsde.engines import installed_engines, is_installed
from skbnnsde.experiments.classification import load_image_data, standardize_images
from skbnnsde.experiments.cli import fw_dims_type

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
#: installed engines, the cheaper one to start first (torch compiles nothing)
FIRST_ENGINE = (["torch"] if is_installed("torch") else []) + (["jax"] if is_installed("jax") else [])


def _needs(engine):
    return pytest.mark.skipif(not is_installed(engine), reason=f"engine {engine!r} not installed "
                              f"(pip install 'skbnnsde[{engine}]')")


def _has_dask_distributed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("dask", "distributed"))


_needs_any_engine = pytest.mark.skipif(not installed_engines(),
                                       reason="no engine installed (pip install 'skbnnsde[torch]')")
_needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                       reason="matplotlib not installed (pip install 'skbnnsde[examples]')")


def _run(script: str, args: list, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    # One math thread per process: tiny budgets gain nothing from more, and on a busy machine
    # threads that spin waiting for each other cost far more (torch can slow down 20x).
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{script} {' '.join(args)} exited with {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}"
        f"\n--- stderr ---\n{proc.stderr[-4000:]}"
    )
    return proc


# (script, arguments after --smoke, PNGs it must write under tmp_path / "out", marks)
_SCRIPTS = [
    ("jax/sdebnn_toy1d.py", ["--output", "out"], ["cos_predictive.png", "cos_dynamics.png", "cos_prior_posterior.png"],
     [_needs("jax")]),
    ("torch/sdebnn_toy1d.py", ["--output_dir", "out"],
     ["cos_predictive.png", "cos_dynamics.png", "cos_prior_posterior.png", "coscos_cauchy.png"], [_needs("torch")]),
    # jax compiles the conv network slowly; the conv code path of the script is shared with torch's
    ("jax/sdebnn_classification.py", ["--output", "out", "--arch", "mlp"], ["digits_sdenet_reliability.png"],
     [_needs("jax")]),
    ("torch/sdebnn_classification.py", ["--output", "out", "--meanfield_sdebnn", "--shift", "1"],
     ["digits_meanfield_reliability.png"], [_needs("torch")]),
    ("quickstart.py", ["--engine", *FIRST_ENGINE[:1], "--output", "out/quickstart.png"], ["quickstart.png"],
     [_needs_any_engine]),
    ("pipeline_gridsearch.py", ["--engines", *FIRST_ENGINE[:1], "--output", "out"], ["gridsearch.png"],
     [_needs_any_engine]),
    ("torch/sde_bimodal.py", ["--output", "out"], ["bimodal_torch.png"], [_needs("torch")]),
    ("jax/sde_bimodal.py", ["--output", "out"], ["bimodal_jax.png"], [_needs("jax")]),
    # one worker process keeps the test cheap; the LocalCluster, joblib's dask backend and the
    # single-thread worker environment are the same as with more
    ("distributed_search.py", ["--engines", *FIRST_ENGINE[:1], "--workers", "1", "--output", "out"],
     ["distributed_search.png"],
     [_needs_any_engine,
      pytest.mark.skipif(not _has_dask_distributed(), reason="dask.distributed not installed")]),
]


@pytest.mark.slow
@_needs_matplotlib
@pytest.mark.parametrize(
    "script, args, pngs",
    [pytest.param(s, a, p, marks=m, id=s.replace(".py", "")) for s, a, p, m in _SCRIPTS],
)
def test_example_runs_with_a_tiny_budget(script, args, pngs, tmp_path):
    _run(script, ["--smoke", *args], cwd=tmp_path)
    for name in pngs:
        png = tmp_path / "out" / name
        assert png.is_file() and png.stat().st_size > 1000, f"{script} did not write {png}"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@_needs_matplotlib
@pytest.mark.parametrize("engine", [pytest.param("jax", marks=_needs("jax"))])
def test_bimodal_demo_full_run_has_both_modes(engine, tmp_path):
    """The full budget (300 Adam steps, seed 0): >= 25 % of 1,000 samples of z(T) on each side, means near ±5.

    About 20 s on one core. torch's full run (three times as long on torchsde) is measured in
    ``benchmarks/results/bimodal.md`` (seeds 0-9); the suite runs its script with a tiny budget.
    """
    _run(f"{engine}/sde_bimodal.py", ["--output", "out"], cwd=tmp_path)
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["n"] == 1000 and m["n_iters"] == 300 and m["seed"] == 0
    assert m["fraction_positive"] >= 0.25 and m["fraction_negative"] >= 0.25, m
    assert abs(m["mean_positive"] - 5.0) <= 1.0 and abs(m["mean_negative"] + 5.0) <= 1.0, m
    assert m["target_met"]


def test_every_example_script_is_covered():
    scripts = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.py")
               if not p.name.startswith("_")}
    assert scripts == {s for s, *_ in _SCRIPTS}


@pytest.mark.parametrize("script", [s for s, *_ in _SCRIPTS])
def test_example_has_usage_lines_and_main(script):
    text = (EXAMPLES / script).read_text()
    assert f"python examples/{script}" in text, "the docstring must show copy-pasteable usage lines"
    assert "def main(argv=None)" in text
    assert "argparse" in text or "skbnnsde.experiments" in text


# --------------------------------------------------------------------------------------
# the classification examples on MNIST / CIFAR-10 files in their real formats (fast)
# --------------------------------------------------------------------------------------


def _idx_bytes(arr):
    arr = np.asarray(arr, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 + arr.ndim) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return header + arr.tobytes()


def _write_mnist(folder: Path, gz: bool, rng, n_train=30, n_test=20):
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.randint(0, 256, size=(n, 28, 28))
        labels = np.arange(n) % 10
        for name, payload in ((f"{prefix}-images-idx3-ubyte", _idx_bytes(images)),
                              (f"{prefix}-labels-idx1-ubyte", _idx_bytes(labels))):
            if gz:
                with gzip.open(folder / (name + ".gz"), "wb") as fh:
                    fh.write(payload)
            else:
                (folder / name).write_bytes(payload)


def _write_cifar(folder: Path, rng, n_per_batch=6, n_test=10):
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        n = n_test if name == "test_batch" else n_per_batch
        batch = {
            b"batch_label": name.encode(),
            b"labels": [int(v) for v in (np.arange(n) + i) % 10],
            b"data": rng.randint(0, 256, size=(n, 3072)).astype(np.uint8),
            b"filenames": [f"img_{j}.png".encode() for j in range(n)],
        }
        with open(batches / name, "wb") as fh:
            pickle.dump(batch, fh)


def _load_script(relpath: str):
    path = EXAMPLES / relpath
    spec = importlib.util.spec_from_file_location(f"example_{relpath.replace('/', '_')[:-3]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_classification_data_mnist_files(tmp_path, gz):
    _write_mnist(tmp_path, gz, np.random.RandomState(0))
    X_tr, y_tr, X_te, y_te = load_image_data("mnist", tmp_path, subsample=20, seed=0)
    assert X_tr.shape == (20, 1, 28, 28) and X_te.shape == (20, 1, 28, 28)
    assert X_tr.dtype == np.float32 and 0.0 <= X_tr.min() and X_tr.max() <= 1.0
    assert sorted(np.unique(y_tr)) == list(range(10))  # stratified subset keeps every class
    flat_tr, flat_te = standardize_images(X_tr, X_te)
    assert flat_tr.shape == (20, 784) and abs(float(flat_tr.mean())) < 1e-4


def test_classification_data_cifar10_files(tmp_path):
    _write_cifar(tmp_path, np.random.RandomState(1))
    X_tr, y_tr, X_te, y_te = load_image_data("cifar10", tmp_path, test_subsample=5, seed=0)
    assert X_tr.shape == (30, 3, 32, 32) and X_te.shape == (5, 3, 32, 32)
    flat_tr, _ = standardize_images(X_tr, X_te)
    assert flat_tr.shape == (30, 3072)
    # per-channel standardisation: every channel has mean 0 over the training images
    np.testing.assert_allclose(flat_tr.reshape(30, 3, -1).mean(axis=(0, 2)), 0.0, atol=1e-4)


@pytest.mark.skipif(not FIRST_ENGINE, reason="no engine installed (pip install 'skbnnsde[torch]')")
@pytest.mark.parametrize("data", ["mnist", "cifar10"])
def test_classification_example_trains_on_image_files(tmp_path, data):
    engine = FIRST_ENGINE[0]
    rng = np.random.RandomState(2)
    if data == "mnist":
        _write_mnist(tmp_path / "data", gz=True, rng=rng)
    else:
        _write_cifar(tmp_path / "data", rng)
    module = _load_script(f"{engine}/sdebnn_classification.py")
    out = tmp_path / "out"
    metrics = module.main(["--smoke", "--data", data, "--data-dir", str(tmp_path / "data"), "--arch", "mlp",
                           "--model", "resnet", "--output", str(out)])
    assert 0.0 <= metrics["accuracy"] <= 1.0 and np.isfinite(metrics["nll"]) and 0.0 <= metrics["ece"] <= 1.0
    assert (out / f"{data}_resnet_reliability.png").is_file()
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["data"] == data and saved["engine"] == engine


@pytest.mark.skipif(not FIRST_ENGINE, reason="no engine installed (pip install 'skbnnsde[torch]')")
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "mnist"], "needs --data-dir"),
        (["--arch", "mlp", "--nblocks", "2-2"], "--nblocks applies to --arch conv only"),
        (["--model", "resnet", "--meanfield_sdebnn"], "exclude each other"),
        (["--fw_dims", "2-x-2"], "dash-separated positive ints"),
        (["--fw_dims", "2-2"], "has no hidden layer"),
        (["--shift", "8"], "--shift 8: max_shift must be an int in [1, 7]"),
    ],
)
def test_classification_example_rejects_bad_flags(tmp_path, capsys, argv, message):
    module = _load_script(f"{FIRST_ENGINE[0]}/sdebnn_classification.py")
    with pytest.raises(SystemExit) as exc:
        module.main([*argv, "--output", str(tmp_path)])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@_needs("torch")
@pytest.mark.parametrize("flag", ["--adaptive", "--adjoint_adaptive"])
def test_torch_classification_refuses_adaptive_steps(tmp_path, capsys, flag):
    module = _load_script("torch/sdebnn_classification.py")
    with pytest.raises(SystemExit) as exc:
        module.main([flag, "True", "--arch", "mlp", "--output", str(tmp_path)])
    assert exc.value.code == 2
    assert "not supported" in capsys.readouterr().err


def test_fw_dims_mapping():
    assert fw_dims_type("2-64-2") == (64,)
    assert fw_dims_type("1-64-32-1") == (64, 32)
    assert fw_dims_type("64") == (64,)
