"""The plan of a sweep: the job (`SweepJob`, plain data read from a session file), its grid, its
symbol sets, its date windows or walk-forward folds, and the tasks (`Task`, one backtest each)
with ids that stay the same from run to run.

Everything here is plain data (strings, numbers, tuples, dicts shaped like the session file):
a task names its strategy and source by plugin name and parameters, so it runs the same
under fork and spawn, in a local process pool or on a Ray cluster. Bad input (an unknown or
badly typed grid parameter, a name clashing with a result column, a walk-forward longer than
the period) is a one-sentence `ConfigError` raised before anything runs.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mismartera.config import SessionConfig
from mismartera.config.values import NAME_RE, parse_param_value, show, split_flag
from mismartera.errors import ConfigError
from mismartera.intervals import Period

if TYPE_CHECKING:
    from mismartera.calendar import TimeManager
    from mismartera.plugin_manager import PluginManager

STAT_COLUMNS = ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown",
                "calmar", "win_rate", "profit_factor", "trades", "avg_trade", "exposure")
"""The strategy statistics of a row (`mismartera.trading.stats.summary`)."""

HEAD_COLUMNS = ("task", "job", "status", "error", "attempts", "role", "fold", "window_start",
                "window_end", "symbols")
"""The columns before the grid parameters'."""

TAIL_COLUMNS = (*STAT_COLUMNS, "sessions", "returns_skew", "returns_kurtosis", "bars", "run_s",
                "worker", "daily_dates", "daily_returns", "trade_pnl", "equity_marks")
"""The columns after the grid parameters'."""

RESULT_COLUMNS = frozenset(HEAD_COLUMNS + TAIL_COLUMNS)

LOWER_IS_BETTER = frozenset({"volatility", "max_drawdown"})
"""Ranking metrics where the smallest value is the best."""

RANK_METRICS = tuple(c for c in STAT_COLUMNS if c != "trades")
WINDOWS = ("monthly", "quarterly", "yearly")
ROLES = ("full", "window", "train", "test", "oos")

_WINDOW_KEYS = {
    "monthly": lambda d: (d.year, d.month),
    "quarterly": lambda d: (d.year, (d.month - 1) // 3),
    "yearly": lambda d: (d.year,),
}


def canonical(value: Any) -> str:
    """`value` as canonical JSON (sorted keys, no spaces): what ids and fingerprints hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def digest(value: Any, length: int = 16) -> str:
    """A short stable hash (hex) of `value`'s canonical JSON."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()[:length]


# --- tasks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One backtest of a sweep: the grid point (`params`, sorted (name, value) pairs), the
    symbol set, the dates (ISO, inclusive), the role ("full" | "window" | "train" | "test")
    and the walk-forward fold. `id` hashes all of it with the job's fingerprint."""

    id: str
    params: tuple[tuple[str, Any], ...]
    symbols: tuple[str, ...]
    start: str
    end: str
    role: str = "full"
    fold: int | None = None

    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)


def make_task(fingerprint: str, params: Mapping[str, Any], symbols: Sequence[str], start: date,
              end: date, role: str, fold: int | None = None) -> Task:
    """A task with its stable id."""
    pairs = tuple(sorted(params.items()))
    fields = {"job": fingerprint, "params": [list(p) for p in pairs], "symbols": list(symbols),
              "start": start.isoformat(), "end": end.isoformat(), "role": role, "fold": fold}
    return Task(digest(fields), pairs, tuple(symbols), start.isoformat(), end.isoformat(), role,
                fold)


# --- the grid ------------------------------------------------------------------------------


Grid = dict[str, list[Any]]


def parse_grid(items: Iterable[str], flag: str = "--grid") -> Grid:
    """`["fast=5,10,20", "slow=30,50"]` as `{"fast": [5, 10, 20], "slow": [30, 50]}`; values
    int, then float, then bool, else str (as `--strategy NAME:k=v` reads them)."""
    grid: Grid = {}
    for item in items:
        name, sep, text = (part.strip() for part in str(item).partition("="))
        if not sep or not NAME_RE.match(name) or not text:
            raise ConfigError(f"{flag} {item!r}: expected PARAM=V1,V2,..., e.g. fast=5,10,20")
        if name in grid:
            raise ConfigError(f"{flag} {item!r}: parameter {name} is given twice")
        values = split_flag(text, f"{flag} {name}", "5,10,20")
        grid[name] = [parse_param_value(v) for v in values]
    return grid


