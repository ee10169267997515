"""The benchmark scripts: each runs as ``python -m benchmarks.NAME`` from the repository root.

* Fast: every script answers ``--help`` when launched that way (no ``sys.path`` edits in them).
* Slow: each runs in this process with the tiniest budget and writes its md; the package
  ``benchmarks`` is imported from the repository root, as ``python -m`` does.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = sorted(p.stem for p in (REPO / "benchmarks").glob("*.py") if not p.stem.startswith("_"))


@pytest.fixture
def bench(monkeypatch):
    """``bench("uci")``: the module ``benchmarks.uci``, imported with the repository root on the path."""
    monkeypatch.syspath_prepend(str(REPO))
    return lambda name: importlib.import_module(f"benchmarks.{name}")


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs_as_a_module_from_the_repository_root(name):
    proc = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.startswith("usage:")
    assert f"python -m benchmarks.{name}" in (REPO / "benchmarks" / f"{name}.py").read_text()


def _uci_available(uci):
    from skbnnsde.datasets import uci_n_splits

    try:
        return uci_n_splits("yacht", data_dir=uci.default_data_dir()) > 0
    except (FileNotFoundError, ValueError):
        return False


@pytest.mark.slow
def test_uci_smoke(tmp_path, bench):
    pytest.importorskip("jax")
    uci = bench("uci")
    if not _uci_available(uci):
        pytest.skip("UCI data not found")

    out = tmp_path / "uci.md"
    raw = tmp_path / "uci.jsonl"
    records = uci.main([
        "--datasets", "yacht", "--splits", "1", "--max-iter", "2",
        "--models", "sde_jax,bayesian_ridge,mlp", "--output", str(out), "--raw", str(raw),
    ])
    assert {r["model"] for r in records} == {"sde_jax", "bayesian_ridge", "mlp"}
    sde = next(r for r in records if r["model"] == "sde_jax")  # yacht's 277 rows: the held-out choices
    assert sde["stochastic_fraction"] in (1.0, 0.2) and set(sde["stochastic_fraction_scores"]) == {"1.0", "0.2"}
    assert len(sde["noise_scale_factor"]) == 1
    assert not any("stochastic_fraction" in r for r in records if r["model"] != "sde_jax")
    text = out.read_text()
    assert "status: complete" in text
    assert "MC dropout (published)" in text and "yacht" in text
    assert "SDE-BNN (jax)" in text
    # re-rendering from the raw records gives the same tables
    out2 = tmp_path / "uci2.md"
    again = uci.main(["--datasets", "yacht", "--models", "sde_jax,bayesian_ridge,mlp",
                      "--render-from", str(raw), "--output", str(out2)])
    assert len(again) == len(records)
    assert "SDE-BNN (jax)" in out2.read_text()


@pytest.mark.slow
def test_partial_stochastic_smoke(tmp_path, bench):
    pytest.importorskip("jax")
    partial = bench("partial_stochastic")
    if not _uci_available(bench("uci")):
        pytest.skip("UCI data not found")
    out = tmp_path / "partial.md"
    records = partial.main(["--datasets", "yacht", "--splits", "1", "--fractions", "1,0.5",
                            "--sde-params", '{"max_iter": 2, "n_ensembles": 1}', "--output", str(out)])
    assert sorted(r["fraction"] for r in records) == [0.5, 1.0]
    assert all(np.isfinite(r["ll"]) for r in records)
    assert "| yacht | 0.5 | 1 |" in out.read_text()


@pytest.mark.slow
def test_classification_smoke(tmp_path, bench):
    pytest.importorskip("jax")
    classification = bench("classification")
    out = tmp_path / "cls.md"
    records = classification.main([
        "--datasets", "breast_cancer", "--seeds", "1", "--max-iter", "2",
        "--models", "sde_jax,logreg", "--output", str(out),
    ])
    assert len(records) == 2
    for r in records:
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["ece"] <= 1.0 and r["nll"] > 0
        assert 0.0 <= r["ece_floor"] <= 1.0
    text = out.read_text()
    assert "status: complete" in text and "breast_cancer" in text and "ECE %" in text and "ECE floor %" in text


def test_ece_floor_is_the_sampling_error_of_a_calibrated_model(bench):
    """Coin flips predicted at 0.5: the top-label bin's accuracy is a binomial proportion, so the
    expected ECE is E|B/n - 1/2| = sqrt(1 / (4 n)) * sqrt(2 / pi) for n rows (normal approximation)."""
    classification = bench("classification")
    n = 100
    floor = classification.ece_floor(np.full((n, 2), 0.5), n_draws=2000)
    assert floor == pytest.approx(np.sqrt(1 / (4 * n)) * np.sqrt(2 / np.pi), rel=0.08)
    # confident and calibrated on many rows: almost no sampling error left
    assert classification.ece_floor(np.tile([[0.99, 0.01]], (20000, 1)), n_draws=20) < 0.002


def test_classification_small_sets_load_and_stay_out_of_the_default_run(tmp_path, bench):
    classification = bench("classification")
    records = classification.main([
        "--datasets", "iris,wine", "--seeds", "1", "--models", "logreg", "--validation",
        "--output", str(tmp_path / "cls.md"),
    ])
    assert {r["dataset"] for r in records} == {"iris", "wine"}
    assert all(0.0 <= r["accuracy"] <= 1.0 and r["nll"] > 0 for r in records)
    # the default run is still the two sets the results file reports
    assert classification.build_parser().parse_args([]).datasets == "digits,breast_cancer"


def test_classification_first_seed_runs_a_replicate_on_new_splits(tmp_path, bench):
    classification = bench("classification")
    args = ["--datasets", "iris", "--seeds", "2", "--models", "logreg", "--output", str(tmp_path / "cls.md")]
    assert [r["seed"] for r in classification.main(args + ["--first-seed", "5"])] == [5, 6]
    assert [r["seed"] for r in classification.main(args)] == [0, 1]


@pytest.mark.slow
def test_classification_conv_rows_run_on_images_only(tmp_path, bench):
    pytest.importorskip("jax")
    classification = bench("classification")
    out = tmp_path / "cls.md"
    records = classification.main([
        "--datasets", "digits,breast_cancer", "--seeds", "1", "--max-iter", "1",
        "--sde-params", '{"n_mc_samples": 1, "n_predict_samples": 2}',
        "--models", "sde_conv_jax,logreg", "--target-model", "logreg", "--output", str(out),
    ])
    got = {(r["dataset"], r["model"]) for r in records}
    # breast_cancer has no image shape: the conv model is skipped there, not run on garbage
    assert got == {("digits", "sde_conv_jax"), ("digits", "logreg"), ("breast_cancer", "logreg")}
    conv = next(r for r in records if r["model"] == "sde_conv_jax")
    assert conv["n_iter"] == 1 and 0.0 <= conv["accuracy"] <= 1.0 and conv["nll"] > 0
    text = out.read_text()
    assert "SDE-BNN conv (jax)" in text and "**Target on digits** (`sde_conv_jax`)" in text
    assert "**Target on digits** (`logreg`)" in text  # --target-model is checked besides the conv rows


@pytest.mark.slow
def test_classification_augmented_conv_row_trains_on_shifted_copies(tmp_path, bench, monkeypatch):
    pytest.importorskip("jax")
    import skbnnsde.datasets
    classification = bench("classification")
    calls = []
    real = skbnnsde.datasets.shift_images

    def recording(X, y, image_shape, **kw):
        out = real(X, y, image_shape, **kw)
        calls.append((X.shape, image_shape, out[0].shape, float(np.min(X))))
        return out

    monkeypatch.setattr(skbnnsde.datasets, "shift_images", recording)
    records = classification.main([
        "--datasets", "digits", "--seeds", "1", "--max-iter", "1",
        "--sde-params", '{"n_mc_samples": 1, "n_predict_samples": 2}',
        "--models", "sde_conv_aug_jax", "--output", str(tmp_path / "cls.md"),
    ])
    # the training rows of the 75 / 25 split, shifted on the raw pixels (0 = background), five times over
    assert calls == [((1347, 64), (1, 8, 8), (5 * 1347, 64), 0.0)]
    assert len(records) == 1 and records[0]["n_iter"] == 1 and 0.0 <= records[0]["accuracy"] <= 1.0


@pytest.mark.slow
def test_scaling_smoke(tmp_path, bench):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    scaling = bench("scaling")
    out = tmp_path / "scaling.md"
    records = scaling.main([
        "--engines", "torch", "--rows", "50,100", "--n-steps", "none", "--n-mc-samples", "none",
        "--width", "none", "--base", '{"max_iter": 1, "n_steps": 2, "n_mc_samples": 1, "width": 4}',
        "--output", str(out),
    ])
    assert len(records) == 2
    assert all(r["fit_s"] > 0 and r["rss_peak_mb"] > 0 for r in records)
    text = out.read_text()
    assert "Fitted exponents" in text and "vs rows" in text
    assert (tmp_path / "scaling.png").is_file()


@pytest.mark.slow
def test_engines_smoke(tmp_path, bench):
    """One timed step per engine: the floors' losses must match the engines' (checked inside)."""
    from skbnnsde.engines import is_installed

    engines = bench("engines")
    names = [name for name in ("jax", "torch") if is_installed(name)]
    if not names:
        pytest.skip("no engine installed")
    out = tmp_path / "engines.md"
    engines.main([
        "--engines", ",".join(names), "--sweeps", "none", "--repeats", "1", "--batches", "1",
        "--epochs", "1", "--torch-threads", "0", "--xla-threads", "0", "--output", str(out),
    ])
    text = out.read_text()
    assert "## Base configuration: engine vs floor" in text
    for name in names:
        assert f"| {name} |" in text


@pytest.mark.slow
def test_stl_variance_smoke(tmp_path, bench):
    """Both engines' per-path gradients (``Engine.loss_and_gradients``) give the same variances."""
    from skbnnsde.engines import is_installed

    stl_variance = bench("stl_variance")
    names = [name for name in ("jax", "torch") if is_installed(name)]
    if "jax" not in names:
        pytest.skip("the model is trained with the jax engine")
    out = tmp_path / "stl.md"
    stl_variance.main(["--engines", ",".join(names), "--checkpoints", "0,1", "--seeds", "3", "--output", str(out)])
    rows = [line.split("|")[1:-1] for line in out.read_text().splitlines() if line.startswith("| 1 |")]
    assert [row[1].strip() for row in rows] == names
    for row in rows[1:]:  # the same paths in every engine: the same variances, to rounding
        np.testing.assert_allclose([float(c) for c in row[2:4]], [float(c) for c in rows[0][2:4]], rtol=1e-6)


