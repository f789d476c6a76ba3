"""One symbol rule for every entry point: the rule itself, the store, the import CLI,
`add_symbol`, scanners."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mismartera.cli import cli
from mismartera.errors import DataError, UserError
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.scanner.protocol import ScanResult
from mismartera.store import BarStore
from mismartera.symbols import check_symbol
from tests.support.engine import plugins, synthetic_config

GOOD = {"aapl": "AAPL", " BRK.B ": "BRK.B", "BF-B": "BF-B", "^GSPC": "^GSPC", "ES=F": "ES=F",
        "BRK_A": "BRK_A", "X" * 32: "X" * 32, "7203": "7203"}
BAD = ["", " ", "../../EVIL", "A/B", "A\\B", 'A"B', ".A", "-A", "_A", "=A", "A..B", "AA PL",
       "A,B", "X" * 33, "A\0B", 5, None]


@pytest.mark.parametrize(("given", "want"), GOOD.items())
def test_real_tickers_pass_upper_cased(given, want):
    assert check_symbol(given) == want


@pytest.mark.parametrize("bad", BAD)
def test_anything_else_is_refused_naming_the_value(bad):
    with pytest.raises(UserError) as info:
        check_symbol(bad, "--symbol")
    assert str(info.value).startswith("--symbol: expected a symbol (1 to 32 characters")
    assert str(info.value).endswith(f"got {bad!r}")


def test_store_write_refuses_a_bad_symbol_and_stores_nothing():
    from mismartera.testing import make_bars

    with BarStore(":memory:") as store:
        with pytest.raises(DataError, match=r"BarStore.write: expected a symbol .* '\.\./EVIL'"):
            store.write("../EVIL", "1m", make_bars([100.0, 101.0]))
        assert store.count() == 0


@pytest.mark.parametrize("bad", ['A"B', "../../EVIL"])
def test_import_cli_refuses_a_bad_symbol(tmp_path, bad):
    f = tmp_path / "bars.csv"
    f.write_text("timestamp,open,high,low,close,volume\n2024-01-03 09:30,1,1,1,1,1\n")
    store = tmp_path / "bars.duckdb"
    result = CliRunner().invoke(cli, ["data", "import", str(f), "--symbol", bad,
                                      "--store", str(store)])
    assert result.exit_code == 2
    assert "--symbol: expected a symbol" in result.output
    assert result.output.count("\n") == 1
    assert not store.exists()


def test_add_and_remove_symbol_refuse_a_bad_symbol():
    coordinator = SessionCoordinator(synthetic_config(), plugins=plugins())
    with pytest.raises(UserError, match=r"^add_symbol: expected a symbol .* '\.\./\.\./EVIL'$"):
        coordinator.add_symbol("../../EVIL")
    with pytest.raises(UserError, match=r"^remove_symbol: expected a symbol"):
        coordinator.remove_symbol("A B")
    coordinator.add_symbol(" syn3 ")
    assert list(coordinator._pending) == [("add", "SYN3")]


def test_scan_results_follow_the_rule():
    assert ScanResult(add=["brk.b", "BRK.B"]).add == ("BRK.B",)
    with pytest.raises(TypeError, match=r"ScanResult.add holds an invalid symbol: expected"):
        ScanResult(add=["../X"])
