"""The plan: grids read like `--strategy NAME:k=v`, checked against the strategy; stable and
distinct task ids; calendar windows and walk-forward folds against plain computations."""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.calendar import TimeManager
from mismartera.config import SessionConfig
from mismartera.errors import ConfigError
from mismartera.intervals import Period
from mismartera.params import Parametrized
from mismartera.plugin_manager import PluginManager
from mismartera.session.run import as_config
from mismartera.sweep.plan import (
    WalkForward,
    add_months,
    calendar_windows,
    check_grid,
    grid_points,
    make_job,
    parse_grid,
    plan_tasks,
    walk_forward_folds,
)
from tests.sweep.helpers import GRID, SESSION, session

PLUGINS = PluginManager(load_entry_points=False)
XNYS = TimeManager("XNYS")


def job(grid=GRID, config=SESSION, **options):
    return make_job(as_config(config), grid, PLUGINS, **options)


def test_grid_values_are_read_like_strategy_specs():
    assert parse_grid(["fast=5,10", "ratio=0.5", "flag=true", "field=close"]) == {
        "fast": [5, 10], "ratio": [0.5], "flag": [True], "field": ["close"]}


@pytest.mark.parametrize("items", [["fast"], ["fast="], ["fast=5,,10"], ["=5"], ["5x=1"],
                                   ["fast=1", "fast=2"]])
def test_bad_grid_text_is_one_sentence(items):
    with pytest.raises(ConfigError, match="--grid"):
        parse_grid(items)


class WithClash(Parametrized):
    trades: int = 1
    period: int = 5


@pytest.mark.parametrize(("grid", "message"), [
    ({}, "has no grid"),
    ({"nope": [1]}, "has no parameter 'nope'; valid parameters: fast=10, slow=30, qty=100"),
    ({"fast": ["abc"]}, "bad value 'abc'.*fast must be a whole number"),
    ({"fast": [1.5]}, "bad value 1.5"),
    ({"fast": []}, "at least one value"),
    ({"fast": [5, 5]}, "given twice"),
])
def test_bad_grids_of_sma_cross(grid, message):
    with pytest.raises(ConfigError, match=message):
        job(grid)


def test_a_parameter_named_like_a_result_column_is_refused():
    with pytest.raises(ConfigError, match="trades is also a result column"):
        check_grid({"trades": [1, 2]}, WithClash, "with_clash")
    assert check_grid({"period": [1, 2]}, WithClash, "with_clash") == {"period": [1, 2]}


def test_grid_points_vary_the_first_parameter_slowest():
    assert grid_points({"a": [1, 2], "b": ["x", "y", "z"]}) == [
        {"a": a, "b": b} for a, b in itertools.product([1, 2], ["x", "y", "z"])]


def test_task_ids_are_stable_and_distinct():
    first = plan_tasks(job(symbol_sets=["SYN0", "SYN0,SYN1"], windows="monthly",
                           config=session(session__end="2024-03-28")))
    again = plan_tasks(job(symbol_sets=["SYN0", "SYN0,SYN1"], windows="monthly",
                           config=session(session__end="2024-03-28")))
    assert [t.id for t in first] == [t.id for t in again]
    assert len({t.id for t in first}) == len(first) == 4 * 2 * 3
    other = plan_tasks(job({"fast": [3, 5], "slow": [20, 40]}))
    assert not {t.id for t in other} & {t.id for t in first}


def test_a_task_is_plain_data_that_rebuilds_its_session():
    j = job()
    task = plan_tasks(j)[3]
    assert task.param_dict() == {"fast": 5, "slow": 30} and task.role == "full"
    config = j.config(task)
    assert isinstance(config, SessionConfig)
    assert config.strategy is not None
    assert config.strategy.params == {"qty": 50, "fast": 5, "slow": 30}
    assert (config.start, config.end, config.symbols) == (date(2024, 1, 2), date(2024, 1, 31),
                                                          ("SYN0",))
    assert config.export_path is None and config.export_dir is None


def test_a_store_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    j = job(config=session(data__source="store", data__store="bars.duckdb"))
    assert j.session["data"]["store"] == str(tmp_path / "bars.duckdb")


