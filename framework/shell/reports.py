"""What the shell says about a run: the one-line outcome of a session (`outcome`), the rows
of `system status` (`status_rows`) and the summary said when an added symbol has loaded
(`added_summary`). Pure functions of a `SessionRun` and plain values; `ShellApp` prints them.
"""

from __future__ import annotations

from typing import Any

from mismartera.shell.runner import FAILED, FINISHED, STOPPED, SessionRun, describe_error


def outcome(run: SessionRun) -> str:
    """How a run ended (or that it still runs), in one line."""
    c = run.coordinator
    m = c.metrics
    days = f"{m.trading_days} of {len(c.days)} trading day{'s' if len(c.days) != 1 else ''}"
    bars = f"{m.bars_processed:,} bars"
    if run.state == FINISHED:
        last = c.session_data.date
        return f"session finished: {days}, {bars}, last session {last} ({run.elapsed_s:.1f} s)"
    if run.state == STOPPED:
        when = "before the first session"
        if c.clock is not None:
            when = c.calendar.to_local(c.now_ns).strftime("%Y-%m-%d %H:%M:%S %Z")
        return f"session stopped at {when}: {days}, {bars} ({run.elapsed_s:.1f} s)"
    if run.state == FAILED:
        assert run.error is not None
        return f"session failed: {describe_error(run.error)}"
    return "session running"


def status_rows(run: SessionRun, pending: str = "") -> list[tuple[str, str]]:
    """The `system status` grid as (key, value) rows; `pending` lists the symbol
    operations not yet applied ("" for none)."""
    from mismartera.shell.render import local_time

    c = run.coordinator
    cfg = c.config
    sd = c.session_data
    with sd.lock:
        date, symbols, active = sd.date, sd.symbols(), sd.active
        m = c.metrics
        processed, derived, days_done = m.bars_processed, m.bars_derived, m.trading_days
    state = run.state
    if state == FAILED:
        assert run.error is not None
        state = f"failed: {describe_error(run.error)}"
    alive = run.thread.is_alive()
    n_days = len(c.days)
    speed = "0 (as fast as the data allows)" if not cfg.speed else f"{cfg.speed:g}x real time"
    rows = [
        ("session", state),
        ("mode", cfg.mode),
        ("exchange", cfg.exchange),
        ("date", f"{date or '-'} ({'active' if active else 'not active'}; day "
                 f"{min(days_done + (1 if active else 0), n_days)} of {n_days}, "
                 f"{cfg.start}..{cfg.end})"),
        ("clock", local_time(c.calendar, c.now_ns or None, with_date=True)),
        ("speed", speed),
        ("symbols", ", ".join(symbols) or "none"),
        ("bars processed", f"{processed:,} (derived {derived:,})"),
        ("thread", f"{run.thread.name}: {'alive' if alive else 'ended'} "
                   f"({run.elapsed_s:.1f} s)"),
        ("components", ", ".join(type(x).__name__ for x in c.components)
         + (" (alive)" if alive else " (ended)")),
        ("source", f"{c.source.name} ({type(c.source).__name__})"),
    ]
    gap_fill = getattr(m, "gap_fill", None)
    if gap_fill is not None:  # a live session
        counts = gap_fill()
        rows.append(("gap filling", ", ".join(f"{k.replace('_', ' ')} {v:,}"
                                              for k, v in counts.items())))
    if pending:
        rows.append(("pending", pending))
    if run.exports:
        rows.append(("exports", ", ".join(str(p) for p in run.exports[-3:])))
    return rows


def added_summary(run: SessionRun, symbol_data: Any) -> str:
    """What an added symbol brought: historical days, base bars, quality. Called under the
    SessionData lock."""
    hist = symbol_data.historical
    base = symbol_data.base
    n = len(base.data)
    last = ""
    if n:
        ts = int(base.data.last()[0])
        last = f" up to {run.coordinator.calendar.to_local(ts).strftime('%H:%M')}"
    return (f"{len(hist.days)} historical days; {base.interval.name}: {n} bars{last}, "
            f"quality {base.quality:.2f}%")
