"""The `store` source opens the store read-only: many worker processes (a sweep's) read one
store at the same time while nothing writes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from mismartera.plugins.sources.sample import SampleSource
from mismartera.plugins.sources.store import StoreSource
from mismartera.store import BarStore

READER = r"""
import sys, time
from pathlib import Path
import numpy as np
from mismartera.intervals import Interval
from mismartera.plugins.sources.store import StoreSource

store, me, other = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
src = StoreSource(store=str(store))
me.write_text("open")
deadline = time.monotonic() + 60
while not other.exists():  # both hold the store open before either reads
    if time.monotonic() > deadline:
        sys.exit("the other reader never opened the store")
    time.sleep(0.01)
total = 0.0
for _ in range(20):
    for sym in src.symbols():
        for iv in src.intervals(sym):
            total += float(np.sum(src.bars(sym, iv, -(2**62), 2**62).close))
print(repr(total))
"""


def test_two_processes_read_one_store_at_once(tmp_path: Path):
    path = tmp_path / "bars.duckdb"
    sample = SampleSource()
    with BarStore(path) as store:
        for sym in sample.symbols():
            for iv in sample.intervals(sym):
                store.write(sym, iv, sample.bars(sym, iv, -(2**62), 2**62),
                            tz=ZoneInfo("America/New_York"))
    a, b = tmp_path / "a", tmp_path / "b"
    procs = [subprocess.Popen([sys.executable, "-c", READER, str(path), str(me), str(other)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for me, other in ((a, b), (b, a))]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    want = 20 * sum(float(np.sum(sample.bars(s, iv, -(2**62), 2**62).close))
                    for s in sample.symbols() for iv in sample.intervals(s))
    assert [float(out) for out, _ in outs] == [want, want]
    src = StoreSource(store=str(path))  # and this process too, beside nothing writing
    assert src.store.read_only
    src.close()
