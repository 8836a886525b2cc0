"""Render workbooks to PNG (LibreOffice headless -> PDF -> pdftoppm) to see what users see.

Usage: python scripts/render_templates.py [WORKBOOK ...] [--out DIR] [--dpi N] [--recalc]
(default: every workbook_templates/*.xlsx into out/render/). LibreOffice is run
with its own throw-away profile:

- default: never recalculate on load, array formulas replaced by their cached
  results: what Excel shows with the add-in (the plan for the sample prices);
- ``--recalc``: recalculate every formula on load, as a user without the add-in
  gets after a full recalculation (LibreOffice does not know the add-in's
  functions, exactly like Excel without it). ``--check`` also lists every cell
  showing an error such as ``#NAME?`` after that recalculation (exit 1 if any).
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# OOXMLRecalcMode 1 = never recalculate (keeps the cached formula results), 0 = always.
_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode"
 oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode"
 oor:op="fuse"><value>{mode}</value></prop></item>
</oor:items>
"""
# What a spreadsheet shows for an error value (LibreOffice's own "Err:nnn" included).
ERROR_VALUES = ("#NAME?", "#VALUE!", "#REF!", "#DIV/0!", "#N/A", "#NUM!", "#NULL!", "#SPILL!")


def _soffice(tmp: str, source: Path | list[Path], target: str, recalc: bool) -> None:
    sources = [source] if isinstance(source, Path) else list(source)
    profile = Path(tmp) / "profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(
        _PROFILE.format(mode=0 if recalc else 1), encoding="utf-8"
    )
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(Path(tmp) / "out"),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
        timeout=120 + 60 * len(sources),
    )


def recalculated(workbook: Path, out_dir: Path) -> Path:
    """``workbook`` fully recalculated by LibreOffice (no add-in) and saved as .xlsx."""
    return recalculated_all([workbook], out_dir)[0]


def recalculated_all(workbooks: list[Path], out_dir: Path) -> list[Path]:
    """Each workbook fully recalculated (no add-in), in one LibreOffice run; the copies are
    ``<stem>.recalculated.xlsx`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = []
    with tempfile.TemporaryDirectory() as tmp:
        _soffice(tmp, workbooks, "xlsx", recalc=True)
        for workbook in workbooks:
            result = Path(tmp) / "out" / workbook.name
            if not result.exists():
                raise RuntimeError(f"LibreOffice wrote no recalculated copy of {workbook}")
            target = out_dir / f"{workbook.stem}.recalculated.xlsx"
            shutil.copy(result, target)
            targets.append(target)
    return targets


def error_cells(workbook: Path) -> list[tuple[str, str, str]]:
    """(sheet, cell, value) of every cell whose saved value is an error (``#NAME?``...)."""
    import openpyxl

    wb = openpyxl.load_workbook(workbook, data_only=True)
    found = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and (value in ERROR_VALUES or value.startswith("Err:")):
                    found.append((ws.title, cell.coordinate, value))
    return found


def display_copy(data: bytes) -> bytes:
    """The workbook with array formulas replaced by their cached results.

    LibreOffice recalculates array formulas on load whatever the settings, and
    without the add-in ``REBAL_*`` would show ``#NAME?``; the cached result is
    what Excel shows with the add-in, so that is what the picture shows.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                text = part.decode("utf-8")
                text = re.sub(r'<f t="array"[^>]*?(/>|>.*?</f>)', "", text)
                text = re.sub(r'(<c [^>]*?) cm="1"', r"\1", text)
                part = text.encode("utf-8")
            target.writestr(info, part)
    return out.getvalue()


def tools_available() -> bool:
    """True when LibreOffice (``soffice``) and ``pdftoppm`` are on PATH."""
    return bool(shutil.which("soffice") and shutil.which("pdftoppm"))


def render(
    workbook: Path,
    out_dir: Path,
    dpi: int = 80,
    first_page_only: bool = False,
    keep_pdf: bool = False,
    recalc: bool = False,
) -> list[Path]:
    """Render one workbook; returns the PNG files (one per printed page).

    With ``keep_pdf`` the intermediate PDF is copied into ``out_dir`` too; with
    ``recalc`` every formula is recalculated first, without the add-in (the PNGs
    are then named ``<stem>.recalc-N.png``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = workbook.stem + (".recalc" if recalc else "")
    with tempfile.TemporaryDirectory() as tmp:
        shown = Path(tmp) / (stem + ".xlsx")
        data = workbook.read_bytes()
        shown.write_bytes(data if recalc else display_copy(data))
        _soffice(tmp, shown, "pdf", recalc=recalc)
        pdf = Path(tmp) / "out" / (stem + ".pdf")
        if not pdf.exists():
            raise RuntimeError(f"LibreOffice wrote no PDF for {workbook}")
        if keep_pdf:
            shutil.copy(pdf, out_dir / pdf.name)
        prefix = out_dir / stem
        for old in out_dir.glob(f"{stem}-*.png"):
            old.unlink()
        args = ["pdftoppm", "-r", str(dpi), "-png"]
        if first_page_only:
            args += ["-f", "1", "-l", "1"]
        subprocess.run([*args, str(pdf), str(prefix)], check=True, capture_output=True, timeout=120)
    return sorted(out_dir.glob(f"{stem}-*.png"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbooks", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "render")
    parser.add_argument("--dpi", type=int, default=80)
    parser.add_argument("--first-page", action="store_true", help="only each workbook's page 1")
    parser.add_argument(
        "--recalc", action="store_true", help="recalculate everything first (no add-in)"
    )
    parser.add_argument(
        "--check", action="store_true", help="with --recalc: list error cells, exit 1 if any"
    )
    args = parser.parse_args(argv)
    if not tools_available():
        print("needs LibreOffice (soffice) and pdftoppm on PATH", file=sys.stderr)
        return 3
    workbooks = args.workbooks or sorted((ROOT / "workbook_templates").glob("*.xlsx"))
    failed = False
    for workbook in workbooks:
        pages = render(workbook, args.out, args.dpi, args.first_page, recalc=args.recalc)
        print(f"{workbook.name}: {len(pages)} page(s) -> {args.out}")
        if args.recalc and args.check:
            errors = error_cells(recalculated(workbook, args.out))
            for sheet, cell, value in errors:
                print(f"  {sheet}!{cell}: {value}")
            failed = failed or bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