def check_grid(grid: Mapping[str, Sequence[Any]], strategy_cls: Any, strategy: str) -> Grid:
    """The grid checked against the strategy's declared parameters: each name one of them and
    not a result column, each value of its type, no empty or repeated values."""
    if not grid:
        raise ConfigError("the sweep has no grid: give at least one --grid PARAM=V1,V2,...")
    valid = strategy_cls.parameters()
    out: Grid = {}
    for name, values in grid.items():
        where = f"--grid {name}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ConfigError(f"{where}: expected a parameter name of letters, digits and '_'")
        if name in RESULT_COLUMNS:
            raise ConfigError(f"{where}: {name} is also a result column; a strategy parameter "
                              f"swept must have another name")
        if name not in valid:
            raise ConfigError(f"{where}: strategy {strategy!r} has no parameter {name!r}; "
                              f"valid parameters: {strategy_cls.describe_params()}")
        values = list(values) if isinstance(values, list | tuple) else [values]
        if not values:
            raise ConfigError(f"{where}: expected at least one value")
        checked = []
        for value in values:
            try:
                checked.append(strategy_cls.resolve_params({name: value})[name])
            except ValueError as exc:
                raise ConfigError(f"{where}: bad value {show(value)} for strategy "
                                  f"{strategy!r}: {exc}") from None
        if len(set(map(canonical, checked))) < len(checked):
            raise ConfigError(f"{where}: a value is given twice")
        out[name] = checked
    return out


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination, the first parameter varying slowest (the grid order)."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(grid[n] for n in names))]


# --- windows and folds ---------------------------------------------------------------------


