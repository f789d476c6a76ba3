"""The kernels give the same bits whichever vector loops the CPU runs.

ext/kernels.pyx compiles its vector loops twice (baseline SSE2 and AVX2) and picks one at
run time, so a sweep on a cluster of mixed CPUs must give a laptop's rows. This test builds
the baseline-only variant (`-DMISMARTERA_NO_AVX2`, otherwise setup.py's extension, directives
and include path) into a temporary folder, loads it in a subprocess under its own module
name, and runs every kernel of the registry (batch, `update_many` and one `update` at a time)
on inputs that reach the block paths (long series, periods on both sides of the segment,
chunk and doubling limits, NaN, infinities, signed zeros, constant runs, wide magnitudes).
The installed build runs the same calls here; the outputs must be equal bit for bit
(compared as int64), with one exception: every NaN counts as one NaN, whatever its sign and
payload (the kernels promise values, and a NaN's sign and payload are those of whichever
operand the hardware sees first: the builds do differ there, sma, rolling_sum, rolling_std and
bbands over NaN and infinities give NaNs of either sign); NaN positions, -0.0 against +0.0
and infinities are compared exactly.

On a CPU without AVX2 both builds run the baseline loops, and the test still checks that
the two builds agree. Slow: the Cython and C compile of kernels.pyx takes most of its time.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from mismartera.ext import kernels as installed
from tests.support.kernels import KERNELS, Kernel

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
N = 12_000  # several segments, chunks and resyncs for every period below
N_UPDATE = 1_500  # the one-value `update` run (a Python call per value) reads a prefix
PERIODS = (1, 2, 3, 4, 7, 20, 64, 128, 129, 300, 1100)
UPDATE_PERIODS = (1, 4, 20, 129)
MULTI_WINDOWS = ((1, 1, 1), (2, 5, 3), (20, 129, 64), (5, 300, 128))
STREAM_OPTIONS: dict[str, tuple[dict[str, float], ...]] = {"rolling_std": ({}, {"nbdev": 2.5})}
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])
CANONICAL_NAN = np.array(np.nan).view(np.int64)

# Build the baseline variant: setup.py's kernels extension, its directives and include path
# (`cythonized`), the macro added, the generated C and objects kept under argv[1].
BUILD = """
import importlib.util, sys
from pathlib import Path
from setuptools import Distribution
out = Path(sys.argv[1])
spec = importlib.util.spec_from_file_location("mismartera_setup", "setup.py")
setup_py = importlib.util.module_from_spec(spec)
spec.loader.exec_module(setup_py)
[ext] = [e for e in setup_py.extensions() if e.name == "mismartera.ext.kernels"]
ext.define_macros.append(("MISMARTERA_NO_AVX2", None))
[ext] = setup_py.cythonized([ext], build_dir=str(out / "c"), quiet=True)
build = Distribution({"ext_modules": [ext]}).get_command_obj("build_ext")
build.build_lib, build.build_temp = str(out / "lib"), str(out / "tmp")
build.ensure_finalized()
build.run()
print(build.get_ext_fullpath(ext.name))
"""

# Load the built file as `mismartera_baseline.kernels` (PyInit_kernels) and dump its outputs.
DUMP = """
import importlib.util, sys
from tests.ext.test_ext_kernels_isa import dump
spec = importlib.util.spec_from_file_location("mismartera_baseline.kernels", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
dump(module, sys.argv[2], sys.argv[3])
"""


# ------------------------------------------------------------------------------ inputs


def series(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Close-like series of N values, each aimed at one kind of block path."""
    walk = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, N)))
    specials = walk.copy()
    where = rng.random(N) < 0.01
    specials[where] = rng.choice(SPECIAL, int(where.sum()))
    specials[5000:5300] = np.nan  # windows full of NaN, then leaving them
    specials[8000:8010] = np.inf
    zeros = rng.choice(np.array([0.0, -0.0, 1.0, -1.0, 0.5]), N)
    zeros[3000:6000] = rng.choice(np.array([0.0, -0.0]), 3000)  # max/min over signed zeros
    repeats = walk.copy()
    repeats[rng.random(N) < 0.2] = 100.0
    repeats[2000:4500] = 42.0  # the variance collapses to exactly 0 and is recomputed
    wide = rng.choice(np.array([-1.0, 1.0]), N) * 10.0 ** rng.uniform(-150, 150, N)
    return {"walk": walk, "specials": specials, "zeros": zeros, "repeats": repeats,
            "wide": wide}


