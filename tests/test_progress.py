"""What ``verbose`` shows during a fit (skbnnsde/_progress.py), on both engines.

verbose=0: nothing at all; 1: a tqdm bar with the loss, elapsed time and time left (plain
lines without tqdm); 2: also the loss's data and KL parts; the JAX engine says when it
compiles. Tiny fits: 3 epochs of a 4-unit network with 2 solver steps.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde._progress import FitProgress
from skbnnsde.engines import get_engine
from skbnnsde.engines.specs import ModelSpec, TrainSpec

TINY = dict(n_ensembles=1,  # one model unless a test is about ensembles (tests/test_ensemble.py)
            max_iter=3, hidden_layer_sizes=(4,), n_steps=2, random_state=0)


def _data(n=24):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    return X, X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=n)


def _fresh_jax_shapes(engine_name, monkeypatch):
    """Forget which JAX epochs ran in this process, so the next fit announces its compilation."""
    if engine_name == "jax":
        from skbnnsde.engines.jax import train

        monkeypatch.setattr(train, "_RUN_SHAPES", set())


def _no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


def test_verbose_0_is_silent(engine_name, capsys, monkeypatch):
    _fresh_jax_shapes(engine_name, monkeypatch)
    X, y = _data()
    SDEBNNRegressor(engine=engine_name, verbose=0, **TINY).fit(X, y)
    SDEBNNClassifier(engine=engine_name, verbose=0, **TINY).fit(X, y > 0)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_shows_a_bar_with_times_and_at_2_the_loss_parts(engine_name, verbose, capsys, monkeypatch):
    pytest.importorskip("tqdm")
    _fresh_jax_shapes(engine_name, monkeypatch)
    X, y = _data()
    SDEBNNRegressor(engine=engine_name, verbose=verbose, **TINY).fit(X, y)
    out, err = capsys.readouterr()
    assert out == ""
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert "3/3" in last and "loss=" in last and "epoch" in last
    assert "<" in last  # tqdm's "elapsed<remaining"
    assert ("data=" in last and "kl=" in last) == (verbose == 2)
    assert ("compiling" in err) == (engine_name == "jax")


@pytest.mark.parametrize("verbose", [1, 2])
def test_plain_lines_without_tqdm(engine_name, verbose, capsys, monkeypatch):
    _no_tqdm(monkeypatch)
    _fresh_jax_shapes(engine_name, monkeypatch)
    X, y = _data()
    SDEBNNRegressor(engine=engine_name, verbose=verbose, early_stopping=True, **TINY).fit(X, y)
    out, err = capsys.readouterr()
    assert err == ""
    lines = [line for line in out.splitlines() if line.startswith("Iteration")]
    assert [line.split(",")[0] for line in lines] == ["Iteration 1/3", "Iteration 2/3", "Iteration 3/3"]
    assert all("loss = " in line and "validation loss = " in line and "elapsed" in line for line in lines)
    assert "left)" in lines[-1]
    assert all(("data = " in line and "kl = " in line) == (verbose == 2) for line in lines)
    assert ("compiling" in out) == (engine_name == "jax")


def test_ensemble_members_count_on_one_progress_line(engine_name, capsys, monkeypatch):
    """Members train one after another: their epochs are numbered on, out of all members' epochs."""
    _no_tqdm(monkeypatch)
    X, y = _data()
    SDEBNNRegressor(engine=engine_name, verbose=1, **dict(TINY, n_ensembles=2)).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Iteration")]
    assert [line.split(",")[0] for line in lines] == [f"Iteration {i}/6" for i in range(1, 7)]


def test_jax_says_it_compiles_only_for_new_settings(capsys, monkeypatch):
    pytest.importorskip("jax")
    _no_tqdm(monkeypatch)
    _fresh_jax_shapes("jax", monkeypatch)
    X, y = _data()
    SDEBNNRegressor(engine="jax", verbose=1, **TINY).fit(X, y)
    first = capsys.readouterr().out
    assert first.splitlines()[0].startswith("JAX engine: compiling the training program")
    assert "compilation included" in first.splitlines()[1]
    SDEBNNRegressor(engine="jax", verbose=1, **TINY).fit(X, y)  # the same shapes: compiled already
    assert "compiling" not in capsys.readouterr().out
    SDEBNNRegressor(engine="jax", verbose=0, **{**TINY, "n_steps": 3}).fit(X, y)
    assert capsys.readouterr().out == ""  # new settings, but verbose=0: still silent


@pytest.mark.parametrize("grad_accumulation", [1, 2])
def test_engines_report_the_data_and_kl_parts_of_the_loss(engine_name, grad_accumulation):
    X, y = _data(32)
    spec = ModelSpec(n_features=2, n_outputs=1, hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_steps=2)
    engine = get_engine(engine_name)
    p0 = engine.init_params(spec, 0)
    y = y.reshape(-1, 1).astype(np.float32)

    def parts_of(kl_weight):
        progress = FitProgress(verbose=0, max_iter=3)
        seen = []
        progress.loss_parts = lambda epoch, parts: seen.append(parts)
        train = TrainSpec(max_iter=3, batch_size=16, kl_weight=kl_weight, grad_accumulation=grad_accumulation)
        _, result = engine.fit(spec, train, p0, X.astype(np.float32), y, seed=0, callback=progress)
        return seen, result.loss_curve

    seen, losses = parts_of(1.0)
    assert len(seen) == 3
    for parts, loss in zip(seen, losses):
        assert parts["data"] + parts["kl"] == pytest.approx(loss, rel=1e-6)
    assert all(parts["kl"] >= 0.0 for parts in seen) and seen[-1]["kl"] > 0.0
    seen, losses = parts_of(0.0)
    assert all(parts["kl"] == 0.0 and parts["data"] == pytest.approx(loss) for parts, loss in zip(seen, losses))
