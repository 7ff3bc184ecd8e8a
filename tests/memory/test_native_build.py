"""The native kernels' two builds: at install time (setup.py) and at first use (load_inline).

Both must compile the same text with the same flags; the prebuilt module is preferred, the
first-use build is the fallback and says so on stderr.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch.utils.cpp_extension as cpp

from dnc_qa.memory import native

ROOT = Path(__file__).resolve().parents[2]
RUN_SETUP = ("exec(compile(open('setup.py').read(), 'setup.py', 'exec'), "
             "{'__file__': 'setup.py', '__name__': '__main__'})")


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """``native`` as in a new process with nothing built: no module, no marker."""
    monkeypatch.setattr(native, "_module", None)
    monkeypatch.setattr(native, "_failed", False)
    monkeypatch.setattr(native, "_looked_for_prebuilt", False)
    monkeypatch.setattr(native, "_built_marker", lambda: tmp_path / "native.built")
    return tmp_path


def test_install_build_compiles_what_load_inline_compiles(monkeypatch, tmp_path) -> None:
    """translation_unit() is byte for byte the main.cpp load_inline writes for kernels()."""
    monkeypatch.setattr(cpp, "_jit_compile", lambda *a, **k: None)
    cpp.load_inline(name="dnc_qa_tu_check", cpp_sources=native._sources(),
                    functions=list(native.FUNCTIONS), build_directory=str(tmp_path))
    assert (tmp_path / "main.cpp").read_text() == native.translation_unit()


def test_both_builds_use_the_same_flags(monkeypatch, fresh) -> None:
    calls = []
    monkeypatch.setattr(native, "_prebuilt", lambda: None)
    monkeypatch.setattr(cpp, "load_inline", lambda **kw: calls.append(kw) or "kernels")
    assert native.kernels() == "kernels"
    assert calls[0]["extra_cflags"] == native.compile_flags(True)
    assert "-fopenmp" in calls[0]["extra_cflags"]
    assert calls[0]["extra_ldflags"] == native.link_flags(True) == ["-fopenmp"]
    assert calls[0]["functions"] == list(native.FUNCTIONS)
    assert calls[0]["extra_include_paths"] == [native.include_dir()]
    assert "-fopenmp" not in native.compile_flags(False) and not native.link_flags(False)


def test_prebuilt_name_follows_sources_flags_and_torch(monkeypatch) -> None:
    name = native.prebuilt_name(True, "2.13.0")
    assert name.startswith("_native_") and name == native.prebuilt_name(True, "2.13.0")
    assert native.prebuilt_name(False, "2.13.0") != name
    assert native.prebuilt_name(True, "2.14.0") != name
    sources = native._sources()
    monkeypatch.setattr(native, "_sources", lambda: [*sources[:-1], sources[-1] + "// edited\n"])
    assert native.prebuilt_name(True, "2.13.0") != name


def test_a_prebuilt_module_is_used_without_compiling(monkeypatch, fresh) -> None:
    calls, imported = [], []
    prebuilt = types.ModuleType("prebuilt")
    expected = f"dnc_qa.memory.{native.prebuilt_name(True)}"

    def fake_import(name):
        imported.append(name)
        if name == expected:
            return prebuilt
        raise ImportError(name)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    monkeypatch.setattr(cpp, "load_inline", lambda **kw: calls.append(kw) or "jit")
    assert native.kernels(build=False) is prebuilt  # even in no-grad passes
    assert native.kernels() is prebuilt and not calls and imported == [expected]


def test_the_serial_prebuilt_module_is_the_second_choice(monkeypatch, fresh) -> None:
    serial = types.ModuleType("serial")
    wanted = f"dnc_qa.memory.{native.prebuilt_name(False)}"

    def fake_import(name):
        if name == wanted:
            return serial
        raise ImportError(name)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    assert native.kernels() is serial


def test_the_first_use_build_says_so_once(monkeypatch, fresh, capsys) -> None:
    monkeypatch.setattr(native, "_prebuilt", lambda: None)
    monkeypatch.setattr(cpp, "load_inline", lambda **kw: "kernels")
    assert native.kernels() == "kernels"
    assert native.BUILD_MESSAGE in capsys.readouterr().err
    monkeypatch.setattr(native, "_module", None)  # a later process: the build is cached
    assert native.kernels() == "kernels"
    assert capsys.readouterr().err == ""


def test_every_source_in_csrc_is_compiled_and_no_kernel_hides_in_python() -> None:
    """The translation unit is the files of csrc/ (the link kernels included), in order."""
    sources = sorted(p.name for p in native.CSRC.glob("*.cpp"))
    assert sorted(native.SOURCES) == sources
    unit = native.translation_unit()
    for name in native.SOURCES:
        assert (native.CSRC / name).read_text() in unit
    assert "link_forward" in (native.CSRC / "dnc_link.cpp").read_text()
    assert "template" not in Path(native.__file__).read_text()


def test_setup_py_skips_the_build_when_asked() -> None:
    """``DNC_QA_BUILD_NATIVE=0`` installs without kernels (setup.py declares no extension)."""
    env = {**os.environ, "DNC_QA_BUILD_NATIVE": "0"}
    code = ("import setuptools, sys; setuptools.setup = lambda **kw: print(sorted(kw)); "
            "sys.argv = ['setup.py']; " + RUN_SETUP)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['packages']" and "first use" in out.stderr


def test_setup_py_declares_the_prebuilt_extension() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DNC_QA_BUILD_NATIVE"}
    code = ("import setuptools, sys; setuptools.setup = lambda **kw: "
            "print([e.name for e in kw['ext_modules']], kw['ext_modules'][0].extra_compile_args); "
            "sys.argv = ['setup.py']; " + RUN_SETUP)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"dnc_qa.memory.{native.prebuilt_name(True)}" in out.stdout
    assert str(native.compile_flags(True)) in out.stdout


def test_the_installed_module_if_any_is_current() -> None:
    """A prebuilt module in the package folder is the one these sources name (a stale one,
    from before an edit, is never loaded: its name differs)."""
    folder = Path(native.__file__).parent
    built = sorted(p.name.split(".")[0] for p in folder.glob("_native_*.so"))
    if not built:
        pytest.skip("installed without prebuilt kernels")
    current = {native.prebuilt_name(True), native.prebuilt_name(False)}
    if not current & set(built):
        pytest.skip("sources edited since the install: the first-use build applies")
    assert native._prebuilt().__name__.rsplit(".", 1)[1] in current
