"""Every documented public import path imports: the names of `mismartera.__all__`, every
`from mismartera... import ...` line of the README and docs/*.md, and the package paths
that moving modules into folders kept."""

from __future__ import annotations

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
