"""The README's trading example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_tradingExample_runsAndVerifies(capsys: pytest.CaptureFixture[str]) -> None:
    section = README.read_text().split("## Trading", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    exec(compile(code.group(1), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "1500 Wh at 0.24 $/kWh" in printed