@pytest.mark.slow
def test_uncertainty_smoke(tmp_path, bench):
    pytest.importorskip("jax")
    out = tmp_path / "unc.md"
    bench("uncertainty").main([
        "--seeds", "1", "--engines", "jax", "--sets", "sin10",
        "--variants", 'tiny={"max_iter": 3, "n_steps": 2, "hidden_layer_sizes": [4]};'
                      'tiny_laplace={"max_iter": 3, "n_steps": 2, "hidden_layer_sizes": [4], "laplace": true}',
        "--output", str(out),
    ])
    text = out.read_text()
    assert "GP (RBF + white)" in text and "| tiny_laplace | jax | 1 |" in text and "far/data" in text


@pytest.mark.slow
def test_usability_fits_smoke(tmp_path, bench):
    """First fits in a fresh process (torch: one process; tiny fits, no searches)."""
    pytest.importorskip("torch")
    out = tmp_path / "usability.md"
    text = bench("usability_fits").main([
        "--no-search", "--engines", "torch", "--datasets", "diabetes",
        "--sde-params", '{"max_iter": 1, "n_steps": 2, "hidden_layer_sizes": [4]}',
        "--output", str(out),
    ])
    assert "| torch | diabetes | - |" in text and "first / second" in text
    assert text in out.read_text()


