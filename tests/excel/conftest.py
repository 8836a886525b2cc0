"""Fixtures for the Excel layer: xlwings' real remote engine, licensed for tests only."""

from __future__ import annotations

import pytest


@pytest.fixture
def remote_engine(monkeypatch: pytest.MonkeyPatch):
    """Make xlwings' remote engine (``Book(json=...)``) available for one test.

    xlwings registers the engine at import time when ``XLWINGS_LICENSE_KEY`` is
    set; the package was imported before any test ran, so the key is set here
    (monkeypatch only) and the engine registered the way ``xlwings/__init__.py``
    does it. Both are undone after the test.
    """
    import xlwings
    from xlwings.main import Engine

    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    engines = xlwings.engines
    monkeypatch.setattr(engines, "engines", list(engines.engines))
    monkeypatch.setattr(engines, "engines_by_name", dict(engines.engines_by_name))
    if "remote" not in engines.engines_by_name:
        from xlwings.pro import _xlremote  # validates the licence key now

        engines.add(Engine(impl=_xlremote.engine))
    monkeypatch.setattr(xlwings, "__pro__", True)
    return engines["remote"]
