"""The README's commands and code blocks are part of the interface: they must run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_has_the_two_setup_commands():
    commands = [b.strip() for b in _blocks("bash")]
    assert any("examples/quickstart.py" in c for c in commands), "the main-example command is missing"
    assert any("pytest" in c for c in commands), "the test command is missing"


def test_ci_runs_exactly_the_readme_test_command():
    test_cmd = next(b.strip() for b in _blocks("bash") if "pytest" in b)
    # the README's command creates and activates its venv; .ci/run makes a fresh one itself
    install_and_test = test_cmd.split(". .venv/bin/activate && ", 1)[1]
    assert install_and_test in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_readme_python_block_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = _blocks("python")[index]
    exec(compile(code, f"README.md[python block {index}]", "exec"), {"__name__": "__readme__"})
