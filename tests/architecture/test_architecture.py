"""The layout the architecture document describes, checked: no import cycle among
mismartera's modules, the import-linter contracts of pyproject.toml kept, every module
family a folder, the compiled kernels importing numpy (and C) only, and the module table of
docs/architecture.md naming modules that exist and every package of framework/."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A module family is a package: its front module is the package, its members the modules in it.
FAMILIES = ["framework/calendar", "framework/config", "framework/importer", "framework/store",
            "framework/session/indicators", "framework/session/scanner",
            "framework/session/live", "plugins/sources/synthetic"]
FLAT_PREFIXES = ("calendar_", "config_", "import_", "store_", "indicator_", "scanner_", "live_",
                 "synthetic_")

# Cycles that remain, each with its owner's reason; the test fails when one disappears, so
# the list only shrinks.
KNOWN_CYCLES: set[tuple[str, str]] = set()

_GRAPH = r"""
import json, subprocess, sys
import grimp
graph = grimp.build_graph("mismartera", cache_dir=None)
cycles = set()
for module in graph.modules:
    for imported in graph.find_modules_directly_imported_by(module):
        if graph.find_shortest_chain(importer=imported, imported=module):
            cycles.add(tuple(sorted((module, imported))))
lint = subprocess.run([sys.argv[1]], capture_output=True, text=True)
print(json.dumps({"modules": sorted(graph.modules), "cycles": sorted(cycles),
                  "lint": [lint.returncode, lint.stdout + lint.stderr]}))
"""


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    """grimp's view of the package, built from a linked tree (.ci/import_root.py) in a
    fresh interpreter (this one has mismartera imported from its editable mapping)."""
    import_root = runpy.run_path(str(ROOT / ".ci" / "import_root.py"))["import_root"]
    dest = import_root(tmp_path_factory.mktemp("import-root"), ROOT)
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([sys.executable, "-c", _GRAPH, str(lint)], capture_output=True,
                         text=True, cwd=ROOT, env={"PYTHONPATH": str(dest), "PATH": ""},
                         check=True)
    return json.loads(out.stdout)


def test_the_graph_holds_every_layer(graph):
    modules = set(graph["modules"])
    for name in ("mismartera.bars", "mismartera.ext", "mismartera.plugins.sources.csv",
                 "mismartera.session.indicators.protocol"):
        assert name in modules


def test_no_import_cycle_among_mismartera_modules(graph):
    cycles = {tuple(c) for c in graph["cycles"]}
    assert cycles - KNOWN_CYCLES == set(), "import cycles (each pair imports the other, " \
        "directly or through others; TYPE_CHECKING imports count)"
    assert KNOWN_CYCLES - cycles == set(), "a known cycle is gone: take it off KNOWN_CYCLES"


def test_the_import_linter_contracts_are_kept(graph):
    status, output = graph["lint"]
    assert status == 0, output
    assert "0 broken" in output


@pytest.mark.parametrize("family", FAMILIES)
def test_every_module_family_is_a_folder(family):
    assert (ROOT / family / "__init__.py").is_file()
    assert not (ROOT / f"{family}.py").exists()


def test_no_flat_family_modules_are_left():
    flat = [p.relative_to(ROOT).as_posix()
            for folder in ("framework", "framework/session", "plugins/sources")
            for p in (ROOT / folder).glob("*.py") if p.name.startswith(FLAT_PREFIXES)]
    assert flat == []


def test_the_kernels_import_numpy_and_c_only():
    allowed = ("numpy", "libc", "cpython", "cython", "mismartera.ext")
    found = {}
    for source in sorted((ROOT / "ext").glob("*.p[yx]*")):
        if source.suffix not in (".pyx", ".pxd", ".py"):  # .pyi stubs are for type checkers
            continue
        for line in source.read_text().splitlines():
            m = re.match(r"\s*(?:from|c?import)\s+([\w.]+)", line)
            # the language's own modules (a callback's type: functools.partial, MethodType)
            if m and m.group(1) not in ("__future__", "typing", "collections.abc", "functools",
                                        "types"):
                name = m.group(1)
                if not (name == "." or name.startswith(".")
                        or any(name == a or name.startswith(a + ".") for a in allowed)):
                    found.setdefault(source.name, []).append(name)
    assert found == {}


# ---- docs/architecture.md's module table ------------------------------------------------------


def module_table() -> list[str]:
    """The paths (relative to framework/) the module table of docs/architecture.md names:
    `x.py` modules and `x/` packages. A bare name is in the folder of the path named before it
    in the same row (`session/processor.py`, `quality.py`) or of the package whose
    parenthesis it is in (`calendar/` (`loader.py`)); other code spans (class names,
    `__init__`) are not paths."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| (`[^|]*) \|[^\n]*\|$", text, flags=re.M)
    assert rows, "docs/architecture.md has no module table"
    paths = []
    for cell in rows:
        folder = ""
        for name in re.findall(r"`([^`]+)`", cell):
            if not (name.endswith(".py") or name.endswith("/")):
                continue
            path = name if "/" in name else folder + name
            folder = path.rpartition("/")[0] + "/" if "/" in path else ""
            paths.append(path)
    return paths


def test_every_module_the_architecture_table_names_exists():
    paths = module_table()
    assert "session/coordinator.py" in paths and "session/quality.py" in paths
    assert "importer/dst.py" in paths and "calendar/clocks.py" in paths
    missing = [p for p in paths if not (ROOT / "framework" / p).exists()
               or (p.endswith("/") and not (ROOT / "framework" / p / "__init__.py").exists())]
    assert missing == [], f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_package_is_named_in_the_architecture_table():
    """A package is named as a folder (`shell/`) or by the path of a module in it
    (`session/data.py`)."""
    named = {p.rstrip("/") if p.endswith("/") else p.rpartition("/")[0] for p in module_table()}
    packages = sorted(str(init.parent.relative_to(ROOT / "framework"))
                      for init in (ROOT / "framework").rglob("__init__.py")
                      if init.parent != ROOT / "framework")
    assert packages, "no package found under framework/"
    unnamed = [p for p in packages if p not in named]
    assert unnamed == [], f"docs/architecture.md's module table does not name {unnamed}"
