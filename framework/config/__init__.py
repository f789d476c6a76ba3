"""SessionConfig: a session's settings from the TOML session file and command-line flags.

`SessionConfig.from_toml(path)` reads the session file, `with_overrides(**flags)` applies the
command line on top, `validate()` checks the fields against each other. Every problem is a
`ConfigError` of one sentence naming the file and key path (or the flag) and what was
expected. Only the standard library is imported, so the command line stays quick.

The pieces live beside this module: value parsers in `mismartera.config.values`, the file's
sections and unknown-key checks in `mismartera.config.keys`, and the specs (`IndicatorSpec`,
`HistoricalIndicatorSpec`, `ScannerSpec`) in `mismartera.config.specs` and the trading ones
(`StrategySpec`, `BrokerSpec`) in `mismartera.config.trading`, re-exported here.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from mismartera.config.keys import (
    FIELD_KEYS,
    SECTIONS,
    TOP_SHAPES,
    array_of_tables,
    check_keys,
    section_table,
    source_options_of,
)
from mismartera.config.specs import (
    FIELDS,
    GRANULARITIES,
    HISTORICAL_INDICATORS,
    HistoricalIndicatorSpec,
    IndicatorSpec,
    ScannerSpec,
    historical_from_toml,
    indicator_from_toml,
    scanner_from_toml,
    spec_from_flag,
)
from mismartera.config.trading import (
    BrokerSpec,
    CommissionSpec,
    StrategySpec,
    broker_from_toml,
    strategy_from_toml,
)
from mismartera.config.values import (
    MODES,
    fail,
    is_all,
    is_number,
    jsonable,
    parse_array,
    parse_bool,
    parse_date,
    parse_int,
    parse_intervals,
    parse_mode,
    parse_number,
    parse_path,
    parse_str,
    parse_symbols,
    show,
    split_flag,
)
from mismartera.errors import ConfigError
from mismartera.intervals import Interval

__all__ = [
    "FIELDS",
    "GRANULARITIES",
    "HISTORICAL_INDICATORS",
    "MODES",
    "NO_FILE",
    "BrokerSpec",
    "CommissionSpec",
    "HistoricalIndicatorSpec",
    "IndicatorSpec",
    "ScannerSpec",
    "SessionConfig",
    "StrategySpec",
]

NO_FILE = "<config>"
_TOML_POSITION = re.compile(r"^(?P<reason>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


@dataclass(frozen=True)
class SessionConfig:
    """Everything a session needs to run. Build it with `from_toml` / `from_dict`, apply the
    command line with `with_overrides`, then `validate()` before running."""

    exchange: str = "XNYS"
    start: date | None = None
    end: date | None = None
    speed: float = 0.0
    mode: str = "backtest"
    source: str = "store"
    source_options: dict[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()
    all_symbols: bool = False  # `[symbols] list = "all"` / `--symbols all`: the source's every
    intervals: tuple[Interval, ...] = (Interval.parse("1m"),)
    ticks: bool = False  # [streams] ticks: deliver the source's trades into .ticks
    quotes: bool = False  # [streams] quotes: deliver the source's quotes into .quotes
    trailing_days: int = 0
    prefetch_days: int = 1
    indicators: tuple[IndicatorSpec, ...] = ()
    historical_indicators: tuple[HistoricalIndicatorSpec, ...] = ()
    scanners: tuple[ScannerSpec, ...] = ()
    export_path: Path | None = None
    export_dir: Path | None = None
    export_timings: bool = False
    quality_interval_s: float = 60.0
    gapfill_delay_s: float = 5.0     # [live]: first re-request of a missing bar after this
    gapfill_retries: int = 3         # [live]: re-requests before a gap is given up
    gapfill_backoff: float = 2.0     # [live]: each further delay is this many times longer
    close_grace_s: float | None = None  # [live]: wait for a late base bar (None: the clock's)
    strategy: StrategySpec | None = None  # [strategy]: the strategy plugin the session runs
    broker: BrokerSpec = field(default_factory=BrokerSpec)  # [broker]: cash and costs
    origin: str = NO_FILE
    # field name -> "file" or "flag": where a field's value came from, for messages
    provenance: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Normalise values given from Python (lists, strings) the way the file parser does."""
        put = object.__setattr__
        put(self, "exchange", parse_str(self.exchange, "exchange"))
        for name in ("start", "end"):
            if getattr(self, name) is not None:
                put(self, name, parse_date(getattr(self, name), name))
        if is_number(self.speed):
            put(self, "speed", float(self.speed))
        put(self, "source", parse_str(self.source, "source"))
        put(self, "source_options", dict(self.source_options))
        if is_all(self.symbols):
            put(self, "symbols", ())
            put(self, "all_symbols", True)
        put(self, "symbols", parse_symbols(self.symbols, "symbols"))
        put(self, "intervals", parse_intervals(self.intervals, "intervals"))
        for name in ("indicators", "historical_indicators", "scanners"):
            put(self, name, tuple(parse_array(getattr(self, name), name, "[...]")))
        for name in ("export_path", "export_dir"):
            if getattr(self, name) is not None:
                put(self, name, parse_path(getattr(self, name), name))
        if is_number(self.quality_interval_s):
            put(self, "quality_interval_s", float(self.quality_interval_s))
        if isinstance(self.strategy, str):
            put(self, "strategy", StrategySpec.parse(self.strategy))
        elif isinstance(self.strategy, Mapping):
            put(self, "strategy", strategy_from_toml(self.strategy, "strategy"))
        if isinstance(self.broker, Mapping):
            put(self, "broker", broker_from_toml(self.broker, "broker"))
        put(self, "provenance", dict(self.provenance))

    # ---- reading --------------------------------------------------------------------------

    @classmethod
    def from_toml(cls, path: str | Path) -> SessionConfig:
        """Read a session file; syntax errors name the file, line and column."""
        origin = str(path)
        try:
            text = Path(path).expanduser().read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{origin}: no such session file") from None
        except IsADirectoryError:
            raise ConfigError(f"{origin}: is a directory, expected a session file") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{origin}: not a text file (expected UTF-8 TOML)") from None
        except OSError as exc:
            raise ConfigError(f"{origin}: cannot read the session file ({exc.strerror})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            reason = str(exc)
            m = _TOML_POSITION.match(reason)
            if m is not None:
                where = f"line {m['line']}, column {m['col']}"
                reason = m["reason"]
            else:
                where = "at the end of the file"
                reason = reason.removesuffix(" (at end of document)")
            reason = reason[:1].lower() + reason[1:]
            raise ConfigError(f"{origin}: {where}: invalid TOML: {reason}") from None
        return cls.from_dict(data, origin=origin)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = NO_FILE) -> SessionConfig:
        """Build from the session file's tables (as `tomllib` returns them). Keys left out
        keep their defaults; call `validate()` once command-line flags are applied."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{origin}: expected a table of sections, got {show(data)}")
        check_keys(data, TOP_SHAPES, origin, "")
        values: dict[str, Any] = {}
        parsers = {
            "exchange": parse_str,
            "start": parse_date,
            "end": parse_date,
            "speed": lambda v, at: parse_number(v, at, 0),
            "mode": parse_mode,
            "prefetch_days": lambda v, at: parse_int(v, at, 1),
            "source": parse_str,
            "symbols": lambda v, at: "all" if is_all(v) else parse_symbols(v, at),
            "intervals": parse_intervals,
            "ticks": parse_bool,
            "quotes": parse_bool,
            "trailing_days": lambda v, at: parse_int(v, at, 0),
            "export_path": parse_path,
            "export_dir": parse_path,
            "export_timings": parse_bool,
            "quality_interval_s": lambda v, at: parse_number(v, at, 0, strict=True),
            "gapfill_delay_s": lambda v, at: parse_number(v, at, 0),
            "gapfill_retries": lambda v, at: parse_int(v, at, 0),
            "gapfill_backoff": lambda v, at: parse_number(v, at, 1),
            "close_grace_s": lambda v, at: parse_number(v, at, 0),
        }
        tables = {section: section_table(data, section, origin) for section in SECTIONS}
        for name, parse in parsers.items():
            section, key = FIELD_KEYS[name][0][1:].split("] ")  # "[session] start"
            if key in tables[section]:
                values[name] = parse(tables[section][key], f"{origin}: [{section}] {key}")
        if values.get("symbols") == "all":
            values["symbols"], values["all_symbols"] = (), True
        if set(tables["data"]) - {"source"}:
            values["source_options"] = source_options_of(tables["data"])
        if tables["strategy"]:
            values["strategy"] = strategy_from_toml(tables["strategy"], f"{origin}: [strategy]")
        if tables["broker"]:
            values["broker"] = broker_from_toml(tables["broker"], f"{origin}: [broker]")
        specs = {"indicators": indicator_from_toml, "historical_indicators": historical_from_toml,
                 "scanners": scanner_from_toml}
        for name, build in specs.items():
            if name in data:
                items = array_of_tables(data, name, origin)
                values[name] = tuple(
                    build(item, f"{origin}: [[{name}]][{i}]") for i, item in enumerate(items)
                )
        return cls(**values, origin=origin, provenance=dict.fromkeys(values, "file"))

    # ---- command line ---------------------------------------------------------------------

    def with_overrides(self, **flags: Any) -> SessionConfig:
        """Apply command-line flags (None = not given) over the file's values:
        symbols="AAPL,MSFT", start, end, exchange, streams="1m,5m", source, store (a path),
        speed, trailing_days, indicators (SPEC strings; replace the file's when non-empty),
        export, export_dir, timings, mode, strategy (a SPEC string), cash, commission (a
        commission SPEC), slippage_bps. A `source` other than the file's drops the file's
        source options, which were written for that other source."""
        unknown = sorted(set(flags) - set(_FLAG_FIELDS))
        if unknown:
            raise TypeError(f"unknown override(s): {', '.join(unknown)}")
        changes: dict[str, Any] = {}
        given = flags.get
        if (v := given("symbols")) is not None:
            if is_all(v):
                changes["symbols"], changes["all_symbols"] = (), True
            else:
                changes["symbols"] = parse_symbols(
                    split_flag(v, "--symbols", "AAPL,MSFT"), "--symbols", indexed=False)
                changes["all_symbols"] = False
        for name in ("start", "end"):
            if (v := given(name)) is not None:
                if isinstance(v, datetime) and v.time() == time(0):
                    v = v.date()  # click.DateTime gives midnight datetimes
                changes[name] = parse_date(v, f"--{name}")
        if (v := given("exchange")) is not None:
            changes["exchange"] = parse_str(v, "--exchange")
        if (v := given("streams")) is not None:
            changes["intervals"] = parse_intervals(
                split_flag(v, "--streams", "1m,5m,15m"), "--streams", indexed=False)
        options = dict(self.source_options)
        if (v := given("source")) is not None:
            changes["source"] = parse_str(v, "--source")
            if changes["source"] != self.source:
                options = {}
                changes["source_options"] = options
        if (v := given("store")) is not None:
            options["store"] = str(parse_path(v, "--store"))
            changes["source_options"] = options
        if (v := given("speed")) is not None:
            changes["speed"] = parse_number(v, "--speed", 0)
        if (v := given("trailing_days")) is not None:
            changes["trailing_days"] = parse_int(v, "--trailing-days", 0)
        if (v := given("indicators")) is not None:
            specs = [v] if isinstance(v, str | IndicatorSpec) else list(v)
            if specs:
                changes["indicators"] = tuple(spec_from_flag(IndicatorSpec, s, "--indicator")
                                               for s in specs)
        if (v := given("export")) is not None:
            changes["export_path"] = parse_path(v, "--export")
        if (v := given("export_dir")) is not None:
            changes["export_dir"] = parse_path(v, "--export-dir")
        if (v := given("timings")) is not None:
            changes["export_timings"] = parse_bool(v, "--timings")
        if (v := given("mode")) is not None:
            changes["mode"] = parse_mode(v, "--mode")
        if (v := given("strategy")) is not None:
            changes["strategy"] = spec_from_flag(StrategySpec, v, "--strategy")
        broker: dict[str, Any] = {}
        if (v := given("cash")) is not None:
            broker["cash"] = parse_number(v, "--cash", 0, strict=True)
        if (v := given("commission")) is not None:
            broker["commission"] = CommissionSpec.parse(v, "--commission")
        if (v := given("slippage_bps")) is not None:
            broker["slippage_bps"] = parse_number(v, "--slippage-bps", 0)
        if broker:
            changes["broker"] = replace(self.broker, **broker)
        provenance = {**self.provenance, **dict.fromkeys(changes, "flag")}
        return replace(self, **changes, provenance=provenance)

    # ---- checks ---------------------------------------------------------------------------

    def where(self, name: str) -> str:
        """What names a field in a message: "--start" when a flag set it, else the session
        file's key path ("session.toml: [session] start")."""
        file_key, flag = FIELD_KEYS[name]
        if self.provenance.get(name) == "flag" and flag:
            return flag
        if self.origin == NO_FILE and name not in self.provenance:
            return file_key
        return f"{self.origin}: {file_key}"

    def _missing(self, name: str, what: str) -> ConfigError:
        flag = FIELD_KEYS[name][1]
        return fail(self.where(name), f"{what} (or pass {flag})" if flag else what)

    def validate(self) -> SessionConfig:
        """Check the fields together; return self. Raises ConfigError naming the key or flag."""
        parse_mode(self.mode, self.where("mode"))
        if self.mode == "backtest":
            if self.start is None:
                raise self._missing("start", "a backtest needs a start date like 2024-01-02")
            if self.end is None:
                raise self._missing("end", "a backtest needs an end date like 2024-01-10")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise fail(self.where("end"),
                        f"expected a date on or after the start {self.start}, got {self.end}")
        if not self.symbols and not self.all_symbols and not self.scanners:
            raise self._missing("symbols", 'expected at least one symbol, e.g. AAPL, "all" '
                                "(every symbol the source has), or a scanner to fill the list")
        parse_number(self.speed, self.where("speed"), 0)
        parse_int(self.trailing_days, self.where("trailing_days"), 0)
        parse_int(self.prefetch_days, self.where("prefetch_days"), 1)
        parse_number(self.quality_interval_s, self.where("quality_interval_s"), 0, strict=True)
        parse_bool(self.export_timings, self.where("export_timings"))
        if not self.intervals:
            raise self._missing("intervals", "expected at least one interval, e.g. 1m")
        self._validate_indicators()
        return self

    def _indicator_at(self, i: int, spec: IndicatorSpec) -> str:
        if self.provenance.get("indicators") == "flag":
            return f"--indicator {spec.to_spec()}"
        at = f"[[indicators]][{i}] interval"
        if self.origin == NO_FILE and "indicators" not in self.provenance:
            return at
        return f"{self.origin}: {at}"

    def _validate_indicators(self) -> None:
        streams = ", ".join(iv.name for iv in self.intervals)
        seen: set[str] = set()
        for i, spec in enumerate(self.indicators):
            if not isinstance(spec, IndicatorSpec):
                raise fail(f"indicators[{i}]", f"expected an IndicatorSpec, got {spec!r}")
            if spec.interval not in self.intervals:
                raise fail(
                    self._indicator_at(i, spec),
                    f"indicator {spec.key} runs on {spec.interval}, which is not one of the "
                    f"streams ({streams}); add it to {self.where('intervals')}",
                )
            if spec.key in seen:
                raise fail(self._indicator_at(i, spec), f"indicator {spec.key} is given twice")
            seen.add(spec.key)
        seen.clear()
        for i, hspec in enumerate(self.historical_indicators):
            if not isinstance(hspec, HistoricalIndicatorSpec):
                raise fail(f"historical_indicators[{i}]",
                            f"expected a HistoricalIndicatorSpec, got {hspec!r}")
            if hspec.key in seen:
                raise fail(f"{self.where('historical_indicators')}[{i}]",
                            f"historical indicator {hspec.key} is given twice")
            seen.add(hspec.key)

    # ---- output ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, shaped like the session file (dates ISO, intervals by name); unset
        values are left out, so `from_dict(config.to_dict())` gives the same config."""
        session: dict[str, Any] = {"exchange": self.exchange}
        if self.start is not None:
            session["start"] = self.start.isoformat()
        if self.end is not None:
            session["end"] = self.end.isoformat()
        session |= {"speed": self.speed, "mode": self.mode, "prefetch_days": self.prefetch_days}
        export: dict[str, Any] = {"timings": self.export_timings}
        if self.export_path is not None:
            export["path"] = str(self.export_path)
        if self.export_dir is not None:
            export["dir"] = str(self.export_dir)
        return {
            "session": session,
            "data": {"source": self.source, **jsonable(self.source_options)},
            "symbols": {"list": "all" if self.all_symbols else list(self.symbols)},
            "streams": {"intervals": [iv.name for iv in self.intervals],
                        **({"ticks": True} if self.ticks else {}),
                        **({"quotes": True} if self.quotes else {})},
            "historical": {"trailing_days": self.trailing_days},
            "indicators": [spec.to_dict() for spec in self.indicators],
            "historical_indicators": [spec.to_dict() for spec in self.historical_indicators],
            "scanners": [spec.to_dict() for spec in self.scanners],
            "export": export,
            "quality": {"interval_s": self.quality_interval_s},
            **({} if self.strategy is None else {"strategy": self.strategy.to_dict()}),
            "broker": self.broker.to_dict(),
            "live": {"gapfill_delay_s": self.gapfill_delay_s,
                     "gapfill_retries": self.gapfill_retries,
                     "gapfill_backoff": self.gapfill_backoff,
                     **({} if self.close_grace_s is None
                        else {"close_grace_s": self.close_grace_s})},
        }


_FLAG_FIELDS = ("symbols", "start", "end", "exchange", "streams", "source", "store", "speed",
                "trailing_days", "indicators", "export", "export_dir", "timings", "mode",
                "strategy", "cash", "commission", "slippage_bps")
