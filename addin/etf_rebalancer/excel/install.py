"""`etf-rebal addin install/uninstall`: the ribbon add-in in Excel's startup folder, configured.

Where xlwings' VBA looks (the add-in keeps the template's VBA, ``PROJECT_NAME =
"myaddin"``): the active workbook's ``myaddin.conf`` sheet, then the add-in's
own ``myaddin.conf`` sheet (it sets ``UDF Modules`` only), then the user file
``myaddin.conf`` written here with the interpreter path, then defaults.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from etf_rebalancer.errors import RebalancerError
from etf_rebalancer.excel.build import ADDIN_FILE_NAME, UDF_MODULES, VBA_PROJECT_NAME, build_xlam

MAC_STARTUP = (
    "Library/Group Containers/UBF8T346G9.Office/User Content.localized/Startup.localized/Excel"
)
# GetConfigFilePath on macOS: `path to home folder` inside Excel's sandbox.
MAC_CONFIG = f"Library/Containers/com.microsoft.Excel/Data/{VBA_PROJECT_NAME}.conf"
MAC_SCRIPTS = "Library/Application Scripts/com.microsoft.Excel"


def _kind(platform: str) -> str:
    if platform.startswith("win"):
        return "windows"
    if platform == "darwin":
        return "macos"
    raise RebalancerError(
        f"The Excel add-in needs Excel for Windows or macOS; this system is {platform!r}. "
        "Use the command line (etf-rebal plan) instead.",
        f"엑셀 추가 기능은 Windows 또는 macOS용 엑셀이 필요합니다 (현재: {platform!r}). "
        "명령줄(etf-rebal plan)을 사용하세요.",
    )


def paths(platform: str | None = None, home: Path | None = None) -> dict[str, Path]:
    """Startup folder, add-in file and user config file for ``platform``."""
    kind = _kind(platform or sys.platform)
    appdata_env = os.environ.get("APPDATA") if home is None else None  # a given home wins
    home = Path(home) if home is not None else Path.home()
    if kind == "windows":
        appdata = Path(appdata_env) if appdata_env else home / "AppData" / "Roaming"
        startup = appdata / "Microsoft" / "Excel" / "XLSTART"
        config = home / f".{VBA_PROJECT_NAME}" / f"{VBA_PROJECT_NAME}.conf"
    else:
        startup = home / MAC_STARTUP
        config = home / MAC_CONFIG
    return {"startup": startup, "addin": startup / ADDIN_FILE_NAME, "config": config}


def read_config(text: str) -> list[tuple[str, str]]:
    """Parse a VBA ``Write #`` file: one ``"KEY","value"`` line per setting."""
    rows = csv.reader(io.StringIO(text))
    return [(row[0], row[1] if len(row) > 1 else "") for row in rows if row]


def write_config(entries: list[tuple[str, str]]) -> str:
    """Format entries the way VBA ``Write #`` does (and ``Input #`` reads back)."""
    return "".join(f'"{key}","{value}"\r\n' for key, value in entries)


def _our_keys(kind: str, python: str) -> dict[str, str]:
    interpreter = "INTERPRETER_WIN" if kind == "windows" else "INTERPRETER_MAC"
    return {interpreter: python, "UDF_MODULES": UDF_MODULES}


