"""What ``etf-rebal lite extract`` and the template build's Lite step do (the CLI only parses)."""

from __future__ import annotations

import json
from pathlib import Path

from etf_rebalancer.lite.bundle import unpack_modules
from etf_rebalancer.lite.template import extract_files, lite_edition

__all__ = ["extract_to", "lite_edition_for", "lite_path"]

#: Properties of the extension that are versions, not files.
_VERSION_KEYS = ("pyodideVersion", "addinVersion")


def extract_to(workbook: Path, folder: Path) -> list[Path]:
    """Write a Lite workbook's files into ``folder``; return the paths written.

    ``main.py`` and ``requirements.txt`` as stored, ``lite.json`` with the
    Pyodide and add-in versions, and, for a workbook this package built, the
    modules embedded in ``main.py`` unpacked under ``rebal_lite/`` (read them,
    diff them, run ``python main.py``'s functions from that folder).
    """
    files = extract_files(workbook.read_bytes())
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    versions = {k: files[k] for k in _VERSION_KEYS if k in files}
    for name, text in files.items():
        if name in _VERSION_KEYS:
            continue
        path = folder / Path(name).name
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
    meta = folder / "lite.json"
    meta.write_text(json.dumps(versions, indent=1) + "\n", encoding="utf-8")
    written.append(meta)
    for relative, source in unpack_modules(files.get("main.py", "")).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8", newline="")
        written.append(path)
    return written


def lite_path(desktop: Path) -> Path:
    """Where a desktop template's Lite edition lives: ``lite/NAME.xlsx`` beside it."""
    return desktop.parent / "lite" / desktop.name


def lite_edition_for(desktop: Path, data: bytes) -> tuple[Path, bytes]:
    """Path and bytes of the Lite edition of the desktop template ``data`` at ``desktop``."""
    return lite_path(desktop), lite_edition(data, desktop.stem)
