"""Smoke tests of the benchmark scripts: each runs with the tiniest budget and writes its md."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

pytestmark = pytest.mark.slow


def _uci_available():
    try:
        from skbnnsde.datasets import uci_n_splits

        from benchmarks.uci import default_data_dir

        return uci_n_splits("yacht", data_dir=default_data_dir()) > 0
    except (FileNotFoundError, ValueError):
        return False


def test_uci_smoke(tmp_path):
    pytest.importorskip("jax")
    if not _uci_available():
        pytest.skip("UCI data not found")
    from benchmarks import uci

    out = tmp_path / "uci.md"
    raw = tmp_path / "uci.jsonl"
    records = uci.main([
        "--datasets", "yacht", "--splits", "1", "--max-iter", "2",
        "--models", "sde_jax,bayesian_ridge,mlp", "--output", str(out), "--raw", str(raw),
    ])
    assert {r["model"] for r in records} == {"sde_jax", "bayesian_ridge", "mlp"}
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


def test_classification_smoke(tmp_path):
    pytest.importorskip("jax")
    from benchmarks import classification

    out = tmp_path / "cls.md"
    records = classification.main([
        "--datasets", "breast_cancer", "--seeds", "1", "--max-iter", "2",
        "--models", "sde_jax,logreg", "--output", str(out),
    ])
    assert len(records) == 2
    for r in records:
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["ece"] <= 1.0 and r["nll"] > 0
    text = out.read_text()
    assert "status: complete" in text and "breast_cancer" in text and "ECE %" in text


def test_classification_conv_rows_run_on_images_only(tmp_path):
    pytest.importorskip("jax")
    from benchmarks import classification

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


def test_classification_augmented_conv_row_trains_on_shifted_copies(tmp_path, monkeypatch):
    pytest.importorskip("jax")
    import skbnnsde.datasets
    from benchmarks import classification

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


def test_scaling_smoke(tmp_path):
    pytest.importorskip("jax")
    pytest.importorskip("matplotlib")
    from benchmarks import scaling

    out = tmp_path / "scaling.md"
    records = scaling.main([
        "--engines", "jax", "--rows", "50,100", "--n-steps", "none", "--n-mc-samples", "none",
        "--width", "none", "--base", '{"max_iter": 1, "n_steps": 2, "n_mc_samples": 1, "width": 4}',
        "--output", str(out),
    ])
    assert len(records) == 2
    assert all(r["fit_s"] > 0 and r["rss_peak_mb"] > 0 for r in records)
    text = out.read_text()
    assert "Fitted exponents" in text and "vs rows" in text
    assert (tmp_path / "scaling.png").is_file()


def test_engines_smoke(tmp_path):
    """One timed step per engine: the floors' losses must match the engines' (checked inside)."""
    from skbnnsde.engines import is_installed

    from benchmarks import engines

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
