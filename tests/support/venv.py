"""Temporary virtual environments that see the current environment (mismartera and its
dependencies) and get third-party plugin distributions pip-installed into them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class PluginVenv:
    def __init__(self, root: Path) -> None:
        self.root = root
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
        self.python = root / "bin" / "python"
        code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        purelib = subprocess.run([str(self.python), "-c", code],
                                 capture_output=True, text=True, check=True).stdout.strip()
        # make the current environment (mismartera, pip, setuptools, deps) importable, and
        # let its own .pth files (the editable install's finder) run too
        here = sysconfig.get_paths()["purelib"]
        Path(purelib, "_mismartera_parent_env.pth").write_text(
            f"import site; site.addsitedir({here!r})\n"
        )

    def pip_install(self, path: Path) -> None:
        subprocess.run([str(self.python), "-m", "pip", "install", "--quiet", "--no-deps",
                        "--no-build-isolation", "--no-index", str(path)],
                       check=True, capture_output=True, text=True)

    def mismartera(self, *args: str, env: Mapping[str, str] | None = None,
                   **kwargs) -> subprocess.CompletedProcess:
        """Run the CLI with installed plugins autoloaded (tests/conftest.py turns that off for
        the suite) and `env` added to the environment."""
        full = {k: v for k, v in os.environ.items() if k != "MISMARTERA_DISABLE_PLUGIN_AUTOLOAD"}
        return subprocess.run([str(self.python), "-m", "mismartera", *args], capture_output=True,
                              text=True, timeout=300, env={**full, **(env or {})}, **kwargs)

    @classmethod
    def with_plugin(cls, root: Path, distribution: Path) -> PluginVenv:
        """A new environment at `root` with the plugin distribution at `distribution`."""
        env = cls(root)
        env.pip_install(distribution)
        return env

    def listed(self, name: str) -> list[dict[str, Any]]:
        """The rows of `mismartera plugins --json` for the registered object `name`."""
        result = self.mismartera("plugins", "--json")
        assert result.returncode == 0, result.stderr
        return [r for r in json.loads(result.stdout) if r["name"] == name]
