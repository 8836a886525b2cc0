"""The embedded code is the package's own source, sliced, renamed, and free of desktop imports."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etf_rebalancer.lite import bundle
from etf_rebalancer.lite.bundle import (
    EMBEDDED_PACKAGE,
    LiteBuildError,
    build_files,
    embedded_modules,
    unpack_modules,
)

ALLOWED = {"numpy", "pandas", "scipy", "xlwings", "pyodide", "js", EMBEDDED_PACKAGE, "__future__"}
FORBIDDEN = {"yfinance", "curl_cffi", "threading", "subprocess", "sqlite3", "requests", "openpyxl"}


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add(node.module or "")
    return names


def _original(name: str) -> ast.Module:
    module = "etf_rebalancer" + name.removesuffix(".__init__")[len(EMBEDDED_PACKAGE) :]
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    return ast.parse(Path(spec.origin).read_text(encoding="utf-8"))


def _defs(tree: ast.Module) -> dict[str, str]:
    return {
        s.name: ast.dump(s)
        for s in tree.body
        if isinstance(s, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
    }


def _guarded_imports(source: str) -> set[str]:
    """Modules imported directly inside a ``try`` whose handler catches ImportError."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        ):
            for stmt in node.body:
                if isinstance(stmt, ast.Import):
                    out.update(a.name for a in stmt.names)
    return out


def test_only_stdlib_numpy_pandas_scipy_and_lites_api_are_imported():
    files = build_files()
    sources = [files["main.py"], *embedded_modules().values()]
    for source in sources:
        guarded = _guarded_imports(source)
        for name in _imports(source):
            top = name.split(".")[0]
            if top == "highspy":
                # Optional: only inside try/except ImportError (Pyodide plans with scipy).
                assert name in guarded, name
                continue
            assert top not in FORBIDDEN and name not in FORBIDDEN, name
            assert top in ALLOWED or top in sys.stdlib_module_names, name
            assert top != "etf_rebalancer", name


def test_every_definition_is_the_packages_own_source_unchanged():
    # Not a hand copy: each travelling function and class is the package's, node for node.
    modules = embedded_modules()
    checked = 0
    for name, source in modules.items():
        if name.endswith(".__init__") and "Embedded package" in source:
            continue
        embedded, original = _defs(ast.parse(source)), _defs(_original(name))
        for def_name, dump in embedded.items():
            assert dump == original[def_name], f"{name}.{def_name} differs from the package's"
            checked += 1
    assert checked > 150


def test_what_is_sliced_away_is_exactly_the_live_quote_paths():
    modules = embedded_modules()
    dropped = {}
    for name, source in modules.items():
        if name.endswith(".__init__") and "Embedded package" in source:
            continue
        gone = set(_defs(_original(name))) - set(_defs(ast.parse(source)))
        if gone:
            dropped[name] = gone
    assert dropped == {
        f"{EMBEDDED_PACKAGE}.planning.market": {
            "LiveQuotes",
            "market_data_for",
            "_freshness_notices",
        }
    }
    # And nothing of the quote layer, udfs, workbook, excel or cli travels.
    assert not any(
        part in name
        for name in modules
        for part in (".quotes", ".udfs", ".workbook", ".excel", ".cli")
    )


def test_the_build_is_byte_stable():
    assert build_files() == build_files()


def test_a_module_lite_cannot_import_stops_the_build(monkeypatch):
    # Metamorphic: take scipy away from what Lite has, and the engine no longer travels.
    monkeypatch.setattr(bundle, "_ALLOWED_THIRD_PARTY", bundle._ALLOWED_THIRD_PARTY - {"scipy"})
    bundle._embedded.cache_clear()
    try:
        with pytest.raises(LiteBuildError, match="scipy"):
            embedded_modules()
    finally:
        bundle._embedded.cache_clear()


def test_unpacked_modules_are_the_embedded_ones():
    files = build_files()
    unpacked = unpack_modules(files["main.py"])
    modules = embedded_modules()
    modules.pop(f"{EMBEDDED_PACKAGE}.lite.host")
    modules.pop(f"{EMBEDDED_PACKAGE}.lite.__init__")
    assert unpacked == {k.replace(".", "/") + ".py": v for k, v in modules.items()}


@pytest.mark.skipif(
    shutil.which("ruff") is None and not Path(sys.executable).with_name("ruff").exists(),
    reason="ruff not installed",
)
def test_no_undefined_names_in_what_travels(tmp_path):
    # Slicing must never leave a use of a name it cut away (ruff F821 on every file).
    files = build_files()
    (tmp_path / "main.py").write_text(files["main.py"], encoding="utf-8")
    for relative, source in unpack_modules(files["main.py"]).items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    done = subprocess.run(
        [ruff, "check", "--no-cache", "--isolated", "--select", "F821,F822,F823", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
