"""Every ```python block of docs/jaxsde.md runs as written (each in a fresh namespace)."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "jaxsde.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_doc_has_an_example_of_each_entry_point():
    code = "\n".join(BLOCKS)
    for name in ("sdeint(", "sdeint_ito_fixed_grid(", "sdeint_ito(", "sdeint_strat(",
                 'adjoint="reversible"', "VirtualBrownianTree(", "GridIncrements("):
        assert name in code, name


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_python_block_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"docs/jaxsde.md[python block {index}]", "exec"), {"__name__": "__doc__"})
