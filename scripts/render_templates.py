"""Render workbooks to PNG (LibreOffice headless -> PDF -> pdftoppm) to see what users see.

Usage: python scripts/render_templates.py [WORKBOOK ...] [--out DIR] [--dpi N]
(default: every workbook_templates/*.xlsx into out/render/). LibreOffice is run
with its own throw-away profile set to never recalculate on load: it does not
know the add-in's functions, so the cached results the builder wrote (the plan
for the sample prices) are what a user without the add-in would see.
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

# OOXMLRecalcMode 1 = never recalculate; keeps the cached formula results.
_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode"
 oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode"
 oor:op="fuse"><value>1</value></prop></item>
</oor:items>
"""


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
) -> list[Path]:
    """Render one workbook; returns the PNG files (one per printed page).

    With ``keep_pdf`` the intermediate PDF is copied into ``out_dir`` too.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE, encoding="utf-8")
        shown = Path(tmp) / workbook.name
        shown.write_bytes(display_copy(workbook.read_bytes()))
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                tmp,
                str(shown),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        pdf = Path(tmp) / (workbook.stem + ".pdf")
        if not pdf.exists():
            raise RuntimeError(f"LibreOffice wrote no PDF for {workbook}")
        if keep_pdf:
            shutil.copy(pdf, out_dir / pdf.name)
        prefix = out_dir / workbook.stem
        for old in out_dir.glob(f"{workbook.stem}-*.png"):
            old.unlink()
        args = ["pdftoppm", "-r", str(dpi), "-png"]
        if first_page_only:
            args += ["-f", "1", "-l", "1"]
        subprocess.run([*args, str(pdf), str(prefix)], check=True, capture_output=True, timeout=120)
    return sorted(out_dir.glob(f"{workbook.stem}-*.png"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbooks", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "render")
    parser.add_argument("--dpi", type=int, default=80)
    parser.add_argument("--first-page", action="store_true", help="only each workbook's page 1")
    args = parser.parse_args(argv)
    if not tools_available():
        print("needs LibreOffice (soffice) and pdftoppm on PATH", file=sys.stderr)
        return 3
    workbooks = args.workbooks or sorted((ROOT / "workbook_templates").glob("*.xlsx"))
    for workbook in workbooks:
        pages = render(workbook, args.out, args.dpi, args.first_page)
        print(f"{workbook.name}: {len(pages)} page(s) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
