"""The busy-machine runner (``make test-busy``): runs the command beside busy loops, keeps its status."""

from __future__ import annotations

import sys

import pytest

from tests.tools import busy


@pytest.mark.parametrize("status", [0, 3])
def test_the_command_status_is_returned(status: int, capsys: pytest.CaptureFixture[str]) -> None:
    code = f"raise SystemExit({status})"
    assert busy.main(["--hogs", "1", "--", sys.executable, "-c", code]) == status
    summary = capsys.readouterr().err
    assert f"command exit {status}" in summary
    assert "1 busy loops" in summary


def test_a_command_is_required() -> None:
    with pytest.raises(SystemExit) as raised:
        busy.main(["--hogs", "0"])
    assert raised.value.code == 2
