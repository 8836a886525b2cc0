"""Build the Python a Lite workbook carries (``main.py``, ``requirements.txt``) from this package.

The embedded code is never a hand copy: :func:`build_files` reads the source
of the package's own pure modules (cells, engine, backtest, planning's inputs
and Quotes-sheet reader, the UDF wrappers' shared helpers, and
:mod:`etf_rebalancer.lite.host`, the Lite functions themselves), follows their
imports from :mod:`etf_rebalancer.lite.host` outwards, renames the package
``etf_rebalancer`` to :data:`EMBEDDED_PACKAGE`, and slices away what needs the
desktop: every import of a module outside the embeddable set (the quote layer,
``xlwings``' desktop decorators in ``udfs.py``) is dropped together with the
top-level definitions that use it, transitively. What is left may import only
the standard library (minus threads, processes, SQLite and sockets), numpy,
pandas, scipy, xlwings' Lite API and pyodide; anything else is a
:class:`LiteBuildError` at build time.

Storage (seen in real Lite workbooks, see :mod:`etf_rebalancer.lite.webext`):
a workbook holds exactly one ``main.py`` and one ``requirements.txt``. The
modules therefore travel inside ``main.py`` as source strings, installed by a
small meta-path importer at its top, so that the package's module structure and
relative imports stay as they are; ``etf-rebal lite extract`` unpacks them again.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path

from etf_rebalancer.errors import LiteBuildError as LiteBuildError

__all__ = [
    "EMBEDDED_PACKAGE",
    "REQUIREMENTS",
    "LiteBuildError",
    "build_files",
    "embedded_modules",
]

#: The package name the embedded copy lives under (so that it can never shadow or be
#: mistaken for an installed ``etf_rebalancer``).
EMBEDDED_PACKAGE = "rebal_lite"

_ROOT = "etf_rebalancer"
_HOST = "etf_rebalancer.lite.host"

#: Modules (and packages) whose source may travel; anything else they import is cut away.
_EMBEDDABLE_PREFIXES = (
    "etf_rebalancer.errors",
    "etf_rebalancer.cells",
    "etf_rebalancer.engine",
    "etf_rebalancer.backtest",
    "etf_rebalancer.planning",
    "etf_rebalancer.udfs",
    "etf_rebalancer.lite.host",
)
#: Modules under those prefixes that must not travel.
_NOT_EMBEDDABLE: tuple[str, ...] = ()

#: Third-party imports the embedded code may use (Pyodide ships each; HiGHS is in its scipy).
_ALLOWED_THIRD_PARTY = frozenset({"numpy", "pandas", "scipy", "xlwings", "pyodide", "js"})
#: Imported only inside ``try``/``except ImportError`` with a fallback: the engine uses
#: highspy where it is installed and scipy's own HiGHS (``scipy.optimize.milp``) in Lite.
_OPTIONAL_THIRD_PARTY = frozenset({"highspy"})
#: Standard-library modules that do not work in the browser or that the issue rules out.
_FORBIDDEN_STDLIB = frozenset(
    {
        "threading",
        "_thread",
        "multiprocessing",
        "concurrent",
        "subprocess",
        "sqlite3",
        "socket",
        "asyncio.subprocess",
        "tkinter",
    }
)

#: ``requirements.txt`` of every Lite edition. The ``# required`` lines are the ones
#: xlwings Lite itself writes into a new workbook (seen in the cited workbooks);
#: numpy, pandas and scipy are Pyodide's own builds (scipy carries HiGHS: ``milp``).
REQUIREMENTS = (
    "xlwings==0.33.20  # required\n"
    "python-dotenv==1.1.1  # required\n"
    "pyodide-http  # required\n"
    "numpy\n"
    "pandas\n"
    "scipy\n"
)


# ---------------------------------------------------------------- reading sources


def _is_embeddable(module: str) -> bool:
    if module in _NOT_EMBEDDABLE:
        return False
    return any(module == p or module.startswith(p + ".") for p in _EMBEDDABLE_PREFIXES)


def _source_path(module: str) -> tuple[Path, bool]:
    """File of ``module`` and whether it is a package (read as text, never imported)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise LiteBuildError(f"Lite build: cannot find the source of {module}")
    return Path(spec.origin), spec.submodule_search_locations is not None


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """Absolute module name of ``from ... import`` inside ``module``."""
    if not node.level:
        return node.module or ""
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# ---------------------------------------------------------------- slicing


