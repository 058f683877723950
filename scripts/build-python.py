"""Builds a Python project's sdist and wheel with the build backend already installed.

usage: python3 scripts/build-python.py <project folder> <output folder>

It does what `python -m build --no-isolation` does, without needing the `build` package or the
Python package index: it reads `[build-system] build-backend` from the project's pyproject.toml,
imports that backend (Debian ships setuptools as python3-setuptools) and calls its PEP 517 hooks
`build_sdist` and `build_wheel`. It builds from a copy of the project in a temporary folder, so
the backend's scratch files (build/, *.egg-info) never land in the repository. Prints the two
file names; exits 1 with a clear message when the backend is not installed.
"""

import importlib
import os
import shutil
import sys
import tempfile
import tomllib

SCRATCH = shutil.ignore_patterns("dist", "build", "*.egg-info", "__pycache__", ".mypy_cache", ".pytest_cache")


def backend_of(project: str):
    """The PEP 517 backend module the project names (setuptools' legacy one when it names none)."""
    with open(os.path.join(project, "pyproject.toml"), "rb") as file:
        build_system = tomllib.load(file).get("build-system", {})
    name = build_system.get("build-backend", "setuptools.build_meta:__legacy__")
    module_name, _, attribute = name.partition(":")
    sys.path[:0] = build_system.get("backend-path", [])
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        requires = ", ".join(build_system.get("requires", [])) or module_name
        sys.exit(
            f"build-python: the build backend {name!r} is not installed ({error}); "
            f"install {requires} (Debian: python3-setuptools)"
        )
    for part in filter(None, attribute.split(".")):
        module = getattr(module, part)
    return module


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: python3 scripts/build-python.py <project folder> <output folder>")
    project, out_dir = (os.path.abspath(path) for path in sys.argv[1:])
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="huleedu-python-build-") as scratch:
        copy = os.path.join(scratch, os.path.basename(project))
        shutil.copytree(project, copy, ignore=SCRATCH)
        os.chdir(copy)
        backend = backend_of(copy)
        sdist = backend.build_sdist(out_dir)
        wheel = backend.build_wheel(out_dir)
        os.chdir(out_dir)
    print(os.path.join(out_dir, sdist))
    print(os.path.join(out_dir, wheel))


if __name__ == "__main__":
    main()
