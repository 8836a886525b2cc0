"""What the CLI does to users' files: backups, atomic replaces, refusals, dynamic arrays kept.

Runs ``etf-rebal refresh`` through typer's CliRunner on copies of every shipped
template, with the real QuoteService over an in-memory provider, and crashes
the write at each step (the temporary file write, the rename) to prove the
original is never half-written.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etf_rebalancer import cli
from tests.test_cli import TEMPLATES, fake_quotes  # noqa: F401  (fixture)
from tests.workbook.snapshot import array_formula_cells

runner = CliRunner()
REFRESHABLE = sorted(p.name for p in TEMPLATES.glob("*.xlsx") if not p.name.startswith("starter"))


def run(*args):
    return runner.invoke(cli.app, [str(a) for a in args])


def _copy(tmp_path: Path, name: str = "ai-value-chain_en.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes((TEMPLATES / name).read_bytes())
    return path


def _files(folder: Path) -> list[str]:
    """Names in ``folder`` other than the quote cache the ``fake_quotes`` fixture keeps there."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("q.sqlite"))


def _array_formulas(data: bytes) -> dict[str, str]:
    """Every dynamic-array formula cell: its ``<c>`` and ``<f>`` XML, by part and cell."""
    package = zipfile.ZipFile(io.BytesIO(data))
    out = {}
    for name in package.namelist():
        if name.startswith("xl/worksheets/sheet"):
            xml = package.read(name).decode()
            for match in re.finditer(
                r'<c r="([A-Z]+\d+)"[^>]*\bcm="1"[^>]*><f t="array"[^<]*<', xml
            ):
                out[f"{name}!{match.group(1)}"] = match.group(0)
    return out


def _metadata(data: bytes) -> bytes:
    """The part that marks ``cm="1"`` cells as dynamic arrays (XLDAPR), without which
    Excel shows ``=@REBAL_ORDERS(...)``."""
    return zipfile.ZipFile(io.BytesIO(data)).read("xl/metadata.xml")


@pytest.mark.parametrize("name", REFRESHABLE)
def test_refresh_keeps_every_dynamic_array_formula(tmp_path, fake_quotes, name):  # noqa: F811
    path = _copy(tmp_path, name)
    before = path.read_bytes()
    assert _array_formulas(before), "the template has dynamic-array formulas"
    for args in (["--out", tmp_path / "copy.xlsx"], ["--in-place"]):
        result = run("refresh", path, *args)
        assert result.exit_code == 0, result.output
        written = (tmp_path / "copy.xlsx" if "--out" in args else path).read_bytes()
        assert _array_formulas(written) == _array_formulas(before)
        assert array_formula_cells(written) == array_formula_cells(before)
        assert _metadata(written) == _metadata(before)
        assert b"XLDAPR" in _metadata(written)


def test_in_place_backup_is_the_original_byte_for_byte(tmp_path, fake_quotes):  # noqa: F811
    path = _copy(tmp_path)
    before = path.read_bytes()
    result = run("refresh", path, "--in-place")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ai-value-chain_en.bak.xlsx").read_bytes() == before
    assert path.read_bytes() != before
    assert _files(tmp_path) == [
        "ai-value-chain_en.bak.xlsx",
        "ai-value-chain_en.xlsx",
    ]