class _Module:
    """One module's parsed source and what it defines at top level."""

    def __init__(self, name: str) -> None:
        self.name = name
        path, self.is_package = _source_path(name)
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def bound_names(self) -> set[str]:
        names: set[str] = set()
        for stmt in self.tree.body:
            names |= _bound(stmt)
        return names


def _bound(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {stmt.name}
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _used(stmt: ast.stmt) -> set[str]:
    """Names a statement reads, quoted annotations included."""
    names = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    for node in ast.walk(stmt):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.arg | ast.AnnAssign):
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        for annotation in annotations:
            if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
                try:
                    expr = ast.parse(annotation.value, mode="eval")
                except SyntaxError:
                    continue
                names |= {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
    return names


def _nested_imports(stmt: ast.stmt) -> Iterable[ast.Import | ast.ImportFrom]:
    for node in ast.walk(stmt):
        if isinstance(node, ast.Import | ast.ImportFrom) and node is not stmt:
            yield node


def _slice(modules: dict[str, _Module]) -> None:
    """Drop imports from outside the embeddable set and everything that depends on them."""
    changed = True
    while changed:
        changed = False
        exported = {name: m.bound_names() for name, m in modules.items()}
        for module in modules.values():
            dropped: set[str] = set()
            body: list[ast.stmt] = []
            for stmt in module.tree.body:
                keep = _keep_statement(module, stmt, modules, exported, dropped)
                if keep is None:
                    dropped |= _bound(stmt)
                    changed = True
                    continue
                body.append(keep)
            # A definition that reads a dropped name goes too (and what reads it, ...).
            while True:
                kept = [s for s in body if _is_all(s) or not (_used(s) & dropped and _bound(s))]
                kept = [_filter_all(s, dropped) for s in kept]
                removed = [s for s in body if s not in kept and not _is_all(s)]
                if not removed:
                    body = kept
                    break
                for stmt in removed:
                    dropped |= _bound(stmt)
                body = kept
                changed = True
            module.tree.body = body


def _is_all(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets
    )


def _filter_all(stmt: ast.stmt, dropped: set[str]) -> ast.stmt:
    """``__all__`` keeps only the names that survived."""
    if _is_all(stmt) and isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.List):
        stmt.value.elts = [
            e for e in stmt.value.elts if not (isinstance(e, ast.Constant) and e.value in dropped)
        ]
    return stmt


def _keep_statement(
    module: _Module,
    stmt: ast.stmt,
    modules: dict[str, _Module],
    exported: dict[str, set[str]],
    dropped: set[str],
) -> ast.stmt | None:
    """The statement as it travels, or ``None`` when it must be cut away."""
    if isinstance(stmt, ast.ImportFrom):
        target = _resolve(module.name, module.is_package, stmt)
        if target.split(".")[0] != _ROOT:
            return stmt
        if not _is_embeddable(target):
            # `from etf_rebalancer import cells as xl`: a package's embeddable submodules.
            if all(_is_embeddable(f"{target}.{a.name}") for a in stmt.names):
                return stmt
            return None
        if target in modules:
            # Names the (sliced) target no longer defines, and submodules not embedded.
            names = [
                a
                for a in stmt.names
                if a.name in exported[target] or f"{target}.{a.name}" in modules
            ]
            if not names:
                return None
            if len(names) != len(stmt.names):
                dropped |= {a.asname or a.name for a in stmt.names if a not in names}
                stmt.names = names
        return stmt
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.name.split(".")[0] == _ROOT and not _is_embeddable(alias.name):
                return None
        return stmt
    # Function-level imports (a UDF body's lazy `from etf_rebalancer.quotes ...`).
    for node in _nested_imports(stmt):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module.name, module.is_package, node)
            if target.split(".")[0] == _ROOT:
                if not _is_embeddable(target):
                    return None
                if target in modules and any(
                    a.name not in exported[target] and f"{target}.{a.name}" not in modules
                    for a in node.names
                ):
                    return None
        elif any(a.name.split(".")[0] == _ROOT and not _is_embeddable(a.name) for a in node.names):
            return None
    return stmt