def add_months(d: date, months: int) -> date:
    """`d` moved by whole months (a day missing from the target month is clamped)."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + months, 12)
    following = date(year + (month0 + 1) // 12, (month0 + 1) % 12 + 1, 1)
    return date(year, month0 + 1, min(d.day, (following - timedelta(days=1)).day))


def shift(d: date, period: Period, times: int = 1) -> date:
    """`d` moved forward by `times` calendar periods (weeks, months or years)."""
    if period.unit == "w":
        return d + timedelta(weeks=period.count * times)
    return add_months(d, period.count * times * (12 if period.unit == "y" else 1))


def calendar_windows(days: Sequence[date], kind: str) -> list[tuple[date, date]]:
    """The first and last trading day of each month, quarter or year that `days` touch."""
    if kind not in _WINDOW_KEYS:
        raise ConfigError(f"--windows: expected one of {', '.join(WINDOWS)}, got {show(kind)}")
    key = _WINDOW_KEYS[kind]
    out = []
    for _, group in itertools.groupby(days, key):
        chunk = list(group)
        out.append((chunk[0], chunk[-1]))
    return out


@dataclass(frozen=True)
class WalkForward:
    """`train=6m,test=1m`: each test window follows a training window of `train`."""

    train: Period
    test: Period

    @classmethod
    def parse(cls, text: str) -> WalkForward:
        form = "expected train=PERIOD,test=PERIOD, e.g. train=6m,test=1m (d trading days, " \
               "w weeks, m months, y years)"
        parts: dict[str, Period] = {}
        for item in str(text).split(","):
            key, sep, value = (p.strip() for p in item.partition("="))
            if not sep or key not in ("train", "test") or key in parts:
                raise ConfigError(f"--walk-forward {text!r}: {form}")
            try:
                parts[key] = Period.parse(value)
            except ConfigError as exc:
                raise ConfigError(f"--walk-forward {text!r}: {exc}") from None
        if set(parts) != {"train", "test"}:
            raise ConfigError(f"--walk-forward {text!r}: {form}")
        return cls(parts["train"], parts["test"])

    def __str__(self) -> str:
        return f"train={self.train},test={self.test}"


@dataclass(frozen=True)
class Fold:
    """One walk-forward step: its training days and the test days right after them."""

    index: int
    train: tuple[date, date]
    test: tuple[date, date]


def walk_forward_folds(days: Sequence[date], wf: WalkForward,
                       calendar: TimeManager) -> list[Fold]:
    """The folds over the trading days `days`: the test windows are consecutive (the first
    starts `train` after the period's first day, each next one `test` later) and cover the
    rest of the period; each training window is the `train` right before its test window
    (as historical periods count: `Nd` trading days, else the calendar span)."""
    if not days:
        return []

    def boundary(k: int) -> int:
        """The index in `days` of the k-th test window's first day."""
        if wf.train.unit == "d":
            first = wf.train.count
            if wf.test.unit == "d":
                return first + k * wf.test.count
            if first >= len(days):
                return len(days)
            return bisect.bisect_left(days, shift(days[first], wf.test, k))
        anchor = shift(days[0], wf.train)
        if wf.test.unit == "d":
            return bisect.bisect_left(days, anchor) + k * wf.test.count
        return bisect.bisect_left(days, shift(anchor, wf.test, k))

    folds = []
    k = 0
    while (lo := boundary(k)) < len(days):
        hi = min(boundary(k + 1), len(days))
        train = [d for d in calendar.trading_days_in_period(days[lo], wf.train) if d >= days[0]]
        folds.append(Fold(k, (train[0], train[-1]), (days[lo], days[hi - 1])))
        k += 1
    return folds


# --- the job -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepJob:
    """What every task of a sweep shares, as plain data: the session file as a TOML-shaped dict
    (paths absolute, no exports), the strategy, the grid, the symbol sets, the windows or
    walk-forward, the ranking metric and the fingerprint hashing all of it."""

    session: dict[str, Any]
    strategy: str
    interval: str | None
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    symbol_sets: tuple[tuple[str, ...], ...]
    windows: str | None
    walk_forward: str | None
    rank: str
    origin: str
    fingerprint: str

    @property
    def params(self) -> tuple[str, ...]:
        """The grid's parameter names, in the grid's order."""
        return tuple(name for name, _ in self.grid)

    def grid_dict(self) -> Grid:
        return {name: list(values) for name, values in self.grid}

    def wf(self) -> WalkForward | None:
        return None if self.walk_forward is None else WalkForward.parse(self.walk_forward)

    def config(self, task: Task) -> SessionConfig:
        """The session of one task: the job's, with the task's dates, symbols and parameters
        (over the session file's own strategy parameters)."""
        data = json.loads(json.dumps(self.session))
        data["session"]["start"], data["session"]["end"] = task.start, task.end
        data["symbols"] = {"list": list(task.symbols)}
        strategy = data["strategy"]
        strategy["params"] = {**strategy.get("params", {}), **task.param_dict()}
        return SessionConfig.from_dict(data, origin=self.origin).validate()


_PATH_KEY = re.compile(r"^(store|path|dir|file)$|_(store|path|dir|file)$")


def _session_dict(config: SessionConfig) -> dict[str, Any]:
    """The config as a TOML-shaped dict for the workers: path options absolute (a worker's
    working directory may differ), no exports, one strategy."""
    data = config.to_dict()
    data["export"] = {"timings": False}
    source = data["data"]
    for key, value in source.items():
        if key != "source" and isinstance(value, str) and _PATH_KEY.search(key) and (
                "://" not in value):
            source[key] = str(Path(value).expanduser().absolute())
    return data


def symbol_sets_of(config: SessionConfig, sets: Iterable[Any] = ()) -> tuple[tuple[str, ...], ...]:
    """Each `--symbols A,B` (or a list) as one set; none: the session's symbols."""
    from mismartera.config.values import parse_symbols

    out = []
    for item in sets:
        items = split_flag(item, "--symbols", "AAPL,MSFT") if isinstance(item, str) else item
        out.append(parse_symbols(list(items), "--symbols", indexed=False))
    if not out:
        if config.all_symbols or not config.symbols:
            raise ConfigError(f"{config.where('symbols')}: a sweep needs its symbols listed "
                              f"(or --symbols A,B), not \"all\" or a scanner")
        out.append(config.symbols)
    if len(set(out)) < len(out):
        raise ConfigError("--symbols: a symbol set is given twice")
    return tuple(out)


def make_job(config: SessionConfig, grid: Mapping[str, Sequence[Any]], plugins: PluginManager, *,
             symbol_sets: Iterable[Any] = (), windows: str | None = None,
             walk_forward: str | None = None, rank: str = "sharpe") -> SweepJob:
    """The job of a sweep of `config`'s strategy, every option checked (ConfigError)."""
    config = config.validate()
    if config.mode != "backtest":
        raise ConfigError(f"{config.where('mode')}: a sweep runs backtests, got mode "
                          f"{config.mode!r}")
    spec = config.strategy
    if spec is None:
        raise ConfigError(f"{config.origin}: the session has no [strategy]; a sweep varies a "
                          f"strategy's parameters (add [strategy] name = \"sma_cross\")")
    cls = plugins.get("strategy", spec.name, key=config.where("strategy")).obj
    checked = check_grid(grid, cls, spec.name)
    if rank not in RANK_METRICS:
        raise ConfigError(f"--rank: expected one of {', '.join(RANK_METRICS)}, got {show(rank)}")
    if windows is not None and walk_forward is not None:
        raise ConfigError("--windows and --walk-forward: give one of them, not both")
    if windows is not None and windows not in WINDOWS:
        raise ConfigError(f"--windows: expected one of {', '.join(WINDOWS)}, got {show(windows)}")
    wf = None if walk_forward is None else str(WalkForward.parse(walk_forward))
    sets = symbol_sets_of(config, symbol_sets)
    session = _session_dict(config)
    grid_t = tuple((name, tuple(values)) for name, values in checked.items())
    fingerprint = digest({"session": session, "grid": [[n, list(v)] for n, v in grid_t],
                          "symbol_sets": [list(s) for s in sets], "windows": windows,
                          "walk_forward": wf, "rank": rank if wf else None})
    job = SweepJob(session, spec.name, None if spec.interval is None else spec.interval.name,
                   grid_t, sets, windows, wf, rank, config.origin, fingerprint)
    plan_tasks(job)  # a walk-forward longer than the period fails here, before anything runs
    return job


def _period(job: SweepJob) -> tuple[TimeManager, list[date]]:
    from mismartera.calendar import TimeManager

    session = job.session["session"]
    calendar = TimeManager(session["exchange"])
    days = calendar.trading_days(session["start"], session["end"])
    if not days:
        raise ConfigError(f"{job.origin}: [session] {session['start']}..{session['end']} has no "
                          f"{session['exchange']} trading day")
    return calendar, days


def plan_folds(job: SweepJob) -> list[Fold]:
    """The walk-forward folds of the job (none without a walk-forward)."""
    wf = job.wf()
    if wf is None:
        return []
    calendar, days = _period(job)
    folds = walk_forward_folds(days, wf, calendar)
    if not folds:
        raise ConfigError(f"--walk-forward {wf}: the period {days[0]}..{days[-1]} "
                          f"({len(days)} trading days) is too short for one training window "
                          f"and a test window after it")
    return folds


def plan_tasks(job: SweepJob) -> list[Task]:
    """The tasks known before any result: every grid point on every symbol set and window (the
    whole period, each calendar window, or each walk-forward training window), in the grid
    order within each symbol set and window. A walk-forward's test tasks depend on the
    training results (`fold_test_task`)."""
    points = grid_points(job.grid_dict())
    session = job.session["session"]
    spans: list[tuple[date, date, str, int | None]]
    if job.walk_forward is not None:
        spans = [(*f.train, "train", f.index) for f in plan_folds(job)]
    elif job.windows is not None:
        _, days = _period(job)
        spans = [(a, b, "window", None) for a, b in calendar_windows(days, job.windows)]
    else:
        spans = [(date.fromisoformat(session["start"]), date.fromisoformat(session["end"]),
                  "full", None)]
    return [make_task(job.fingerprint, point, symbols, start, end, role, fold)
            for symbols in job.symbol_sets
            for start, end, role, fold in spans
            for point in points]


def fold_test_task(job: SweepJob, fold: Fold, symbols: Sequence[str],
              params: Mapping[str, Any]) -> Task:
    """The walk-forward test task of a fold with the parameters chosen on its training."""
    return make_task(job.fingerprint, params, symbols, *fold.test, "test", fold.index)


__all__ = [
    "HEAD_COLUMNS",
    "LOWER_IS_BETTER",
    "RANK_METRICS",
    "RESULT_COLUMNS",
    "STAT_COLUMNS",
    "TAIL_COLUMNS",
    "WINDOWS",
    "Fold",
    "SweepJob",
    "Task",
    "WalkForward",
    "add_months",
    "calendar_windows",
    "check_grid",
    "fold_test_task",
    "grid_points",
    "make_job",
    "make_task",
    "parse_grid",
    "plan_folds",
    "plan_tasks",
    "symbol_sets_of",
    "walk_forward_folds",
]