def test_usability_fits_tables_jax_cache_runs(bench, monkeypatch):
    """The JAX rows (cold, warm, off; their cache folders) and the target line, from stand-in timings."""
    fits = bench("usability_fits")
    caches = []

    def child(task, cache):
        caches.append(cache)
        return {"import_s": 1.0, "framework_import_s": 2.0, "first_s": 3.0 if len(caches) != 2 else 1.2,
                "second_s": 1.0}

    monkeypatch.setattr(fits, "_child", child)
    text = fits.report(["--no-search", "--engines", "jax", "--datasets", "diabetes"])
    assert caches[0] == caches[1] != caches[2] == "0"  # warm reuses the cold run's folder; off is "0"
    assert "| jax | diabetes | warm (filled by the process above) | 1.0 | 2.0 | 1.2 | 1.0 | 1.20 |" in text
    assert "(JAX, warm cache, first fit <= 1.5x the second): 1.20x, met" in text


def test_predict_cost_report_gives_medians_and_ratios(bench):
    predict_cost = bench("predict_cost")
    args = predict_cost.build_parser().parse_args(["--rows", "100", "--repeats", "3"])
    records = [dict(repeat=r, engine=e, rows=100, predict_s=s, peak_mb=mb, rss_before_mb=500.0)
               for r, (s_torch, s_jax) in enumerate([(1.0, 2.0), (3.0, 1.0), (2.0, 1.5)])
               for e, s, mb in (("torch", s_torch, 30.0 + r), ("jax", s_jax, 20.0))]
    text = predict_cost.report(records, args, [], None)
    # medians: torch 2.0 s and 31 MB, jax 1.5 s and 20 MB
    assert "| 100 | 2.00 | 1.50 | 31 | 20 | 1.33 | 1.55 |" in text
    assert "Target torch <= 2 x JAX in time and memory: met." in text


