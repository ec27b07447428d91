"""The README's Python examples run as written and print what they promise."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
RUNNABLE = [b for b in BLOCKS if "import tinygrad_edu as tg" in b and "print(" in b]


def test_readme_has_runnable_examples():
    assert len(RUNNABLE) >= 3


@pytest.mark.parametrize("index", range(len(RUNNABLE)))
def test_readme_example_runs(index):
    if "Digits" in RUNNABLE[index]:
        pytest.importorskip("sklearn")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(RUNNABLE[index], f"README block {index}", "exec"), {})
    printed = out.getvalue()
    assert printed.strip()
    if "gradcheck" in RUNNABLE[index]:
        assert "True" in printed and "False" not in printed
