"""Every documented public import path imports: the names of `mismartera.__all__`, every
`from mismartera... import ...` line of the README and docs/*.md, and the package paths
that moving modules into folders kept."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import mismartera

ROOT = Path(__file__).resolve().parents[2]

KEPT_PATHS = ["mismartera.config", "mismartera.calendar", "mismartera.importer",
              "mismartera.store", "mismartera.session.indicators", "mismartera.session.scanner",
              "mismartera.session.live", "mismartera.plugins.sources.synthetic",
              "mismartera.bars", "mismartera.intervals", "mismartera.sources",
              "mismartera.errors", "mismartera.export", "mismartera.testing"]


def documented_imports() -> list[tuple[str, str, str]]:
    """(file, module, name) for every `from mismartera... import a, b` in the documents."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text()
        for m in re.finditer(r"from (mismartera[\w.]*) import \(?([\w, \n]+?)\)?(?:`|$|\n)",
                             text, re.M):
            for name in m.group(2).replace("\n", " ").split(","):
                name = name.strip().split(" as ")[0].strip()
                if name:
                    found.append((doc.name, m.group(1), name))
    return found


@pytest.mark.parametrize("name", mismartera.__all__)
def test_every_name_of_the_package_imports(name):
    assert getattr(mismartera, name) is not None


@pytest.mark.parametrize(("doc", "module", "name"), documented_imports())
def test_every_documented_import_works(doc, module, name):
    imported = importlib.import_module(module)
    if not hasattr(imported, name):
        importlib.import_module(f"{module}.{name}")  # `from package import submodule`


@pytest.mark.parametrize("module", KEPT_PATHS)
def test_the_kept_package_paths_import(module):
    importlib.import_module(module)


def test_the_documents_name_import_lines_at_all():
    assert len(documented_imports()) > 10


def test_a_type_checker_sees_every_public_name():
    """`mismartera/__init__.py` loads most names lazily (`__getattr__`), which a type checker
    cannot follow: its TYPE_CHECKING block imports every one of them, from the module
    `_LAZY` loads it from, so none of `mismartera.__all__` is `Any` to mypy or an IDE."""
    tree = ast.parse((ROOT / "framework" / "__init__.py").read_text())
    eager: set[str] = set()
    checked: dict[str, str] = {}
    lazy: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            eager.update(alias.asname or alias.name for alias in node.names)
        elif (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
              and node.test.id == "TYPE_CHECKING"):
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module, ast.dump(stmt)
                for alias in stmt.names:
                    # `import X as X`: the explicit re-export strict checkers ask for
                    assert alias.asname == alias.name, f"import {alias.name} as {alias.name}"
                    checked[alias.name] = stmt.module
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "_LAZY"):
            lazy = ast.literal_eval(node.value)
    assert lazy and checked
    assert set(mismartera.__all__) == set(lazy) | {"hookimpl"}
    missing = sorted(name for name in mismartera.__all__ if name not in eager | set(checked))
    assert not missing, f"not in the TYPE_CHECKING block of mismartera/__init__.py: {missing}"
    assert {name: checked[name] for name in lazy} == lazy
