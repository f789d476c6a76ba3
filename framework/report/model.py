"""The report model: one JSON-ready dict built from export documents.

A run's report is built from the same documents `--export-dir` writes (one full JSON export
per session day, `mismartera.session/1`): `mismartera report DIR` reads them back, and
`backtest --report` snapshots each day at its end and feeds the same builder, so the numbers
in a report are the export's by construction.

Large runs: the page embeds at most `max_bars` bars, given out from the coarsest interval
to the finest (`ReportBuilder._limits`), and a series at most `max_points`. A longer series
keeps its most recent whole days that fit (`"first_day"` and `"total_bars"` say what was
cut), so the coarse intervals still span the whole run while the base interval shows the
last days at full resolution; nothing is resampled, so every embedded bar is an exported one
(prices to 8 significant digits). The equity curve is strided to at most `EQUITY_POINTS`
points (the last point always kept).
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mismartera.errors import DataError
from mismartera.intervals import Interval

SCHEMA = "mismartera.session/1"
MAX_POINTS = 50_000
"""Bars embedded per (symbol, interval) series by default."""
MAX_BARS = 200_000
"""Bars embedded in the whole page by default (all symbols and intervals together)."""
EQUITY_POINTS = 10_000
"""Points of the equity curve embedded at most (fewer when `max_points` is lower)."""
LOD_BARS = 2_000
"""Candles a chart draws in view at most: zoomed out further, it draws the finest coarser
interval of the record whose bars in view fit (see docs/report.md)."""
DIGITS = 8
"""Significant digits of the embedded prices and indicator values (the exports keep all)."""

_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")


def _local(stamp: str | None) -> str | None:
    """An export stamp (ISO with the exchange's offset) as exchange-local wall time without
    the offset, which is what the charts show."""
    if stamp is None:
        return None
    return datetime.datetime.fromisoformat(stamp).replace(tzinfo=None).isoformat()


def _clean(value: Any) -> Any:
    """NaN and infinities as null (JSON.parse rejects them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _short(values: list[Any]) -> list[Any]:
    """Numbers to `DIGITS` significant digits (a chart shows fewer; the synthetic source's
    and computed values have 17, which would double the page), NaN as null."""
    out = []
    for v in values:
        if isinstance(v, float):
            v = float(f"{v:.{DIGITS}g}") if math.isfinite(v) else None
        out.append(v)
    return out


class _Series:
    __slots__ = ("days", "indicators", "ts", "values")

    def __init__(self) -> None:
        self.ts: list[str] = []
        self.values: list[list[float]] = [[], [], [], [], []]
        self.indicators: dict[str, list[float | None]] = {}
        self.days: list[tuple[str, int]] = []  # (date, bars that day)


class ReportBuilder:
    """Feed it full export documents in day order (`add`), then take `model()`."""

    def __init__(self, max_points: int = MAX_POINTS, max_bars: int = MAX_BARS) -> None:
        if max_points < 1 or max_bars < 1:
            raise ValueError("max_points and max_bars must be at least 1")
        self.max_points = max_points
        self.max_bars = max_bars
        self.exchange: str | None = None
        self.sessions: list[dict[str, Any]] = []
        self.series: dict[str, dict[str, _Series]] = {}
        self.base: dict[str, str] = {}
        self.derived: dict[str, dict[str, bool]] = {}
        self.quality: list[dict[str, Any]] = []
        self.gaps: list[dict[str, Any]] = []
        self.last: dict[str, Any] = {}
        self.errors: list[str] = []

    def add(self, doc: dict[str, Any], source: str = "export") -> None:
        """One day's full export document."""
        if doc.get("schema") != SCHEMA:
            raise DataError(f"{source}: not a mismartera export (schema {doc.get('schema')!r}, "
                            f"expected {SCHEMA!r})")
        if doc.get("delta"):
            raise DataError(f"{source}: a delta export; a report needs full exports")
        session = doc.get("session") or {}
        date = session.get("date")
        if date is None:
            raise DataError(f"{source}: the export has no session day")
        if self.sessions and self.sessions[-1]["date"] == date:
            raise DataError(f"{source}: session day {date} given twice")
        self.exchange = session.get("exchange")
        self.sessions.append({"date": date, "open": _local(session.get("open")),
                              "close": _local(session.get("close"))})
        for symbol, sdoc in (doc.get("symbols") or {}).items():
            self.base[symbol] = sdoc.get("base_interval")
            mine = self.series.setdefault(symbol, {})
            kinds = self.derived.setdefault(symbol, {})
            for name, block in (sdoc.get("bars") or {}).items():
                kinds[name] = bool(block.get("derived"))
                s = mine.setdefault(name, _Series())
                before = len(s.ts)
                rows = block.get("data") or []
                for row in rows:
                    s.ts.append(_local(row[0]) or "")
                    for j in range(5):
                        s.values[j].append(row[j + 1])
                indicators = block.get("indicators") or {}
                for key in set(s.indicators) | set(indicators):
                    column = s.indicators.setdefault(key, [None] * before)
                    got = indicators.get(key)
                    column.extend(got if got is not None else [None] * len(rows))
                s.days.append((date, len(rows)))
                gaps = block.get("gaps") or {}
                self.quality.append({
                    "date": date, "symbol": symbol, "interval": name,
                    "quality": block.get("quality"), "bars": len(rows),
                    "gap_count": gaps.get("gap_count", 0),
                    "missing_bars": gaps.get("missing_bars", 0),
                })
                step = datetime.timedelta(seconds=Interval.parse(name).seconds)
                for r in gaps.get("ranges") or []:
                    end = datetime.datetime.fromisoformat(r["end"]).replace(tzinfo=None)
                    self.gaps.append({"date": date, "symbol": symbol, "interval": name,
                                      "start": _local(r["start"]), "end": _local(r["end"]),
                                      "until": (end + step).isoformat(),
                                      "bar_count": r["bar_count"]})
        self.errors += [f"{date}: {e}" for e in doc.get("errors") or []]
        self.last = doc

    def finish(self, doc: dict[str, Any], bars_read: int | None = None) -> None:
        """The run's end state (metrics, rejected, strategy) from a final snapshot, whose
        bars were already added with its day."""
        self.last = {**doc, "bars_read": bars_read}

    # --- the model ------------------------------------------------------------------------

    def model(self, calendar: Any | None = None) -> dict[str, Any]:
        """The report's data: everything the page shows, JSON-ready."""
        if not self.sessions:
            raise DataError("no session day to report on")
        days = [s["date"] for s in self.sessions]
        holidays, early = _calendar_days(calendar, self.exchange, self.sessions)
        metrics = self.last.get("metrics") or {}
        rejected = {k: int(v) for k, v in (self.last.get("rejected") or {}).items()}
        stored = int(metrics.get("bars_processed", 0))
        bars_read = self.last.get("bars_read")
        summary = {
            "start": days[0], "end": days[-1], "exchange": self.exchange,
            "symbols": list(self.series), "days": len(days),
            "holidays": holidays, "early_closes": early,
            "bars_in": stored + sum(rejected.values()),
            "bars_read": int(bars_read) if bars_read is not None else None,
            "bars_stored": stored, "bars_rejected": sum(rejected.values()),
            "rejected": rejected,
        }
        limits = self._limits()
        symbols = {}
        for symbol, by_interval in self.series.items():
            order = sorted(by_interval, key=lambda n: Interval.parse(n).ns)
            symbols[symbol] = {
                "base_interval": self.base.get(symbol),
                "intervals": {n: {"seconds": Interval.parse(n).seconds,
                                  **self._series(by_interval[n], self.derived[symbol][n],
                                                 limits[symbol, n])}
                              for n in order},
            }
        model: dict[str, Any] = {
            "schema": "mismartera.report/1",
            "summary": summary,
            "sessions": self.sessions,
            "quality": self.quality,
            "gaps": self.gaps,
            "gap_counts": dict(Counter(f"{g['symbol']}|{g['interval']}" for g in self.gaps)),
            "symbols": symbols,
            "errors": self.errors,
            "max_points": self.max_points,
            "max_bars": self.max_bars,
            "lod_bars": LOD_BARS,
        }
        strategy = self.last.get("strategy")
        if strategy is not None:
            model["strategy"] = self._strategy(strategy)
        return model

    def _limits(self) -> dict[tuple[str, str], int]:
        """The bars each (symbol, interval) series may embed (see docs/report.md): the page's
        `max_bars`, given out from the coarsest interval to the finest. An interval is
        embedded whole (every symbol's series) while that takes at most half of what is
        left; from the first one that does not, each series gets an equal share of what is
        left over the series still to come, and what one does not use passes on to the
        finer ones. A series never takes more than `max_points`."""
        by_ns: dict[int, list[tuple[str, str, int]]] = {}
        for symbol, by_interval in self.series.items():
            for name, s in by_interval.items():
                by_ns.setdefault(Interval.parse(name).ns, []).append((symbol, name, len(s.ts)))
        left = self.max_bars
        limits: dict[tuple[str, str], int] = {}
        levels = sorted(by_ns, reverse=True)
        whole = True
        for i, ns in enumerate(levels):
            group = by_ns[ns]
            need = sum(min(total, self.max_points) for _, _, total in group)
            whole = whole and i < len(levels) - 1 and need <= left // 2
            still = sum(len(by_ns[k]) for k in levels[i:])
            share = self.max_points if whole else min(self.max_points, max(1, left // still))
            for symbol, name, total in group:
                limits[symbol, name] = share
                left -= min(total, share)
            left = max(left, 0)
        return limits

    def _series(self, s: _Series, derived: bool, limit: int) -> dict[str, Any]:
        total = len(s.ts)
        keep = 0
        first_day = s.days[0][0] if s.days else None
        for date, n in reversed(s.days):
            if keep and keep + n > limit:
                break
            keep += n
            first_day = date
        keep = min(keep, total) if keep <= limit else limit
        cut = total - keep
        return {
            "derived": derived, "total_bars": total, "first_day": first_day,
            "truncated": cut > 0, "last_day": s.days[-1][0] if s.days else None,
            "ts": s.ts[cut:],
            "open": _short(s.values[0][cut:]), "high": _short(s.values[1][cut:]),
            "low": _short(s.values[2][cut:]), "close": _short(s.values[3][cut:]),
            "volume": s.values[4][cut:],
            "indicators": {k: _short(col[cut:]) for k, col in s.indicators.items()},
        }

    def _strategy(self, doc: dict[str, Any]) -> dict[str, Any]:
        rows = (doc.get("equity") or {}).get("data") or []
        stride = max(1, math.ceil(len(rows) / min(self.max_points, EQUITY_POINTS)))
        picked = rows[::stride]
        if rows and picked[-1] is not rows[-1]:
            picked.append(rows[-1])
        ts, equity, peak, drawdown = [], [], -math.inf, []
        for row in picked:
            ts.append(_local(row[0]))
            equity.append(row[1])
        for e in (r[1] for r in rows):  # drawdown over every point, then strided alike
            peak = max(peak, e)
            drawdown.append(e / peak - 1.0 if peak > 0 else 0.0)
        dd = drawdown[::stride]
        if rows and len(dd) < len(picked):
            dd.append(drawdown[-1])
        trades = [{**t, "entry_ts": _local(t.get("entry_ts")), "exit_ts": _local(t.get("exit_ts"))}
                  for t in doc.get("trades") or []]
        return {
            "name": doc.get("name"), "params": doc.get("params") or {},
            "interval": doc.get("interval"),
            "cash_start": doc.get("cash_start"), "equity_end": doc.get("equity_end"),
            "stats": {k: _clean(v) for k, v in (doc.get("stats") or {}).items()},
            "trades": trades, "orders": len(doc.get("orders") or []),
            "equity": {"ts": ts, "equity": equity, "drawdown": dd, "points": len(rows)},
        }


def _calendar_days(calendar: Any | None, exchange: str | None,
                   sessions: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    """Weekdays between the first and last day on which the exchange held no session, and
    the sessions met that closed before the exchange's regular close."""
    if calendar is None:
        if exchange is None:
            return [], []
        from mismartera.calendar import TimeManager

        calendar = TimeManager(exchange)
    first = datetime.date.fromisoformat(sessions[0]["date"])
    last = datetime.date.fromisoformat(sessions[-1]["date"])
    holidays = []
    d = first
    while d <= last:
        if d.weekday() < 5 and not calendar.is_trading_day(d):
            holidays.append(d.isoformat())
        d += datetime.timedelta(days=1)
    # the regular close: the most common local close time over the surrounding sessions
    lo = max(calendar.first_date, first - datetime.timedelta(days=60))
    hi = min(calendar.last_date, last + datetime.timedelta(days=60))
    closes = Counter(calendar.to_local(c).time() for c in calendar.sessions(lo, hi).closes)
    regular = closes.most_common(1)[0][0] if closes else None
    early = []
    for s in sessions:
        close = datetime.datetime.fromisoformat(s["close"]) if s["close"] else None
        if close is not None and regular is not None and close.time() < regular:
            early.append({"date": s["date"], "close": s["close"],
                          "regular_close": regular.isoformat()})
    return holidays, early


def read_exports(run: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """The full export documents of a run: an export directory (its `YYYY-MM-DD.json` day
    files, in order; intraday `...THHMM.json` snapshots are skipped) or one JSON file."""
    path = Path(run)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if _DAY_FILE.match(p.name))
        if not files:
            raise DataError(f"{path}: no daily export (YYYY-MM-DD.json) in this directory")
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"{path}: no such export directory or JSON file")
    docs = []
    for i, f in enumerate(files):
        try:
            text = f.read_text()
            docs.append((str(f), _load(text, whole=i == len(files) - 1)))
        except (OSError, ValueError) as e:
            raise DataError(f"{f}: not a readable JSON export ({e})") from None
    return docs


_STRATEGY_KEY = '\n "strategy": '


def _load(text: str, whole: bool) -> Any:
    """One export document. A day before the last needs no strategy block (the run's end
    state is the last day's), and a strategy run writes the whole run's trades, orders and
    equity into every day's export, so reading them all would cost quadratic time: the
    indented JSON exporter writes `"strategy"` as a top-level key on a line of its own (a
    raw newline cannot occur inside a JSON string), so the text before it is parsed alone.
    Any other layout is parsed whole."""
    if not whole:
        at = text.find(_STRATEGY_KEY)
        if at > 0:
            head = text[:at].rstrip()
            if head.endswith(","):
                try:
                    return json.loads(head[:-1] + "\n}")
                except ValueError:
                    pass
    return json.loads(text)


def build_model(docs: Iterable[tuple[str, dict[str, Any]]], max_points: int = MAX_POINTS,
                calendar: Any | None = None, max_bars: int = MAX_BARS) -> dict[str, Any]:
    builder = ReportBuilder(max_points, max_bars)
    for source, doc in docs:
        builder.add(doc, source)
    return builder.model(calendar)


class ReportCollector:
    """`backtest --report`: snapshots each session day at its end (the export document
    `--export-dir` would write) into a `ReportBuilder`; `write` adds the run's end state."""

    def __init__(self, exchange: str, max_points: int = MAX_POINTS) -> None:
        from mismartera.calendar import TimeManager

        self.calendar = TimeManager(exchange)
        self.builder = ReportBuilder(max_points)

    def day_end(self, coordinator: Any, day: Any) -> None:
        from mismartera.export import snapshot

        doc, _ = snapshot(coordinator.session_data, self.calendar)
        self.builder.add(doc, f"session day {day}")

    def model(self, session_data: Any) -> dict[str, Any]:
        from mismartera.export import snapshot

        doc, _ = snapshot(session_data, self.calendar)
        metrics = session_data.metrics
        self.builder.finish(doc, bars_read=metrics.bars_read if metrics is not None else None)
        return self.builder.model(self.calendar)
