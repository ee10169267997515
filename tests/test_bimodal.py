"""The framework-free part of the bimodal SDE demos (``skbnnsde/experiments/bimodal.py``).

The scripts themselves run in ``tests/test_examples.py`` (``--smoke``, and the full run's modes).
"""

from __future__ import annotations

import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from skbnnsde.experiments.bimodal import (BimodalSpec, bimodal_parser, cauchy_log_likelihood, measure_modes,
                                          meets_target, prior_std_at_t1, spec_from_args, target_density,
                                          write_results)


def test_measure_modes_on_a_synthetic_mixture():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(-5.0, 0.5, 300), rng.normal(4.5, 0.5, 700)])
    rng.shuffle(z)
    m = measure_modes(z)
    assert m["n"] == 1000
    assert m["fraction_negative"] == pytest.approx(0.3) and m["fraction_positive"] == pytest.approx(0.7)
    assert m["mean_negative"] == pytest.approx(-5.0, abs=0.1) and m["mean_positive"] == pytest.approx(4.5, abs=0.1)
    assert meets_target(m)


def test_measure_modes_counts_zero_on_neither_side_and_an_empty_side_is_nan():
    m = measure_modes(np.array([[0.0, 1.0], [3.0, 2.0]]))  # any shape is flattened
    assert (m["fraction_positive"], m["fraction_negative"]) == (0.75, 0.0)
    assert m["mean_positive"] == 2.0 and math.isnan(m["mean_negative"])
    assert not meets_target(m)
    with pytest.raises(ValueError):
        measure_modes([])


@pytest.mark.parametrize("z, met", [
    ([5.0] * 25 + [-5.0] * 75, True),     # 25 % on one side is enough
    ([5.0] * 24 + [-5.0] * 76, False),    # 24 % is not
    ([3.9] * 50 + [-5.0] * 50, False),    # a mode more than 1 away from +5
    ([4.0] * 50 + [-6.0] * 50, True),     # exactly 1 away
    ([-5.0] * 100, False),                # one mode
])
def test_meets_target(z, met):
    assert meets_target(measure_modes(z)) is met


def test_prior_std_matches_a_simulated_ou_process():
    spec = BimodalSpec()
    rng = np.random.default_rng(1)
    z = spec.z0_std * rng.standard_normal(200_000)
    a = math.exp(-spec.theta * spec.t1)  # the exact OU transition over [0, T]
    z = a * z + math.sqrt(spec.sigma**2 / (2 * spec.theta) * (1 - a * a)) * rng.standard_normal(z.size)
    assert prior_std_at_t1(spec) == pytest.approx(z.std(), rel=0.01)


def test_target_densities_are_normalised_symmetric_and_bimodal():
    spec = BimodalSpec()
    z = np.linspace(-10, 10, 2001)
    for tempered in (True, False):
        d = target_density(z, spec, tempered=tempered)
        assert np.sum(0.5 * (d[1:] + d[:-1]) * np.diff(z)) == pytest.approx(1.0)
        np.testing.assert_allclose(d, d[::-1], rtol=1e-9, atol=1e-12)
        peak = abs(z[np.argmax(d)])
        assert 4.0 < peak < 5.2 and d[1000] < 0.6 * d.max()  # modes near ±5, a dip at 0
    lik = cauchy_log_likelihood(z, spec)
    np.testing.assert_allclose(lik, sum(-np.log(np.pi * (1 + (y - z) ** 2)) for y in (5, -5)))


def test_smoke_shrinks_the_budget_and_the_flags_reach_the_spec():
    parser = bimodal_parser("Demo.\n\n    python examples/x.py\n", "torch")
    args = parser.parse_args(["--seed", "3", "--width", "16", "--num_samples", "50", "--max_iter", "7"])
    assert spec_from_args(args) == BimodalSpec(seed=3, width=16, n_samples=50, n_iters=7)
    smoke = spec_from_args(parser.parse_args(["--smoke"]))
    assert smoke.n_iters <= 5 and smoke.n_samples <= 100
    assert (smoke.n_steps, smoke.n_iw, smoke.kl_weight) == (100, 20, pytest.approx(0.2 / 3))


def test_write_results_keeps_the_other_engines_row(tmp_path):
    path = tmp_path / "bimodal.md"
    metrics = dict(fraction_negative=0.4, fraction_positive=0.6, mean_negative=-4.5, mean_positive=4.7,
                   target_met=True, train_seconds=10.0, total_seconds=12.0)
    write_results(path, "torch", metrics, BimodalSpec())
    write_results(path, "jax", {**metrics, "fraction_negative": 0.9, "target_met": False}, BimodalSpec())
    write_results(path, "torch", {**metrics, "mean_positive": 4.9}, BimodalSpec(seed=2))
    rows = [line for line in path.read_text().splitlines() if line.startswith("| jax") or line.startswith("| torch")]
    assert len(rows) == 2
    assert "90.0%" in rows[0] and "**no**" in rows[0]
    assert "+4.90" in rows[1] and rows[1].split("|")[2].strip() == "2"


def test_module_imports_no_framework():
    code = ("import sys, skbnnsde.experiments.bimodal; "
            "bad = [m for m in ('torch', 'jax', 'torchsde', 'matplotlib') if m in sys.modules]; "
            "print(bad); assert not bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_report_draws_the_figure_and_writes_the_files(tmp_path):
    """``report`` on fake samples: prints, draws the PNG and writes metrics.json (the scripts' tail)."""
    pytest.importorskip("matplotlib")
    import json

    from skbnnsde.experiments.bimodal import report

    spec = BimodalSpec(n_iters=3, n_samples=200)
    rng = np.random.default_rng(2)
    ts = np.linspace(0, spec.t1, spec.n_steps + 1)
    paths = np.cumsum(rng.normal(0, 0.2, (200, ts.size)), axis=1) + rng.choice([-5, 5], (200, 1)) * ts / spec.t1
    args = SimpleNamespace(output=str(tmp_path / "out"), results=str(tmp_path / "r.md"))
    m = report(args, "jax", spec, ts=ts, paths=paths[:10], z_t=paths[:, -1], losses=[3.0, 2.0, 1.0],
               train_seconds=1.0, started=0.0)
    assert (tmp_path / "out" / "bimodal_jax.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["fraction_positive"] == m["fraction_positive"]
    assert "| jax |" in (tmp_path / "r.md").read_text()
