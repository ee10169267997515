"""Every ```python block of docs/jaxsde.md runs as written (each in a fresh namespace) and
prints what its comments say.

A ``print(...)`` line's trailing ``# ...`` comment is its expected output: either exactly the
printed line, or the printed line followed by ``:`` or ``;`` and prose. Every ``print`` line
in the blocks carries such a comment, so a claim the test cannot check cannot be written
as a print's comment.
"""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "jaxsde.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
PRINT_LINE = re.compile(r"^\s*print\(.*\)\s+# (.*)$")


def expected_outputs(block):
    """The ``# ...`` comment of each ``print(`` line of ``block``, in order."""
    lines = [line for line in block.splitlines() if line.lstrip().startswith("print(")]
    matches = [PRINT_LINE.match(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches) if not m]  # each print says its output
    return [m.group(1).rstrip() for m in matches]


def matches_comment(printed, comment):
    return comment == printed or (comment.startswith(printed) and comment[len(printed)] in ":;")


def test_doc_has_an_example_of_each_entry_point():
    """The blocks call every public entry point at least once."""
    code = "\n".join(BLOCKS)
    for name in ("sdeint(", "sdeint_ito_fixed_grid(", "sdeint_ito(", "sdeint_strat(",
                 'adjoint="reversible"', "VirtualBrownianTree(", "GridIncrements("):
        assert name in code, name


def test_comment_matching_rejects_wrong_outputs():
    """The comparison accepts the output alone or followed by ':'/';' prose, and nothing else."""
    assert matches_comment("(2, 3)", "(2, 3)") and matches_comment("(2, 3)", "(2, 3); prose")
    assert matches_comment("True", "True: prose")
    for comment in ("(2, 3, 1)", "(2, 4)", "(2, 3) prose", "(2, 3)x", "False: prose", "", "(2,"):
        assert not matches_comment("(2, 3)", comment), comment


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_python_block_runs_and_prints_its_comments(index, tmp_path, monkeypatch, capsys):
    """Block ``index`` runs, and each print line prints what its ``# ...`` comment says."""
    expected = expected_outputs(BLOCKS[index])
    assert expected, "every block shows its result with a commented print"
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"docs/jaxsde.md[python block {index}]", "exec"), {"__name__": "__doc__"})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(expected), (printed, expected)
    for out, comment in zip(printed, expected):
        assert matches_comment(out.strip(), comment), (out, comment)
