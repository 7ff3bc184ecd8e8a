"""Package discovery, and the native CPU kernels built at install time.

Everything else (metadata, dependencies, the folder mapping) is in pyproject.toml.

The kernels (``dnc_qa/memory/csrc``) are compiled here when torch can be imported by this
build: install torch first, then the package without build isolation (the README's
commands), so the module is built against the torch it will run with. The module compiles
the very text the first-use build compiles (``dnc_qa.memory.native.translation_unit``) with
the same flags, OpenMP included (without it if the compiler has none). When torch is not
importable here, or ``DNC_QA_BUILD_NATIVE=0`` is set, or the compiler fails, the package
installs without it and the kernels are built on first use instead.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
PACKAGES = [*find_packages(include=["dnc_qa*"]), "dnc_qa.cli"]


def _note(message: str) -> None:
    print(f"dnc-qa setup: {message}", file=sys.stderr)


def _native_module():
    """``dnc_qa/memory/native.py`` loaded on its own (it imports only the standard library at
    module level), without importing the package."""
    spec = importlib.util.spec_from_file_location(
        "_dnc_qa_native_build", HERE / "dnc_qa" / "memory" / "native.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _native_extension_kwargs() -> dict:
    """``ext_modules`` and ``cmdclass`` for the kernels, or nothing (see the docstring)."""
    if os.environ.get("DNC_QA_BUILD_NATIVE", "1") == "0":
        _note("DNC_QA_BUILD_NATIVE=0: native kernels are left to the first use")
        return {}
    try:
        import torch
        from torch.utils.cpp_extension import BuildExtension, CppExtension
    except ImportError:
        _note("torch is not importable in this build environment, so the native kernels "
              "will be built on first use; install torch first and this package with "
              "--no-build-isolation to build them now")
        return {}

    native = _native_module()
    source = Path("build") / "dnc_qa_native" / "main.cpp"  # setuptools wants relative paths
    (HERE / source).parent.mkdir(parents=True, exist_ok=True)
    text = native.translation_unit()
    if not (HERE / source).exists() or (HERE / source).read_text() != text:
        (HERE / source).write_text(text)

    def extension(openmp: bool) -> CppExtension:
        return CppExtension(
            f"dnc_qa.memory.{native.prebuilt_name(openmp, torch.__version__)}",
            [str(source)],
            include_dirs=[native.include_dir()],
            extra_compile_args=native.compile_flags(openmp),
            extra_link_args=native.link_flags(openmp),
        )

    serial = extension(openmp=False)

    class BuildNative(BuildExtension):
        """torch's BuildExtension that never fails the install: without OpenMP it builds the
        serial variant, and if that fails too it leaves the kernels to the first use."""

        skipped: set[str] = set()

        def build_extension(self, ext):
            _note("building the native kernels (about a minute)")
            try:
                super().build_extension(ext)
                return
            except Exception as exc:  # a compiler without OpenMP, no compiler, ...
                _note(f"native kernel build with OpenMP failed ({exc}); trying without")
            try:
                ext.name, ext.extra_compile_args = serial.name, list(serial.extra_compile_args)
                ext.extra_link_args = list(serial.extra_link_args)
                super().build_extension(ext)
            except Exception as exc:
                self.skipped.add(ext.name)
                _note(f"native kernel build failed ({exc}); they will be built on first "
                      "use, or the slower PyTorch path is used")

        def copy_extensions_to_source(self):
            self.extensions = [e for e in self.extensions if e.name not in self.skipped]
            super().copy_extensions_to_source()

        def get_outputs(self):
            return [o for o in super().get_outputs() if Path(o).exists()]

    return {"ext_modules": [extension(openmp=True)],
            "cmdclass": {"build_ext": BuildNative.with_options(use_ninja=False)}}


setup(packages=PACKAGES, **_native_extension_kwargs())
