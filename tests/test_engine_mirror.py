"""The two engines are mirror images: the same modules, public functions and signatures.

docs/engines.md lists what each function computes; this test keeps the two engines from
drifting apart in name, argument list or module (annotations may name framework types).
"""

from __future__ import annotations

import importlib
import inspect

import pytest
from skbnnsde.engines import is_installed

MODULES = ("activations", "likelihoods", "model", "solve", "train", "engine")

pytestmark = pytest.mark.skipif(not (is_installed("jax") and is_installed("torch")), reason="needs both engines")


def public_functions(module) -> dict:
    """name -> parameter list (names, kinds, defaults) of the functions defined in ``module``."""
    out = {}
    for name, fn in vars(module).items():
        if inspect.isfunction(fn) and fn.__module__ == module.__name__ and not name.startswith("_"):
            params = inspect.signature(fn).parameters.values()
            out[name] = [(p.name, p.kind, p.default) for p in params]
    return out


@pytest.mark.parametrize("module", MODULES)
def test_engine_modules_have_the_same_public_functions(module):
    jax_mod = importlib.import_module(f"skbnnsde.engines.jax.{module}")
    torch_mod = importlib.import_module(f"skbnnsde.engines.torch.{module}")
    jax_fns, torch_fns = public_functions(jax_mod), public_functions(torch_mod)
    assert sorted(jax_fns) == sorted(torch_fns)
    for name in jax_fns:
        assert jax_fns[name] == torch_fns[name], f"{module}.{name} differs between the engines"


def test_engine_classes_have_the_same_methods():
    from skbnnsde.engines.jax import JaxEngine
    from skbnnsde.engines.protocol import Engine
    from skbnnsde.engines.torch import TorchEngine

    def methods(cls):
        return {name: [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
                for name, fn in vars(cls).items() if inspect.isfunction(fn) and not name.startswith("_")}

    jax_methods, torch_methods, protocol = methods(JaxEngine), methods(TorchEngine), methods(Engine)
    assert jax_methods == torch_methods
    assert set(protocol) <= set(jax_methods)
    for name in protocol:
        assert [p[0] for p in protocol[name]] == [p[0] for p in jax_methods[name]], name


def test_every_documented_function_exists():
    """Each function in docs/engines.md's table of the engines resolves in both engines."""
    import pathlib
    import re

    text = (pathlib.Path(__file__).parents[1] / "docs" / "engines.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    names = {m for line in rows for m in re.findall(r"^\| `(activations|likelihoods|model|solve|train)\.(\w+)`", line)}
    assert len(names) >= 15
    for module, name in names:
        for engine in ("jax", "torch"):
            mod = importlib.import_module(f"skbnnsde.engines.{engine}.{module}")
            assert hasattr(mod, name), f"docs/engines.md names {module}.{name}, missing in the {engine} engine"
