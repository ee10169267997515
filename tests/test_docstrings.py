"""The examples in the docstrings of every public module run and print what they show.

Each module of ``skbnnsde`` and ``jaxsde`` is a test of its own; a module that needs an
engine that is not installed is skipped with the reason (CI installs both, so it skips none).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import skbnnsde

ENGINE_PACKAGES = {"skbnnsde.engines.torch": "torch", "skbnnsde.engines.jax": "jax", "jaxsde": "jax"}


def _module_names():
    names = ["skbnnsde"]
    names += [m.name for m in pkgutil.walk_packages(skbnnsde.__path__, "skbnnsde.")]
    try:
        import jaxsde
    except ImportError:
        pass
    else:
        names += ["jaxsde"] + [m.name for m in pkgutil.walk_packages(jaxsde.__path__, "jaxsde.")]
    return sorted(names)


def _needs(name):
    for prefix, package in ENGINE_PACKAGES.items():
        if name == prefix or name.startswith(prefix + "."):
            return package
    return None


@pytest.mark.parametrize("name", _module_names())
def test_docstring_examples(name):
    needs = _needs(name)
    if needs is not None:
        pytest.importorskip(needs, reason=f"{name} needs {needs}, which is not installed")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed"