@pytest.mark.parametrize("crash_in", ["write", "fsync", "replace"])
def test_a_crash_mid_write_leaves_the_original_and_no_partial_file(
    tmp_path,
    fake_quotes,  # noqa: F811
    monkeypatch,
    crash_in,
):
    path = _copy(tmp_path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if crash_in == "write":
        real_fdopen = os.fdopen

        class Half:
            def __init__(self, handle):
                self.handle = handle

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, data):
                self.handle.write(data[: len(data) // 2])  # half the file, then the disk is full
                crash()

        monkeypatch.setattr(cli.os, "fdopen", lambda fd, mode: Half(real_fdopen(fd, mode)))
    elif crash_in == "fsync":
        monkeypatch.setattr(cli.os, "fsync", crash)
    else:
        monkeypatch.setattr(cli.os, "replace", crash)
    result = run("refresh", path, "--in-place")
    assert result.exit_code == cli.EXIT_UNSAFE_WRITE, result.output
    assert "No space left on device" in result.output and "is unchanged" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["ai-value-chain_en.bak.xlsx", "ai-value-chain_en.xlsx"]


def test_out_pointing_at_the_workbook_is_refused(tmp_path, fake_quotes):  # noqa: F811
    path = _copy(tmp_path)
    before = path.read_bytes()
    for out in (path, tmp_path / "." / path.name):
        result = run("refresh", path, "--out", out)
        assert result.exit_code == cli.EXIT_UNSAFE_WRITE, result.output
        assert "use --in-place" in result.output
    assert path.read_bytes() == before
    assert not (tmp_path / "ai-value-chain_en.bak.xlsx").exists()


def test_a_target_open_in_excel_is_refused(tmp_path, fake_quotes):  # noqa: F811
    path = _copy(tmp_path)
    other = _copy(tmp_path, "tech-core_en.xlsx")
    other_before = other.read_bytes()
    (tmp_path / "~$tech-core_en.xlsx").write_bytes(b"\x00" * 165)  # Excel's owner file
    result = run("refresh", path, "--out", other)
    assert result.exit_code == cli.EXIT_UNSAFE_WRITE
    assert "open in Excel" in result.output
    assert other.read_bytes() == other_before


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, data in parts.items():
            package.writestr(name, data)
    return buffer.getvalue()


def _damaged_workbook() -> bytes:
    source = zipfile.ZipFile(TEMPLATES / "ai-value-chain_en.xlsx")
    parts = {n: source.read(n) for n in source.namelist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"][:200]  # cut mid-element
    return _zip(parts)


UNREADABLE = {
    "empty file": (b"", cli.EXIT_NOT_WORKBOOK, "Not an Excel workbook"),
    "csv renamed": (b"Ticker,Shares\nQQQ,1\n", cli.EXIT_NOT_WORKBOOK, "Not an Excel workbook"),
    "html error page": (b"<html><body>403</body></html>", cli.EXIT_NOT_WORKBOOK, "Not an Excel"),
    "zip of something else": (
        _zip({"readme.txt": b"hello"}),
        cli.EXIT_NOT_WORKBOOK,
        "Cannot read the workbook",
    ),
    "damaged workbook.xml": (_damaged_workbook(), cli.EXIT_NOT_WORKBOOK, "Cannot read"),
    "truncated download": (
        (TEMPLATES / "ai-value-chain_en.xlsx").read_bytes()[:5000],
        cli.EXIT_NOT_WORKBOOK,
        "Not an Excel workbook",
    ),
}


@pytest.mark.parametrize("case", UNREADABLE)
@pytest.mark.parametrize("command", ["plan", "refresh"])
def test_unreadable_files_are_refused_with_a_message_and_left_alone(
    tmp_path,
    fake_quotes,  # noqa: F811
    case,
    command,
):
    data, code, text = UNREADABLE[case]
    path = tmp_path / "book.xlsx"
    path.write_bytes(data)
    args = ["plan", path, "--offline"] if command == "plan" else ["refresh", path, "--in-place"]
    result = run(*args)
    assert result.exit_code == code, result.output
    assert text in result.output
    assert "Traceback" not in result.output
    assert path.read_bytes() == data
    assert _files(tmp_path) == ["book.xlsx"]


def test_a_folder_named_like_a_workbook_is_refused(tmp_path):
    folder = tmp_path / "book.xlsx"
    folder.mkdir()
    result = run("plan", folder, "--offline")
    assert result.exit_code == cli.EXIT_NOT_WORKBOOK
    assert "Not an Excel workbook" in result.output
