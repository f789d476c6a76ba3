"""Lay out the checkout as one importable `mismartera` package for the import-graph tools.

setup.py maps three folders onto one package (framework/ -> mismartera, ext/ ->
mismartera.ext, plugins/ -> mismartera.plugins). grimp (behind `lint-imports` and
tests/architecture/test_architecture.py) finds a package by walking its folder, so in a
checkout it sees framework/ only. This writes DEST/mismartera/ with a link to every entry
of framework/ plus `ext` and `plugins`; put DEST first on PYTHONPATH:

    python3 .ci/import_root.py build/import-root
    PYTHONPATH=build/import-root .venv/bin/lint-imports
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def import_root(dest: Path, root: Path = ROOT) -> Path:
    """(Re)build DEST/mismartera from the checkout at `root`; returns DEST."""
    package = dest / "mismartera"
    if package.is_symlink() or package.is_file():
        package.unlink()
    elif package.exists():
        shutil.rmtree(package)
    package.mkdir(parents=True)
    links = {p.name: p for p in (root / "framework").iterdir() if p.name != "__pycache__"}
    links["ext"] = root / "ext"
    links["plugins"] = root / "plugins"
    for name, target in links.items():
        (package / name).symlink_to(target, target_is_directory=target.is_dir())
    return dest


if __name__ == "__main__":
    import_root(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "import-root")
