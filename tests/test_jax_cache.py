"""JAX's persistent compilation cache: on by default in a per-user folder, with an opt-out.

The configuration is tested on a stand-in for ``jax.config`` (no global state changes);
one fresh process checks the engine turns it on when loaded and that JAX then writes there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jax")

from skbnnsde.engines.jax import cache  # noqa: E402


class FakeConfig:
    """The part of ``jax.config`` the cache set-up reads and writes, at JAX's defaults."""

    def __init__(self, **values):
        self.jax_compilation_cache_dir = None
        self.jax_enable_compilation_cache = True
        self.jax_persistent_cache_min_compile_time_secs = 1.0
        self.jax_persistent_cache_min_entry_size_bytes = 0
        self.__dict__.update(values)

    def update(self, name, value):
        setattr(self, name, value)


def test_default_folder_follows_xdg_cache_home_and_is_created(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    config = FakeConfig()
    folder = cache.enable_compilation_cache(env, config)
    expected = tmp_path / "xdg" / "skbnnsde" / "jax"
    assert folder == str(expected) == config.jax_compilation_cache_dir
    assert expected.is_dir()
    if os.name == "posix":
        assert expected.stat().st_mode & 0o077 == 0  # the owner's only: JAX trusts its contents
    # small programs are stored too
    assert config.jax_persistent_cache_min_compile_time_secs == 0.0
    assert config.jax_persistent_cache_min_entry_size_bytes == -1


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="~/.cache is the Linux default")
def test_default_folder_without_xdg_is_under_home_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.default_cache_dir({}) == tmp_path / ".cache" / "skbnnsde" / "jax"


@pytest.mark.parametrize("value", ["0", "off", "False", "no"])
def test_opt_out_leaves_jax_alone(value, tmp_path):
    config = FakeConfig()
    env = {"SKBNNSDE_JAX_CACHE": value, "XDG_CACHE_HOME": str(tmp_path)}
    assert cache.enable_compilation_cache(env, config) is None
    assert config.__dict__ == FakeConfig().__dict__
    assert not any(tmp_path.iterdir())


def test_a_path_moves_the_cache(tmp_path):
    config = FakeConfig()
    target = tmp_path / "mine" / "jc"
    assert cache.enable_compilation_cache({"SKBNNSDE_JAX_CACHE": str(target)}, config) == str(target)
    assert target.is_dir() and config.jax_compilation_cache_dir == str(target)


def test_the_users_own_jax_settings_are_respected(tmp_path):
    env = {"SKBNNSDE_JAX_CACHE": str(tmp_path / "ours")}
    config = FakeConfig(jax_compilation_cache_dir="/users/own/cache")
    assert cache.enable_compilation_cache(env, config) == "/users/own/cache"
    assert config.__dict__ == FakeConfig(jax_compilation_cache_dir="/users/own/cache").__dict__
    # JAX's cache switched off by the user: no folder
    config = FakeConfig(jax_enable_compilation_cache=False)
    assert cache.enable_compilation_cache(env, config) is None
    assert config.jax_compilation_cache_dir is None
    # thresholds the user chose (in the config or the environment) are kept
    config = FakeConfig(jax_persistent_cache_min_compile_time_secs=2.0)
    env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    cache.enable_compilation_cache(env, config)
    assert config.jax_persistent_cache_min_compile_time_secs == 2.0
    assert config.jax_persistent_cache_min_entry_size_bytes == 0


def test_an_unwritable_folder_means_no_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = FakeConfig()
    assert cache.enable_compilation_cache({"SKBNNSDE_JAX_CACHE": str(blocker / "jc")}, config) is None
    assert config.jax_compilation_cache_dir is None


_CHILD = """
import os, sys, jax
import skbnnsde.engines.jax as engine  # loading the engine turns the cache on
print(jax.config.jax_compilation_cache_dir)
jax.jit(lambda x: x * 2 + 1)(jax.numpy.ones(3)).block_until_ready()
"""


def _child(env_updates):
    env = {k: v for k, v in os.environ.items() if k not in ("SKBNNSDE_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    env.update(env_updates)
    proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


def test_loading_the_engine_turns_the_cache_on_in_a_new_process(tmp_path):
    ours, users = tmp_path / "ours", tmp_path / "users"
    assert _child({"SKBNNSDE_JAX_CACHE": str(ours)}) == str(ours)
    assert any(ours.iterdir()), "JAX stored no compiled program"
    assert _child({"SKBNNSDE_JAX_CACHE": str(ours), "JAX_COMPILATION_CACHE_DIR": str(users)}) == str(users)


def _compiled_program_caches():
    """The engine's caches of compiled programs, by name: ``(module, name, cached function)``."""
    from skbnnsde.engines.jax import engine, train

    return [(module, name, obj) for module in (engine, train) for name, obj in vars(module).items()
            if hasattr(obj, "cache_info") and hasattr(obj, "__wrapped__")]


def test_every_compiled_program_cache_is_bounded():
    caches = _compiled_program_caches()
    assert len(caches) >= 6  # forward, paths, loss and gradients, jacobian, epoch, validation
    assert all(obj.cache_info().maxsize == cache.COMPILED_MODELS for _, _, obj in caches)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="counts Linux memory maps")
def test_compiled_programs_of_many_models_stay_bounded(monkeypatch):
    """A process fitting many differently shaped models keeps the programs of the last few only.

    Every compiled program holds memory maps; with every model's programs kept, a test worker
    that had fitted ~100 shapes exhausted the process's maps and XLA's compiler segfaulted. The
    caches keep ``cache.COMPILED_MODELS`` models (checked above); here they keep 3, so that 6
    models show the eviction letting the programs go.
    """
    import functools

    import jax

    from skbnnsde import SDEBNNRegressor

    kept = 3
    for module, name, obj in _compiled_program_caches():  # empty caches of `kept` models
        monkeypatch.setattr(module, name, functools.lru_cache(maxsize=kept)(obj.__wrapped__))
    jax.clear_caches()
    X = np.random.default_rng(0).normal(size=(20, 2))

    def n_maps():
        return len(Path("/proc/self/maps").read_text().splitlines())

    counts = []
    for width in range(2 * kept):  # more differently shaped models than the caches keep
        # no Laplace step or learnt diffusion: fewer programs per model to compile, the same eviction
        est = SDEBNNRegressor(engine="jax", hidden_layer_sizes=(3 + width,), weight_drift_sizes=(3,), max_iter=1,
                              n_ensembles=1, n_steps=2, n_predict_samples=2, laplace=False, learn_diffusion=False)
        est.fit(X, X[:, 0]).predict(X, return_std=True)
        counts.append(n_maps())
    # models 1 and 2 add to the caches; models 4 and 5 each evict the oldest one's programs
    first, last = (counts[kept - 1] - counts[0]) / (kept - 1), (counts[-1] - counts[-3]) / 2
    assert first > 50  # each new model's programs add maps while the caches fill
    assert last < 0.25 * first  # then the oldest models' are let go