@pytest.mark.slow
def test_predict_cost_smoke(tmp_path, bench):
    from skbnnsde.engines import is_installed

    names = [name for name in ("torch",) if is_installed(name)]  # JAX's predictions: test_jax_engine
    if not names:
        pytest.skip("torch is not installed")
    out = tmp_path / "predict_cost.md"
    records = bench("predict_cost").main([
        "--engines", ",".join(names), "--rows", "300", "--repeats", "1", "--fit-rows", "32", "--max-iter", "1",
        "--warm-rows", "64", "--output", str(out),
    ])
    assert [r["engine"] for r in records] == names
    assert all(r["predict_s"] > 0 and r["rss_before_mb"] > 0 and np.isfinite(r["checksum"]) for r in records)
    text = out.read_text()
    assert "status: complete" in text and "| 300 |" in text


def test_usability_assembles_its_parts(tmp_path, bench, monkeypatch):
    """benchmarks.usability: the three parts' sections, the fuzz counts summed over workers into a table."""
    usability = bench("usability")
    monkeypatch.setattr(usability.usability_fits, "report", lambda argv: "## First fit\n\nfits table")
    monkeypatch.setattr(usability, "predict_markdown", lambda args: "## Prediction: torch vs JAX\n\npredict table")
    counts = {"SDEBNNRegressor/jax/fit": {"ValueError": 3, "accepted": 1},
              "SDEBNNRegressor/torch/predict": {"TypeError": 2}}
    monkeypatch.setattr(usability, "fuzz_counts", lambda args: counts)
    out = tmp_path / "usability.md"
    text = usability.main(["--output", str(out)])
    assert text == out.read_text()
    assert text.index("fits table") < text.index("predict table") < text.index("## Input fuzz")
    assert "| SDEBNNRegressor/jax/fit | 0 | 3 | 1 | 4 |" in text
    assert "| all | 2 | 3 | 1 | 6 |" in text
