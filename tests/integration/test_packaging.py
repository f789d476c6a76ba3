"""What `pip install` gets: the sdist ships the Cython sources and an install from it builds the
extensions; the wheel builds with `python -m build`; a missing build says how to fix it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import mismartera
from tests.support.venv import PluginVenv

ROOT = Path(__file__).resolve().parents[2]
GENERATED = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.so", "*.c",
             "*.html", ".*cache", ".hypothesis", ".benchmarks")
PROBE = ("import importlib.metadata as m, mismartera; print(mismartera.__file__); "
         "print([e.value for e in m.entry_points(group='pytest11') "
         "if e.dist.name == 'mismartera'])")


def copy_source(dest: Path, *also_ignored: str) -> Path:
    """The source tree without its build products (nor `also_ignored`)."""
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*GENERATED, *also_ignored))
    return dest


def without_kernels(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name == "mismartera.ext.kernels" else real(name, *a))


def test_not_built_in_a_checkout_says_to_build_the_checkout(monkeypatch, tmp_path):
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "ring.pyx").write_text("")
    (tmp_path / "setup.py").write_text("")
    without_kernels(monkeypatch)
    with pytest.raises(ImportError) as info:
        mismartera._check_build(tmp_path)
    assert str(info.value) == ("mismartera's compiled extensions are not built (missing: "
                               f"kernels); run `pip install -e .` in {tmp_path} to build them.")


def test_not_built_in_an_installation_says_to_reinstall(monkeypatch, tmp_path):
    without_kernels(monkeypatch)
    with pytest.raises(ImportError, match=r"\(missing: kernels\); reinstall it where a C "
                                          r"compiler is available \(`pip install "
                                          r"--force-reinstall --no-cache-dir mismartera`\)"):
        mismartera._check_build(tmp_path)


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """`python -m build` on a copy of the source tree: the sdist, and the wheel built from it."""
    tmp = tmp_path_factory.mktemp("dists")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir",
                    str(tmp / "dist"), str(copy_source(tmp / "src"))],
                   check=True, capture_output=True, text=True, timeout=900)
    return {"sdist": next((tmp / "dist").glob("*.tar.gz")),
            "wheel": next((tmp / "dist").glob("*.whl"))}


@pytest.mark.venv
def test_the_sdist_ships_the_cython_sources_and_no_generated_c(dists):
    with tarfile.open(dists["sdist"]) as tar:
        names = {Path(n).relative_to(Path(n).parts[0]).as_posix() for n in tar.getnames()
                 if len(Path(n).parts) > 1}
    pyx = {p.relative_to(ROOT).as_posix() for p in (ROOT / "ext").glob("*.pyx")}
    assert pyx and pyx <= names
    assert "setup.py" in names and "ext/ring.pxd" in names
    assert not [n for n in names if n.endswith((".c", ".so"))]


@pytest.mark.venv
@pytest.mark.parametrize("kind", ["sdist", "wheel"])
def test_installed_package_runs_the_demo(dists, tmp_path, kind):
    venv = PluginVenv(tmp_path / "venv")
    venv.pip_install(dists[kind])
    probe = subprocess.run([str(venv.python), "-c", PROBE], capture_output=True, text=True,
                           check=True, cwd=tmp_path).stdout.splitlines()
    assert Path(probe[0]).is_relative_to(tmp_path / "venv")  # the installed copy, not ours
    assert probe[1] == "[]"  # no pytest11 entry point: pytest runs elsewhere stay untouched
    result = venv.mismartera("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "days 20  symbols 1  bars read 14,180" in result.stdout


@pytest.mark.venv
def test_a_source_tree_without_cython_sources_fails_to_install(tmp_path):
    source = copy_source(tmp_path / "src", "*.pyx")
    venv = PluginVenv(tmp_path / "venv")
    with pytest.raises(subprocess.CalledProcessError) as info:
        venv.pip_install(source)
    assert "no Cython sources (ext/*.pyx)" in info.value.stderr + info.value.stdout
