"""A full disk is reported as such, naming the file, and leaves what was there unchanged."""

from __future__ import annotations

import errno

import pytest

from mismartera.errors import RunError
from mismartera.export import atomic_write


def enospc(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_export_write_names_the_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RunError) as info, atomic_write(target) as fh:
        fh.write("new")
        enospc()
    assert str(info.value) == f"cannot write {target}: No space left on device"
    assert info.value.exit_code == 1
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
