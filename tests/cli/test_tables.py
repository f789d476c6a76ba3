"""`mismartera plugins` and the backtest summary stay readable in an 80-column terminal."""

from __future__ import annotations

WIDTH = {"COLUMNS": "80"}


def assert_readable(output: str, *whole: str) -> None:
    lines = output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in output
    for name in whole:
        assert any(name in line.split() for line in lines), name


def test_plugins_table_names_are_whole_at_80_columns(mismartera_plugins):
    result = mismartera_plugins.invoke(["plugins"], env=WIDTH)
    assert result.exit_code == 0, result.output
    assert_readable(result.output, "volume_surge", "scanners-volume_surge", "volume_sma",
                    "indicators-builtin")
    row = next(line for line in result.output.splitlines() if "volume_surge" in line.split())
    assert row.split()[:4] == ["volume_surge", "scanner", "scanners-volume_surge", "mismartera"]


def test_backtest_summary_names_are_whole_at_80_columns(mismartera_plugins):
    result = mismartera_plugins.invoke(["demo"], env=WIDTH)
    assert result.exit_code == 0, result.output
    assert_readable(result.output, "trailing_avg_volume_2d_daily", "sma_20_5m", "100.00%")


def test_plugins_table_shows_hooks_only_where_they_fit_whole(mismartera_plugins):
    narrow = mismartera_plugins.invoke(["plugins"], env=WIDTH)
    assert "hooks" not in narrow.output.split() and "register_data_so" not in narrow.output
    wide = mismartera_plugins.invoke(["plugins"], env={"COLUMNS": "130"})
    assert wide.exit_code == 0, wide.output
    row = next(line for line in wide.output.splitlines() if line.split()[:1] == ["csv"])
    assert row.split()[-1] == "register_data_sources"