@pytest.mark.parametrize(("options", "message"), [
    ({"rank": "luck"}, "--rank: expected one of"),
    ({"windows": "weekly"}, "--windows: expected one of"),
    ({"windows": "monthly", "walk_forward": "train=1m,test=1w"}, "not both"),
    ({"walk_forward": "train=6m"}, "--walk-forward 'train=6m'"),
    ({"walk_forward": "train=6m,test=1q"}, "unknown period '1q'"),
    ({"walk_forward": "train=6m,test=1m"}, "too short for one training window"),
    ({"symbol_sets": ["SYN0", "syn0"]}, "given twice"),
])
def test_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        job(**options)


def test_a_session_without_a_strategy_is_refused():
    data = {k: v for k, v in SESSION.items() if k != "strategy"}
    with pytest.raises(ConfigError, match="has no \\[strategy\\]"):
        job(config=data)


# --- windows and folds against plain computations ------------------------------------------

days_2023 = XNYS.trading_days("2023-01-01", "2024-12-31")


@given(st.integers(0, len(days_2023) - 1), st.integers(1, 400),
       st.sampled_from(["monthly", "quarterly", "yearly"]))
def test_calendar_windows(first, length, kind):
    days = days_2023[first:first + length]
    windows = calendar_windows(days, kind)
    key = {"monthly": lambda d: (d.year, d.month),
           "quarterly": lambda d: (d.year, (d.month + 2) // 3),
           "yearly": lambda d: d.year}[kind]
    expected = {}
    for d in days:
        expected.setdefault(key(d), []).append(d)
    assert windows == [(v[0], v[-1]) for v in expected.values()]


@given(st.dates(date(1995, 1, 1), date(2035, 12, 31)), st.integers(-40, 40))
def test_add_months(d, n):
    got = add_months(d, n)
    months = (got.year - d.year) * 12 + got.month - d.month
    assert months == n
    assert got.day == d.day or (got.day < d.day and (got + timedelta(days=1)).day == 1)


@given(st.integers(0, 200), st.integers(20, 300),
       st.sampled_from(["10d", "3w", "1m", "3m"]), st.sampled_from(["5d", "1w", "1m"]))
def test_walk_forward_folds(first, length, train, test):
    days = days_2023[first:first + length]
    wf = WalkForward(Period.parse(train), Period.parse(test))
    folds = walk_forward_folds(days, wf, XNYS)
    if not folds:
        return
    # the test windows follow each other without a gap and cover the rest of the period
    covered = [d for f in folds for d in days if f.test[0] <= d <= f.test[1]]
    assert covered == days[days.index(folds[0].test[0]):]
    for f in folds:
        # each training window ends on the trading day before its test window
        assert days[days.index(f.train[1]) + 1] == f.test[0]
        assert days[0] <= f.train[0] <= f.train[1]
        if wf.train.unit == "d":
            assert days.index(f.test[0]) - days.index(f.train[0]) == wf.train.count
    if wf.test.unit == "d":
        assert all(days.index(f.test[1]) - days.index(f.test[0]) + 1 == wf.test.count
                   for f in folds[:-1])
    # the first test window starts a whole training period after the first day
    if wf.train.unit == "d":
        assert folds[0].test[0] == days[wf.train.count]
    else:
        start = add_months(days[0], wf.train.count) if wf.train.unit == "m" else (
            days[0] + timedelta(weeks=wf.train.count))
        assert folds[0].test[0] == min(d for d in days if d >= start)


def test_walk_forward_parse():
    wf = WalkForward.parse(" train = 6m , test=1m ")
    assert str(wf) == "train=6m,test=1m"
    for bad in ("train=6m,test=1m,test=2m", "train=6m;test=1m", "train=0m,test=1m", "x=1m"):
        with pytest.raises(ConfigError, match="--walk-forward"):
            WalkForward.parse(bad)


@pytest.mark.parametrize("first", ["import mismartera", "import mismartera.sweep.plan"])
def test_mismartera_sweep_is_the_sweep_whatever_was_imported_first(first):
    """`mismartera.sweep(...)` runs a sweep whether the name resolves to the function or to
    the package (which the import system binds once a submodule is imported first)."""
    code = (f"{first}\nimport mismartera\nfrom mismartera.errors import ConfigError\n"
            f"try:\n    mismartera.sweep({SESSION!r}, {{}})\n"
            "except ConfigError as exc:\n    print(type(mismartera.sweep).__name__, exc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    kind, _, said = out.stdout.strip().partition(" ")
    assert kind in ("function", "_CallableModule") and "the sweep has no grid" in said
