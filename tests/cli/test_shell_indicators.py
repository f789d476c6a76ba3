"""The shell's `indicator add SPEC`: checked at once (an error line, the session goes on),
applied at the next clock step, shown by `data session`, and the session ends with the
record of one that had the indicator configured from the start."""

from __future__ import annotations

import json
from dataclasses import replace

from mismartera.config import IndicatorSpec, SessionConfig
from mismartera.export import snapshot
from mismartera.session.coordinator import SessionCoordinator
from tests.support.engine import dumps, plugins
from tests.support.shell import write_session


def test_indicator_add_mid_session_is_seeded_as_at_start_up(gated):
    shell, gate, tmp = gated
    path = write_session(tmp)
    assert shell.run(f"system start {path}")[0]
    gate.wait()  # held at 10:00 on the first day

    for line, message in [
        ("indicator add nope@5m", "unknown indicator 'nope'"),
        ("indicator add sma:period=0@5m", "bad parameters for indicator 'sma'"),
        ("indicator add sma:period=20@30m", "which is not one of the streams (1m, 5m, 15m, 1h)"),
        ("indicator add sma:period=20", "bad indicator spec"),
        ("indicator add", "usage: indicator add SPEC"),
    ]:
        ok, out, err = shell.run(line)
        assert not ok and out == "" and message in err, line
        assert err.startswith("error: ") and err.count("\n") == 1
    assert shell.app.exit_code == 2 and shell.app.run.thread.is_alive()

    ok, out, err = shell.run("indicator add sma:period=20@5m")
    assert ok and err == ""
    assert "sma_20_5m: requested; it will be added at the next clock step" in out
    assert "not applied yet" in out  # the clock is held
    gate.release()
    gate.wait()  # 11:00: applied before the clock moved on
    ok, out, err = shell.run("data session")
    assert ok and err == "" and "sma_20_5m added: 1 symbol" in out
    assert "sma_20_5m" in out.split("sma_20_5m added", 1)[1]  # the table shows it
    ok, out, err = shell.run("indicator add sma:period=20@5m")
    assert not ok and "indicator sma_20_5m is running already" in err

    gate.release(10)
    assert shell.run("system wait 60")[0]
    assert shell.run(f"export {tmp / 'shell.json'}")[0]
    got = json.loads((tmp / "shell.json").read_text())
    cfg = SessionConfig.from_toml(path)
    cfg = replace(cfg, indicators=(IndicatorSpec.parse("sma:period=20@5m"),))
    coordinator = SessionCoordinator(cfg, plugins=plugins())
    coordinator.run()
    want, _ = snapshot(coordinator.session_data, coordinator.calendar)
    assert got["symbols"]["SYN0"]["indicators"]["sma_20_5m"]["ready"]
    assert dumps(got) == dumps(json.loads(json.dumps(want)))
