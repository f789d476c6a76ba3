"""Build the Cython extensions in ext/ and map the folders onto the mismartera package.

Everything else (metadata, dependencies, entry points) lives in pyproject.toml.
Set MISMARTERA_CYTHON_DEBUG=1 to build with bounds, wraparound and initialisation checks on;
MISMARTERA_CYTHON_ANNOTATE=1 writes the `cython -a` HTML beside each .pyx.
"""

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

DEBUG = os.environ.get("MISMARTERA_CYTHON_DEBUG") == "1"
ANNOTATE = os.environ.get("MISMARTERA_CYTHON_ANNOTATE") == "1"

PACKAGE_DIRS = {
    "mismartera": "framework",
    "mismartera.ext": "ext",
    "mismartera.plugins": "plugins",
}

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": DEBUG,
    "cdivision": not DEBUG,
    "embedsignature": True,
    "autotestdict": False,
}


def packages() -> list[str]:
    """Every package below each mapped folder, under its import name."""
    found = []
    for name, folder in PACKAGE_DIRS.items():
        found.append(name)
        found += [f"{name}.{sub}" for sub in find_packages(folder)]
    return found


def cython_include_dir() -> str:
    """Mirror ext/*.pxd into build/cython/mismartera/ext/ and return build/cython.

    Cython finds a module's .pxd by its dotted name (`cimport mismartera.ext.ring` looks for
    mismartera/ext/ring.pxd on the include path), a folder the ext/ -> mismartera.ext mapping
    does not have. A copy is rewritten only when it differs, so cythonize's dependency
    tracking stays exact.
    """
    root = Path("build", "cython")
    staged = root / "mismartera" / "ext"
    staged.mkdir(parents=True, exist_ok=True)
    wanted = {pxd.name: pxd for pxd in Path("ext").glob("*.pxd")}
    for old in staged.glob("*.pxd"):
        if old.name not in wanted:
            old.unlink()
    for name, pxd in wanted.items():
        copy = staged / name
        if not copy.exists() or copy.read_bytes() != pxd.read_bytes():
            shutil.copy2(pxd, copy)
    return root.as_posix()


def extensions() -> list[Extension]:
    """One extension per ext/*.pyx; none found is an error, never a package without them."""
    if not any(Path("ext").glob("*.pyx")):
        sys.exit("setup.py: no Cython sources (ext/*.pyx) beside setup.py: this source tree "
                 "is incomplete, so the compiled extensions cannot be built")
    return [
        Extension(
            f"mismartera.ext.{pyx.stem}",
            [pyx.as_posix()],
            include_dirs=[np.get_include(), "ext"],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
        )
        for pyx in sorted(Path("ext").glob("*.pyx"))
    ]


def cythonized(exts: list[Extension], **options: Any) -> list[Extension]:
    """`cythonize` with the project's directives and include path (`options` add to them:
    tests/ext/test_ext_kernels_isa.py builds a variant of the kernels with `build_dir`)."""
    return cythonize(exts, compiler_directives=DIRECTIVES, annotate=ANNOTATE,
                     include_path=["ext", cython_include_dir()], **options)


if __name__ == "__main__":  # setuptools runs this file as __main__; a test imports it
    setup(
        package_dir=PACKAGE_DIRS,
        packages=packages(),
        ext_modules=cythonized(extensions()),
        zip_safe=False,
    )