def install_addin(
    dry_run: bool = False,
    target: Path | None = None,
    *,
    platform: str | None = None,
    home: Path | None = None,
    python: str | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """Install the add-in for the current user; return what was (or would be) done.

    Parameters
    ----------
    dry_run : bool
        Only report the actions.
    target : Path, optional
        Startup folder to copy the add-in to instead of Excel's ``XLSTART``.
    platform, home, python, now
        For tests: ``sys.platform``, the home folder, the interpreter path, the clock.
    """
    kind = _kind(platform or sys.platform)
    where = paths(platform or sys.platform, home)
    startup = Path(target) if target is not None else where["startup"]
    addin = startup / ADDIN_FILE_NAME
    python = python or sys.executable
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    actions: list[str] = []

    actions.append(f"copy the add-in to {addin}")
    if not dry_run:
        startup.mkdir(parents=True, exist_ok=True)
        addin.write_bytes(build_xlam())

    config = where["config"]
    old = read_config(config.read_text(encoding="utf-8")) if config.exists() else []
    ours = _our_keys(kind, python)
    merged = [(k, v) for k, v in old if k.upper() not in ours] + list(ours.items())
    if merged != old:
        if old:
            backup = config.with_name(f"{config.name}.{stamp}.bak")
            actions.append(f"back up {config} to {backup}")
            if not dry_run:
                shutil.copy2(config, backup)
        actions.append(f"write {', '.join(f'{k}={v}' for k, v in ours.items())} to {config}")
        if not dry_run:
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(write_config(merged), encoding="utf-8", newline="")

    if kind == "macos":
        # RunPython on macOS goes through this AppleScript (what `xlwings runpython install` does).
        import xlwings

        script = Path(xlwings.__file__).parent / f"xlwings-{xlwings.__version__}.applescript"
        destination = Path(home or Path.home()) / MAC_SCRIPTS / script.name
        actions.append(f"copy {script.name} to {destination.parent}")
        if not dry_run:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(script, destination)
    return actions


def uninstall_addin(
    dry_run: bool = False,
    target: Path | None = None,
    *,
    platform: str | None = None,
    home: Path | None = None,
) -> list[str]:
    """Remove the add-in and this package's keys from the user config; other keys stay."""
    kind = _kind(platform or sys.platform)
    where = paths(platform or sys.platform, home)
    addin = (Path(target) if target is not None else where["startup"]) / ADDIN_FILE_NAME
    actions: list[str] = []
    if addin.exists():
        actions.append(f"delete {addin}")
        if not dry_run:
            addin.unlink()
    config = where["config"]
    if config.exists():
        old = read_config(config.read_text(encoding="utf-8"))
        ours = _our_keys(kind, "")
        kept = [(k, v) for k, v in old if k.upper() not in ours]
        if kept != old:
            if kept:
                actions.append(f"remove {', '.join(ours)} from {config}")
            else:
                actions.append(f"delete {config}")
            if not dry_run:
                if kept:
                    config.write_text(write_config(kept), encoding="utf-8", newline="")
                else:
                    config.unlink()
    return actions


DryRun = Annotated[bool, typer.Option("--dry-run", help="Only print what would be done.")]
Target = Annotated[
    Path | None, typer.Option(help="Startup folder to use instead of Excel's XLSTART.")
]

addin_app = typer.Typer(help="Install or remove the Excel ribbon add-in (Windows, macOS).")


@addin_app.command("install")
def install_command(dry_run: DryRun = False, target: Target = None) -> None:
    """Copy etf_rebalancer.xlam to Excel's startup folder and point it at this Python."""
    try:
        done = install_addin(dry_run=dry_run, target=target)
    except RebalancerError as error:
        typer.echo(f"Error: {error.message}", err=True)
        raise typer.Exit(1) from None
    for line in done:
        typer.echo(("would " if dry_run else "") + line)
    typer.echo("Restart Excel: the 'ETF Rebalancer' tab appears on the ribbon.")
    typer.echo("To undo: etf-rebal addin uninstall")


@addin_app.command("uninstall")
def uninstall_command(dry_run: DryRun = False, target: Target = None) -> None:
    """Remove the add-in and this package's keys from the user config (backups stay)."""
    try:
        done = uninstall_addin(dry_run=dry_run, target=target)
    except RebalancerError as error:
        typer.echo(f"Error: {error.message}", err=True)
        raise typer.Exit(1) from None
    for line in done or ["nothing to remove"]:
        typer.echo(("would " if dry_run else "") + line)
