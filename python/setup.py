"""Puts the one-file server (the CLI built by `npx turbo run build`) into the wheel and the sdist.

Everything else about the package is in pyproject.toml. The file is taken from the repository's build
(packages/sparselab-profiler/dist-bundle) when this is a checkout, else from the package folder, where
an unpacked sdist has it; without it a wheel or sdist build fails, so none ships without its server.
An editable install needs none: its launcher finds the checkout's npm CLI.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.errors import FileError

HERE = Path(__file__).resolve().parent
CHECKOUT_PACKAGE = HERE.parent / "packages" / "sparselab-profiler"
SERVER = Path("src", "sparselab_profiler", "_server", "sparselab-profiler.mjs")


def server_bundle() -> Path:
    """The one-file server to ship, or an error that says how to build it."""
    if (CHECKOUT_PACKAGE / "package.json").is_file():
        built = CHECKOUT_PACKAGE / "dist-bundle" / "sparselab-profiler.mjs"
        if built.is_file():
            return built
        raise FileError(f"{built} is missing: build it first with `npx turbo run build` in {HERE.parent} "
                        "(the wheel ships the dashboard server as that one file)")
    if (HERE / SERVER).is_file():
        return HERE / SERVER
    raise FileError(f"{HERE / SERVER} is missing: build the wheel from a repository checkout after "
                    "`npx turbo run build`, or from an sdist made there")


class BuildPyWithServer(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib, *SERVER.parts[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server_bundle(), target)


class SdistWithServer(sdist):
    def make_release_tree(self, base_dir, files) -> None:
        super().make_release_tree(base_dir, files)
        target = Path(base_dir, SERVER)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server_bundle(), target)


setup(cmdclass={"build_py": BuildPyWithServer, "sdist": SdistWithServer})