def make_inputs(seed: int = 20261206) -> dict[str, np.ndarray]:
    """Per series: close, high, low and volume (NaN and the like carried over), and
    session ids of a few sessions."""
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {}
    for name, close in series(rng).items():
        spread = np.abs(rng.normal(0, 0.5, N))
        volume = np.abs(rng.normal(0, 1000, N))
        volume[rng.random(N) < 0.05] = 0.0
        inputs |= {f"{name}/close": close, f"{name}/high": close + spread,
                   f"{name}/low": close - spread, f"{name}/volume": volume}
    inputs["sessions"] = np.repeat(np.arange(6, dtype=np.int64), N // 6 + 1)[:N] * 7 - 3
    return inputs


def param_sets(kernel: Kernel) -> list[tuple]:
    if not kernel.windows:
        return [()]
    if len(kernel.windows) == 1:
        return [(p, *kernel.defaults[1:]) for p in PERIODS]
    n = len(kernel.windows)
    return [kernel.defaults] + [tuple(sorted(w[:n])) + kernel.defaults[n:]
                                for w in MULTI_WINDOWS]


# ----------------------------------------------------------------------------- outputs


def rows(out: Any) -> np.ndarray:
    """One row per output, float64."""
    out = out if isinstance(out, tuple) else (out,)
    return np.vstack([np.asarray(o, dtype=np.float64) for o in out])


def outputs(module: ModuleType, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every kernel of the registry, looked up by name in `module`, on every series."""
    names = sorted({key.split("/")[0] for key in inputs if "/" in key})
    got: dict[str, np.ndarray] = {}
    for kernel in KERNELS:
        batch = getattr(module, kernel.batch.__name__)
        stream = getattr(module, kernel.stream.__name__)
        ids = (inputs["sessions"],) if kernel.sessions else ()
        for name in names:
            columns = [inputs[f"{name}/{field}"] for field in kernel.inputs]
            for params in param_sets(kernel):
                key = f"{kernel.name}{params}/{name}"
                got[f"{key}/batch"] = rows(batch(*columns, *ids, *params))
                for options in STREAM_OPTIONS.get(kernel.name, ({},)):
                    tag = "".join(f",{k}={v}" for k, v in options.items())
                    got[f"{key}/update_many{tag}"] = rows(
                        stream(*params, **options).update_many(*columns))
                if params[:1] and params[0] not in UPDATE_PERIODS:
                    continue
                one = stream(*params)
                values = [one.update(*map(float, row))
                          for row in zip(*(c[:N_UPDATE] for c in columns), strict=True)]
                got[f"{key}/update"] = np.array(values, dtype=np.float64).reshape(
                    N_UPDATE, -1).T
    return got


def dump(module: ModuleType, inputs_path: str, out_path: str) -> None:
    """The subprocess's side: `module`'s ISA and outputs, saved to `out_path`."""
    with np.load(inputs_path) as saved:
        inputs = dict(saved)
    np.savez(out_path, **outputs(module, inputs), isa=np.array(module._vector_isa()))


def canonical(values: np.ndarray) -> np.ndarray:
    """The int64 bits, every NaN as the same one."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64).copy()
    bits[np.isnan(values)] = CANONICAL_NAN
    return bits


# ------------------------------------------------------------------------------- build


def c_compiler() -> str | None:
    """The C compiler setuptools would run (CC, else Python's build), if it is installed."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC")
    return shutil.which(shlex.split(cc)[0]) if cc else None


def stale() -> bool:
    """Whether the installed kernels were built before ext/kernels.pyx last changed."""
    source = ROOT / "ext" / "kernels.pyx"
    return Path(str(installed.__file__)).stat().st_mtime < source.stat().st_mtime


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> dict[str, np.ndarray]:
    """The baseline build's ISA and outputs, from a subprocess."""
    pytest.importorskip("Cython", reason="Cython is needed to build the baseline kernels")
    if not (ROOT / "setup.py").is_file() or not (ROOT / "ext" / "kernels.pyx").is_file():
        pytest.skip("not a source checkout: setup.py and ext/kernels.pyx are needed")
    if c_compiler() is None:
        pytest.skip("no C compiler (CC or Python's build compiler) to build the kernels")
    tmp = tmp_path_factory.mktemp("kernels_isa")
    built = subprocess.run([sys.executable, "-c", BUILD, str(tmp)], cwd=ROOT,
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, f"the baseline build failed:\n{built.stderr[-4000:]}"
    library = built.stdout.strip().splitlines()[-1]
    np.savez(tmp / "inputs.npz", **make_inputs())
    ran = subprocess.run([sys.executable, "-c", DUMP, library, str(tmp / "inputs.npz"),
                          str(tmp / "outputs.npz")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, f"the baseline build's run failed:\n{ran.stderr[-4000:]}"
    with np.load(tmp / "outputs.npz") as saved:
        return dict(saved)


@pytest.fixture(scope="module")
def here() -> dict[str, np.ndarray]:
    """The installed build's outputs on the same inputs."""
    return outputs(installed, make_inputs())


# ------------------------------------------------------------------------------- tests


def test_the_baseline_build_runs_the_baseline_loops(baseline):
    assert str(baseline["isa"]) == "baseline"
    assert installed._vector_isa() in ("avx2", "baseline")


@pytest.mark.parametrize("kernel", KERNELS, ids=str)
def test_both_builds_give_the_same_bits(kernel, baseline, here):
    keys = [key for key in here if key.startswith(f"{kernel.name}(")]
    assert keys and set(keys) == {k for k in baseline if k.startswith(f"{kernel.name}(")}
    differ = []
    for key in keys:
        got, want = baseline[key], here[key]
        assert got.shape == want.shape, key
        bad = np.argwhere(canonical(got) != canonical(want))
        if bad.size:
            at = tuple(int(i) for i in bad[0])
            differ.append(f"{key}: {len(bad)} values, first at {at}: baseline "
                          f"{got[at]!r} ({got[at].tobytes().hex()}), "
                          f"{installed._vector_isa()} {want[at]!r} ({want[at].tobytes().hex()})")
    if differ and stale():
        differ.append("(the installed build is older than ext/kernels.pyx: rebuild it)")
    assert not differ, "\n".join(differ)