# ---------------------------------------------------------------- the closure


def _imported_modules(module: _Module) -> set[str]:
    """``etf_rebalancer`` modules ``module`` imports (top level and nested)."""
    found: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module.name, module.is_package, node)
            if target.split(".")[0] != _ROOT:
                continue
            found.add(target)
            for alias in node.names:
                if _is_module(f"{target}.{alias.name}"):
                    found.add(f"{target}.{alias.name}")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == _ROOT}
    return found


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _collect() -> dict[str, _Module]:
    modules: dict[str, _Module] = {}
    pending = [_HOST]
    while pending:
        name = pending.pop()
        if name in modules or (not _is_embeddable(name) and name != _ROOT):
            continue
        if name == _ROOT or name == "etf_rebalancer.lite":
            continue  # their __init__ files are written fresh (nothing of the desktop)
        modules[name] = _Module(name)
        pending.extend(_imported_modules(modules[name]))
        pending.extend(_parents(name))
    return modules


def _check_imports(modules: dict[str, _Module]) -> None:
    stdlib = sys.stdlib_module_names
    for module in modules.values():
        for node in ast.walk(module.tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top in (_ROOT, "__future__"):
                    continue
                if name in _FORBIDDEN_STDLIB or top in _FORBIDDEN_STDLIB:
                    raise LiteBuildError(f"Lite build: {module.name} imports {name}")
                if top in _OPTIONAL_THIRD_PARTY:
                    continue
                if top not in stdlib and top not in _ALLOWED_THIRD_PARTY:
                    raise LiteBuildError(
                        f"Lite build: {module.name} imports {name}, which Lite does not have"
                    )


def _rename(name: str) -> str:
    return EMBEDDED_PACKAGE + name[len(_ROOT) :] if name.startswith(_ROOT) else name


class _Renamer(ast.NodeTransformer):
    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.ImportFrom:
        if not node.level and node.module and node.module.split(".")[0] == _ROOT:
            node.module = _rename(node.module)
        return node

    def visit_Import(self, node: ast.Import) -> ast.Import:
        for alias in node.names:
            if alias.name.split(".")[0] == _ROOT:
                alias.name = _rename(alias.name)
        return node


def embedded_modules() -> dict[str, str]:
    """Source of every module that travels, by its embedded name (``rebal_lite.cells.values``).

    The code is regenerated from the AST (comments dropped, docstrings kept), so
    the same package source always gives the same text.

    Raises
    ------
    LiteBuildError
        When a travelling module imports something Lite cannot import.
    """
    return dict(_embedded())


@functools.cache
def _embedded() -> tuple[tuple[str, str], ...]:
    modules = _collect()
    _slice(modules)
    _check_imports(modules)
    out: dict[str, str] = {}
    for name in sorted(modules):
        tree = _Renamer().visit(modules[name].tree)
        key = _rename(name)
        if modules[name].is_package:
            key += ".__init__"
        out[key] = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    # Packages whose __init__ is not embedded (the root, lite/) still need one.
    packages = {p for key in out for p in _parents(key.removesuffix(".__init__"))}
    for package in sorted(packages):
        out.setdefault(package + ".__init__", '"""Embedded package (generated)."""\n')
    return tuple(sorted(out.items()))


# ---------------------------------------------------------------- main.py


_PRELUDE = '''\
"""ETF Rebalancer, xlwings Lite edition: REBAL_ORDERS, REBAL_SUMMARY, REBAL_DRIFT,
PORTFOLIO_BACKTEST, PORTFOLIO_EQUITY and PORTFOLIO_CORREL, computed in this workbook.

GENERATED by `etf-rebal templates build` from the etf_rebalancer package
(bundle sha256 {digest}). Do not edit here: edits are lost on the next build.
Read it unpacked with `etf-rebal lite extract WORKBOOK FOLDER`.

Prices come from the Quotes sheet (typed, or written by the desktop Refresh or
`etf-rebal refresh`); the script refresh_quotes fetches them from the Settings
key `quote_endpoint` (e.g. `etf-rebal quotes serve`) when it is set.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

_MODULES = {modules}


class _EmbeddedImporter(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the modules above from their source strings (no files needed)."""

    def find_spec(self, name, path=None, target=None):
        key = name if name in _MODULES else name + ".__init__"
        if key not in _MODULES:
            return None
        return importlib.machinery.ModuleSpec(
            name, self, origin="main.py:" + key, is_package=key.endswith(".__init__")
        )

    def exec_module(self, module):
        key = module.__name__
        key = key if key in _MODULES else key + ".__init__"
        exec(compile(_MODULES[key], module.__spec__.origin, "exec"), module.__dict__)


# A restart of Lite re-runs this file: install the importer once, drop stale modules.
for _name in [m for m in sys.modules if m == {package!r} or m.startswith({package!r} + ".")]:
    del sys.modules[_name]
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_EmbeddedImporter"]
sys.meta_path.insert(0, _EmbeddedImporter())

# ---------------------------------------------------------------- the Lite functions
'''


def _host_body(source: str) -> str:
    """The host module's code minus its docstring and ``__future__`` import (in the prelude)."""
    tree = ast.parse(source)
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    body = [s for s in body if not (isinstance(s, ast.ImportFrom) and s.module == "__future__")]
    tree.body = body
    return ast.unparse(tree) + "\n"


def build_files() -> dict[str, str]:
    """The files a Lite workbook carries: ``main.py`` and ``requirements.txt``.

    Returns
    -------
    dict
        File name to text. ``main.py`` holds the embedded package (as source
        strings under :data:`EMBEDDED_PACKAGE`) followed by the Lite custom
        functions and scripts of :mod:`etf_rebalancer.lite.host`.
    """
    modules = embedded_modules()
    host_key = _rename(_HOST)
    host = modules.pop(host_key)
    modules.pop(_rename("etf_rebalancer.lite") + ".__init__", None)  # main.py is the host
    # The host's own module is main.py itself; the rest are imported from the strings.
    literal = "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in modules.items()) + "}"
    digest = hashlib.sha256(literal.encode("utf-8") + host.encode("utf-8")).hexdigest()[:16]
    main = (
        _PRELUDE.replace("{digest}", digest)
        .replace("{package!r}", repr(EMBEDDED_PACKAGE))
        .replace("{modules}", literal)
    )
    main += _host_body(host)
    return {"main.py": main, "requirements.txt": REQUIREMENTS}


def unpack_modules(main_py: str) -> dict[str, str]:
    """The embedded modules of a generated ``main.py`` as ``path -> source`` (for extract).

    Returns an empty dict when ``main.py`` is not one this package generated.
    """
    tree = ast.parse(main_py)
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "_MODULES" for t in stmt.targets)
            and isinstance(stmt.value, ast.Dict)
        ):
            out: dict[str, str] = {}
            for key, value in zip(stmt.value.keys, stmt.value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Constant):
                    path = str(key.value).replace(".", "/") + ".py"
                    out[path] = str(value.value)
            return out
    return {}
