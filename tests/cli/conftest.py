"""Fixtures shared by the CLI and shell tests."""

import pytest

from tests.support.engine import CALENDAR
from tests.support.shell import DAY, Gate, Shell


@pytest.fixture
def gated(tmp_path):
    """A shell whose sessions are held at 10:00 and 11:00 of 2014-12-01."""
    gate = Gate(CALENDAR.local_ns(DAY, 10, 0), CALENDAR.local_ns(DAY, 11, 0))
    shell = Shell(observers=[gate], confirm_timeout=0.05)
    yield shell, gate, tmp_path
    gate.release(10)
    shell.app.close()
    assert shell.app.run is None or shell.app.run.done
