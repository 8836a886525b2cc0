"""`etf-rebal addin install/uninstall` on a fake home folder."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from etf_rebalancer.errors import RebalancerError
from etf_rebalancer.excel import build
from etf_rebalancer.excel import install as inst

NOW = dt.datetime(2025, 3, 14, 9, 30)
PY_WIN = r"C:\Users\kim\AppData\Local\Programs\Python\Python312\python.exe"


def test_windows_install_copies_the_addin_and_writes_the_user_config(tmp_path):
    done = inst.install_addin(platform="win32", home=tmp_path, python=PY_WIN, now=NOW)
    addin = tmp_path / "AppData/Roaming/Microsoft/Excel/XLSTART/etf_rebalancer.xlam"
    assert addin.read_bytes() == build.committed_addin_path().read_bytes()
    config = tmp_path / ".myaddin" / "myaddin.conf"
    assert config.read_bytes() == (
        f'"INTERPRETER_WIN","{PY_WIN}"\r\n"UDF_MODULES","etf_rebalancer.udfs"\r\n'.encode()
    )
    assert done == [
        f"copy the add-in to {addin}",
        f"write INTERPRETER_WIN={PY_WIN}, UDF_MODULES=etf_rebalancer.udfs to {config}",
    ]


def test_existing_user_keys_are_kept_and_the_old_file_backed_up(tmp_path):
    config = tmp_path / ".myaddin" / "myaddin.conf"
    config.parent.mkdir()
    original = '"LICENSE_KEY","abc"\r\n"INTERPRETER_WIN","C:\\old\\python.exe"\r\n'
    config.write_text(original, newline="")
    done = inst.install_addin(platform="win32", home=tmp_path, python=PY_WIN, now=NOW)
    assert inst.read_config(config.read_text()) == [
        ("LICENSE_KEY", "abc"),
        ("INTERPRETER_WIN", PY_WIN),
        ("UDF_MODULES", "etf_rebalancer.udfs"),
    ]
    backup = config.with_name("myaddin.conf.20250314-093000.bak")
    assert backup.read_bytes() == original.encode()
    assert f"back up {config} to {backup}" in done
    # Installing again changes nothing in the config and makes no second backup.
    again = inst.install_addin(platform="win32", home=tmp_path, python=PY_WIN, now=NOW)
    assert len(again) == 1 and again[0].startswith("copy the add-in")


def test_macos_install_uses_excels_sandbox_paths(tmp_path):
    done = inst.install_addin(platform="darwin", home=tmp_path, python="/opt/venv/bin/python")
    startup = tmp_path / inst.MAC_STARTUP
    assert (startup / "etf_rebalancer.xlam").is_file()
    config = tmp_path / "Library/Containers/com.microsoft.Excel/Data/myaddin.conf"
    assert ("INTERPRETER_MAC", "/opt/venv/bin/python") in inst.read_config(config.read_text())
    scripts = list((tmp_path / inst.MAC_SCRIPTS).glob("xlwings-*.applescript"))
    assert [s.name for s in scripts] == ["xlwings-0.37.8.applescript"]
    assert len(done) == 3


def test_dry_run_touches_nothing(tmp_path):
    done = inst.install_addin(dry_run=True, platform="win32", home=tmp_path, python=PY_WIN)
    assert done and not any(tmp_path.iterdir())


def test_linux_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(RebalancerError, match="needs Excel for Windows or macOS"):
        inst.install_addin(platform="linux", home=tmp_path)


def test_uninstall_removes_the_addin_and_only_our_keys(tmp_path):
    config = tmp_path / ".myaddin" / "myaddin.conf"
    config.parent.mkdir()
    config.write_text('"LICENSE_KEY","abc"\r\n', newline="")
    inst.install_addin(platform="win32", home=tmp_path, python=PY_WIN, now=NOW)
    done = inst.uninstall_addin(platform="win32", home=tmp_path)
    assert not (tmp_path / "AppData/Roaming/Microsoft/Excel/XLSTART/etf_rebalancer.xlam").exists()
    assert inst.read_config(config.read_text()) == [("LICENSE_KEY", "abc")]
    assert len(done) == 2


def test_cli_refuses_on_linux_and_prints_the_undo(monkeypatch, tmp_path):
    runner = CliRunner()
    monkeypatch.setattr(inst.sys, "platform", "linux")
    result = runner.invoke(inst.addin_app, ["install"])
    assert result.exit_code == 1
    assert "needs Excel for Windows or macOS" in result.output
    monkeypatch.setattr(inst.sys, "platform", "win32")
    monkeypatch.setattr(inst.Path, "home", lambda: tmp_path)
    monkeypatch.delenv("APPDATA", raising=False)
    result = runner.invoke(inst.addin_app, ["install", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would copy the add-in to" in result.output
    assert "To undo: etf-rebal addin uninstall" in result.output
    assert not any(tmp_path.iterdir())
