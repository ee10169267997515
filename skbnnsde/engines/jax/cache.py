"""JAX's persistent compilation cache, on by default for the JAX engine.

Compiling a fit's programs takes seconds per process and per setting (``n_features``,
``n_steps``, widths, solver, batch size ...). JAX can keep compiled programs on disk and
load them in later processes (a new Python session, every ``GridSearchCV(n_jobs=...)``
worker); loading one takes a fraction of compiling it. :func:`enable_compilation_cache`
turns that on when the engine is first loaded (``skbnnsde/engines/jax/__init__.py``):

* the folder is :func:`default_cache_dir` (``$XDG_CACHE_HOME/skbnnsde/jax``, else
  ``~/.cache/skbnnsde/jax``; ``%LOCALAPPDATA%`` on Windows, ``~/Library/Caches`` on macOS),
  created readable by its owner only;
* the environment variable ``SKBNNSDE_JAX_CACHE`` chooses: unset or ``1`` the default folder,
  a path that folder, ``0`` (or ``off``, ``false``, ``no``) no cache;
* a cache folder the user gave JAX itself (``JAX_COMPILATION_CACHE_DIR`` or
  ``jax.config.update("jax_compilation_cache_dir", ...)``) is used untouched, as is
  ``JAX_ENABLE_COMPILATION_CACHE=0``;
* the thresholds below which JAX would not store a program (compile time 1 s) are lowered
  so that every program of the engine is kept, unless the user set them.

JAX trusts the folder's contents: do not point it at a folder others may write to.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: models whose compiled programs each in-process cache keeps (least recently used first out).
#: Every compiled program holds memory maps of its machine code (some 600 maps for a model's
#: fit and predictions); a process that fitted ~100 differently shaped models (a grid search,
#: a test suite) exhausted Linux's default 65,530 maps and crashed inside XLA's compiler. An
#: evicted model's programs come back from the persistent cache when it is fitted again.
COMPILED_MODELS = 8

#: the environment variable that picks the cache folder: unset/``1`` default, a path, ``0`` off
ENV_VAR = "SKBNNSDE_JAX_CACHE"
_OFF = {"0", "off", "false", "no", "none"}
_ON = {"", "1", "on", "true", "yes"}
#: JAX's thresholds (default 1 s and 0 bytes), lowered unless the user set them
_THRESHOLDS = {
    "jax_persistent_cache_min_compile_time_secs": (1.0, 0.0),
    "jax_persistent_cache_min_entry_size_bytes": (0, -1),
}


def default_cache_dir(environ=None) -> Path:
    """The per-user folder of the cache: ``<user cache folder>/skbnnsde/jax``.

    The user cache folder is ``$XDG_CACHE_HOME`` when set, else ``%LOCALAPPDATA%`` on
    Windows, ``~/Library/Caches`` on macOS and ``~/.cache`` elsewhere.

    Examples
    --------
    >>> default_cache_dir({"XDG_CACHE_HOME": "/tmp/cache"}).as_posix()
    '/tmp/cache/skbnnsde/jax'
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME")
    if not base and sys.platform == "win32":
        base = env.get("LOCALAPPDATA")
    if not base:
        base = "~/Library/Caches" if sys.platform == "darwin" else "~/.cache"
    return Path(base).expanduser() / "skbnnsde" / "jax"


def requested_cache_dir(environ=None):
    """The folder ``SKBNNSDE_JAX_CACHE`` asks for: a ``Path``, or None when it turns the cache off.

    Examples
    --------
    >>> requested_cache_dir({"SKBNNSDE_JAX_CACHE": "0"}) is None
    True
    >>> requested_cache_dir({"SKBNNSDE_JAX_CACHE": "/tmp/jc"}).as_posix()
    '/tmp/jc'
    """
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "").strip()
    if value.lower() in _OFF:
        return None
    if value.lower() in _ON:
        return default_cache_dir(env)
    return Path(value).expanduser()


def enable_compilation_cache(environ=None, config=None):
    """Point JAX's persistent compilation cache at :func:`requested_cache_dir`; returns the folder in use.

    Does nothing when JAX already has a cache folder (the user's: returned as it is), when
    JAX's cache is disabled or ``SKBNNSDE_JAX_CACHE=0`` (returns None), or when the folder
    cannot be created (returns None; fits then compile as without a cache). Otherwise it
    creates the folder, sets ``jax_compilation_cache_dir`` and lowers the minimum compile
    time and entry size of a stored program to 0, each only if the user left it at JAX's
    default and did not set it in the environment.

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (default ``os.environ``).
    config : optional
        JAX's configuration (default ``jax.config``): attributes named like the options, and
        ``update(name, value)``.

    Examples
    --------
    >>> import jax
    >>> enable_compilation_cache() == cache_dir()  # the engine has called it: nothing changes
    True
    """
    env = os.environ if environ is None else environ
    if config is None:
        import jax

        config = jax.config
    current = getattr(config, "jax_compilation_cache_dir", None)
    if current:
        return str(current)
    if not getattr(config, "jax_enable_compilation_cache", True):
        return None
    path = requested_cache_dir(env)
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    config.update("jax_compilation_cache_dir", str(path))
    for name, (jax_default, ours) in _THRESHOLDS.items():
        if name.upper() not in env and getattr(config, name, jax_default) == jax_default:
            config.update(name, ours)
    return str(path)


def cache_dir():
    """The folder JAX's persistent compilation cache uses now, or None.

    Examples
    --------
    >>> import jax
    >>> folder = cache_dir()
    >>> folder is None or folder == jax.config.jax_compilation_cache_dir
    True
    """
    import jax

    if not jax.config.jax_enable_compilation_cache:
        return None
    return jax.config.jax_compilation_cache_dir or None
