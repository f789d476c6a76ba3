"""SessionConfig errors: one line naming the file, the key path and what was expected."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mismartera.config import SessionConfig
from mismartera.errors import ConfigError
from tests.support.config import INTERVALS, write


def error_of(text: str, name: str = "session.toml") -> str:
    path = write(text, name)
    with pytest.raises(ConfigError) as info:
        SessionConfig.from_toml(path).validate()
    message = str(info.value)
    assert "\n" not in message
    return message


def base(**sections: str) -> str:
    """A valid session file with some sections replaced (given as TOML text)."""
    parts = {
        "session": '[session]\nstart = 2024-01-02\nend = 2024-01-10\n',
        "symbols": '[symbols]\nlist = ["AAPL"]\n',
    }
    parts.update(sections)
    return "\n".join(text for text in parts.values() if text)


# ---- errors: one line naming the file, the key path and what was expected ---------------------

ERRORS = [
    (base(session='[session]\nstart = "yesterday"\nend = 2024-01-10\n'),
     "session.toml: [session] start: expected a date like 2024-01-02, got 'yesterday'"),
    (base(session='[session]\nstart = 2024-01-02T09:30:00\nend = 2024-01-10\n'),
     "session.toml: [session] start: expected a date like 2024-01-02, got 2024-01-02T09:30:00"),
    (base(session='[session]\nstart = 2024-01-02\nend = "2024-02-30"\n'),
     "session.toml: [session] end: expected a date like 2024-01-02, got '2024-02-30'"),
    (base(session='[session]\nstart = 2024-01-02\nend = 20240110\n'),
     "session.toml: [session] end: expected a date like 2024-01-02, got 20240110"),
    (base(indicators='[[indicators]]\nname = "sma"\ninterval = "1m"\n'
                     '[[indicators]]\nname = "ema"\ninterval = "7m"\n'),
     f"session.toml: [[indicators]][1] interval: unknown interval '7m': "
     f"expected one of {INTERVALS}"),
    (base(hist='[[historical_indicators]]\nname = "trailing_avg"\nfield = "volume"\n'
               'period = "10d"\ngranularity = "hourly"\n'),
     "session.toml: [[historical_indicators]][0] granularity: "
     "expected 'daily' or 'intraday', got 'hourly'"),
    (base(hist='[[historical_indicators]]\nname = "trailing_sum"\nfield = "volume"\n'
               'period = "10d"\n'),
     "session.toml: [[historical_indicators]][0] name: "
     "expected 'trailing_avg', 'trailing_max' or 'trailing_min', got 'trailing_sum'"),
    (base(hist='[[historical_indicators]]\nname = "trailing_avg"\nfield = "vwap"\n'
               'period = "10d"\n'),
     "session.toml: [[historical_indicators]][0] field: "
     "expected 'open', 'high', 'low', 'close' or 'volume', got 'vwap'"),
    (base(hist='[[historical_indicators]]\nname = "trailing_avg"\nfield = "volume"\n'
               'period = "10x"\n'),
     "session.toml: [[historical_indicators]][0] period: unknown period '10x': expected a "
     "positive count and a unit, e.g. 10d (trading days), 52w (weeks), 3m (months), 1y (years)"),
    (base(hist='[[historical_indicators]]\nname = "trailing_avg"\nperiod = "10d"\n'),
     "session.toml: [[historical_indicators]][0]: missing key field"),
    (base(indicators='[[indicators]]\nname = "sma"\n'),
     "session.toml: [[indicators]][0]: missing key interval"),
    (base(indicators='[[indicators]]\nname = "sma"\ninterval = "1m"\nparams = 20\n'),
     "session.toml: [[indicators]][0] params: expected a table like { period = 20 }, got 20"),
    (base(indicators='[indicators]\nname = "sma"\n'),
     "session.toml: [[indicators]]: expected an array of tables, each written [[indicators]], "
     "got a table"),
    ("[sesion]\nstart = 2024-01-02\n",
     "session.toml: unknown key [sesion] (did you mean [session]?)"),
    ("[[indicator]]\nname = 'sma'\n",
     "session.toml: unknown key [[indicator]] (did you mean [[indicators]]?)"),
    ("[session]\nstrat = 2024-01-02\n",
     "session.toml: unknown key [session] strat (did you mean start?)"),
    ("[streams]\ninterval = ['1m']\n",
     "session.toml: unknown key [streams] interval (did you mean intervals?)"),
    ("[[indicators]]\nname = 'sma'\ninterval = '5m'\nparam = { period = 20 }\n",
     "session.toml: unknown key [[indicators]][0] param (did you mean params?)"),
    ("[session]\nzzz = 1\n",
     "session.toml: unknown key [session] zzz (expected one of exchange, start, end, speed, "
     "mode, prefetch_days)"),
    ("[blah]\n",
     "session.toml: unknown key [blah] (expected one of [session], [data], [symbols], "
     "[streams], [historical], [export], [quality], [live], [strategy], [broker], [[indicators]], "
     "[[historical_indicators]], [[scanners]])"),
    ("session = 5\n", "session.toml: [session]: expected a table, got 5"),
    (base(session='[session]\nstart = 2024-01-02\nend = 2024-01-10\nmode = "paper"\n'),
     "session.toml: [session] mode: expected 'backtest' or 'live', got 'paper'"),
    (base(session='[session]\nstart = 2024-01-02\nend = 2024-01-10\nspeed = -1\n'),
     "session.toml: [session] speed: expected a number >= 0, got -1"),
    (base(session='[session]\nstart = 2024-01-02\nend = 2024-01-10\nspeed = nan\n'),
     "session.toml: [session] speed: expected a number >= 0, got nan"),
    (base(session='[session]\nstart = 2024-01-02\nend = 2024-01-10\nspeed = true\n'),
     "session.toml: [session] speed: expected a number >= 0, got true"),
    (base(session='[session]\nstart = 2024-01-02\nend = 2024-01-10\nprefetch_days = 0\n'),
     "session.toml: [session] prefetch_days: expected a whole number >= 1, got 0"),
    (base(historical='[historical]\ntrailing_days = 2.5\n'),
     "session.toml: [historical] trailing_days: expected a whole number >= 0, got 2.5"),
    (base(quality='[quality]\ninterval_s = 0\n'),
     "session.toml: [quality] interval_s: expected a number > 0, got 0"),
    (base(export='[export]\ntimings = "yes"\n'),
     "session.toml: [export] timings: expected true or false, got 'yes'"),
    (base(symbols='[symbols]\nlist = ["AAPL", "AA PL"]\n'),
     "session.toml: [symbols] list[1]: expected a symbol (1 to 32 characters of A-Z, 0-9, "
     "'.', '-', '_', '^' or '=', starting with a letter, a digit or '^', such as AAPL, BRK.B "
     "or ^GSPC), got 'AA PL'"),
    (base(symbols='[symbols]\nlist = ["AAPL", ""]\n'),
     "session.toml: [symbols] list[1]: expected a symbol (1 to 32 characters of A-Z, 0-9, "
     "'.', '-', '_', '^' or '=', starting with a letter, a digit or '^', such as AAPL, BRK.B "
     "or ^GSPC), got ''"),
    (base(symbols='[symbols]\nlist = "AAPL"\n'),
     "session.toml: [symbols] list: expected an array like [\"AAPL\", \"MSFT\"], got 'AAPL'"),
    (base(symbols='[symbols]\nlist = []\n'),
     "session.toml: [symbols] list: expected at least one symbol, e.g. AAPL, \"all\" "
     "(every symbol the source has), or a scanner to fill the list (or pass --symbols)"),
    (base(symbols=""),
     "session.toml: [symbols] list: expected at least one symbol, e.g. AAPL, \"all\" "
     "(every symbol the source has), or a scanner to fill the list (or pass --symbols)"),
    (base(session='[session]\nend = 2024-01-10\n'),
     "session.toml: [session] start: a backtest needs a start date like 2024-01-02 "
     "(or pass --start)"),
    (base(session='[session]\nstart = 2024-01-10\nend = 2024-01-02\n'),
     "session.toml: [session] end: expected a date on or after the start 2024-01-10, "
     "got 2024-01-02"),
    (base(streams='[streams]\nintervals = []\n'),
     "session.toml: [streams] intervals: expected at least one interval, e.g. 1m "
     "(or pass --streams)"),
    (base(streams='[streams]\nintervals = ["1m", 5]\n'),
     "session.toml: [streams] intervals[1]: expected an interval like \"5m\", got 5"),
    (base(streams='[streams]\nintervals = ["1m", "5m"]\n',
          indicators='[[indicators]]\nname = "sma"\ninterval = "5m"\nparams = {period = 20}\n'
                     '[[indicators]]\nname = "sma"\ninterval = "30m"\nparams = {period = 20}\n'),
     "session.toml: [[indicators]][1] interval: indicator sma_20_30m runs on 30m, which is "
     "not one of the streams (1m, 5m); add it to session.toml: [streams] intervals"),
    (base(indicators='[[indicators]]\nname = "rsi"\ninterval = "1m"\n'
                     '[[indicators]]\nname = "rsi"\ninterval = "1m"\n'),
     "session.toml: [[indicators]][1] interval: indicator rsi_1m is given twice"),
    (base(indicators='[[indicators]]\nname = "my sma"\ninterval = "1m"\n'),
     "session.toml: [[indicators]][0] name: expected a name of letters, digits and '_', "
     "got 'my sma'"),
    (base(scanners='[[scanners]]\nname = "gap"\nat = ["9:35", "25:00"]\n'),
     "session.toml: [[scanners]][0] at[1]: expected a local time like \"09:35\", got '25:00'"),
    (base(data='[data]\nsource = ""\n'),
     "session.toml: [data] source: expected a non-empty string, got ''"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS, ids=[e[1][:60] for e in ERRORS])
def test_error_messages(in_tmp, text, expected):
    assert error_of(text) == expected


def test_toml_syntax_error_names_file_line_and_reason(in_tmp):
    message = error_of('[session]\nstart = 2024-01-02\nend = 2024-13-01\n')
    assert message == ("session.toml: line 3, column 11: invalid TOML: expected newline or "
                       "end of document after a statement")


def test_toml_error_at_the_end(in_tmp):
    assert error_of("[session]\nspeed = ") == (
        "session.toml: at the end of the file: invalid TOML: invalid value")


def test_missing_file(in_tmp):
    with pytest.raises(ConfigError, match=r"^nope\.toml: no such session file$"):
        SessionConfig.from_toml("nope.toml")


def test_directory_and_binary_files(in_tmp):
    Path("dir.toml").mkdir()
    with pytest.raises(ConfigError, match=r"^dir\.toml: is a directory"):
        SessionConfig.from_toml("dir.toml")
    Path("bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match=r"^bin\.toml: not a text file"):
        SessionConfig.from_toml("bin.toml")


def test_full_path_is_named(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[session]\nstrat = 1\n")
    with pytest.raises(ConfigError) as info:
        SessionConfig.from_toml(path)
    assert str(info.value) == f"{path}: unknown key [session] strat (did you mean start?)"


def test_from_dict_uses_its_origin():
    with pytest.raises(ConfigError) as info:
        SessionConfig.from_dict({"session": {"speed": "fast"}})
    assert str(info.value) == "<config>: [session] speed: expected a number >= 0, got 'fast'"


def test_python_constructed_config_errors_name_the_key():
    with pytest.raises(ConfigError) as info:
        SessionConfig(symbols=("AAPL",), end=date(2024, 1, 2)).validate()
    assert str(info.value) == ("[session] start: a backtest needs a start date like 2024-01-02 "
                               "(or pass --start)")
    with pytest.raises(ConfigError) as info:
        SessionConfig(symbols=("AAPL",), start=date(2024, 1, 2), end=date(2024, 1, 2),
                      speed=-2.0).validate()
    assert str(info.value) == "[session] speed: expected a number >= 0, got -2.0"


