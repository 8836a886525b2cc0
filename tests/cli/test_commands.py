"""etf-rebal's newcomer surface: --version, templates list/copy, usage errors, messages."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import sys
import types
from importlib.metadata import version
from pathlib import Path

import openpyxl
import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from etf_rebalancer import cli
from tests.test_cli import TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def run(*args: object):
    return runner.invoke(cli.app, [str(a) for a in args])


def test_version_is_the_installed_distributions():
    out = run("--version")
    assert out.exit_code == 0
    assert out.stdout.strip() == f"etf-rebal {version('etf-rebalancer')}"


def test_templates_list_names_describes_and_locates_each_template():
    out = run("templates", "list")
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    for path in sorted(TEMPLATES.glob("*.xlsx")):
        i = next(i for i, line in enumerate(lines) if line.startswith(path.stem + "  "))
        assert len(lines[i]) > len(path.stem) + 10  # a description follows the name
        assert lines[i + 1].strip() == str(path.resolve())
    assert "Tech core (English)" in out.stdout and "테크 코어" not in out.stdout
    assert "테크 코어 (한국어)" in run("templates", "list", "--lang", "ko").stdout


def test_templates_copy_writes_a_byte_identical_copy_and_refuses_to_overwrite(tmp_path):
    out = run("templates", "copy", "tech-core_en", tmp_path / "mine")
    assert out.exit_code == 0, out.output
    copy = tmp_path / "mine" / "tech-core_en.xlsx"
    assert copy.read_bytes() == (TEMPLATES / "tech-core_en.xlsx").read_bytes()
    assert "etf-rebal plan" in out.stdout
    copy.write_bytes(b"my edits")
    again = run("templates", "copy", "tech-core_en.xlsx", tmp_path / "mine")
    assert again.exit_code == cli.EXIT_UNSAFE_WRITE
    assert copy.read_bytes() == b"my edits"
    assert run("templates", "copy", "tech-core_en", tmp_path / "mine", "--force").exit_code == 0
    assert copy.read_bytes() == (TEMPLATES / "tech-core_en.xlsx").read_bytes()


def test_templates_copy_of_an_unknown_name_lists_the_names(tmp_path):
    out = run("templates", "copy", "tech-cor", tmp_path)
    assert out.exit_code == cli.EXIT_NOT_FOUND
    assert "tech-core_en" in out.output and not list(tmp_path.iterdir())


def test_copied_template_plans_outside_the_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("templates", "copy", "korean-investor_ko").exit_code == 0
    out = run("plan", "korean-investor_ko.xlsx", "--offline", "-f", "csv")
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("Ticker,Action,Shares,")


def test_installed_package_finds_its_bundled_templates(tmp_path, monkeypatch):
    """Outside a checkout the templates come from the package's own folder."""
    fake = tmp_path / "site" / "etf_rebalancer"
    (fake / "workbook_templates" / "lite").mkdir(parents=True)
    (fake / "workbook_templates" / "tech-core_en.xlsx").write_bytes(b"x")
    (fake / "workbook_templates" / "lite" / "tech-core_en.xlsx").write_bytes(b"y")
    monkeypatch.setattr(cli, "__file__", str(fake / "cli.py"))
    found = cli.shipped_templates()
    assert found == {
        "tech-core_en": fake / "workbook_templates" / "tech-core_en.xlsx",
        "lite/tech-core_en": fake / "workbook_templates" / "lite" / "tech-core_en.xlsx",
    }


def test_backtest_rejects_an_unknown_rule_as_a_usage_error():
    out = run("backtest", TEMPLATES / "us-factor-mix_en.xlsx", "--rebalance", "weekly")
    assert out.exit_code == cli.EXIT_USAGE
    assert "weekly" in out.output and "monthly" in out.output
    bad_date = run("backtest", TEMPLATES / "us-factor-mix_en.xlsx", "--start", "2020-13-01")
    assert bad_date.exit_code == cli.EXIT_USAGE


def test_backtest_start_before_the_stored_prices_says_it_was_clipped():
    path = TEMPLATES / "us-factor-mix_en.xlsx"
    clipped = run("backtest", path, "--start", "2010-01-01", "-f", "csv")
    assert clipped.exit_code == 0, clipped.output
    assert "before the first stored price (2014-01-02)" in clipped.stderr
    whole = run("backtest", path, "-f", "csv")
    assert clipped.stdout == whole.stdout  # the same window: the stored one


def test_backtest_start_and_end_cut_stored_prices():
    path = TEMPLATES / "us-factor-mix_en.xlsx"
    out = run("backtest", path, "--start", "2018-01-01", "--end", "2019-12-31", "-f", "json")
    assert out.exit_code == 0, out.output
    rows = {r[0]: r[1] for r in json.loads(out.stdout)[1:]}
    assert rows["Start"].startswith("2018-01-02") and rows["End"].startswith("2019-12-31")
    assert not out.stderr


def test_csv_plan_from_sample_prices_says_so_on_stderr():
    out = run("plan", TEMPLATES / "tech-core_en.xlsx", "--offline", "-f", "csv")
    assert out.exit_code == 0
    assert "SAMPLE" in out.stderr and "SAMPLE" not in out.stdout
    ko = run("plan", TEMPLATES / "tech-core_ko.xlsx", "--offline", "-f", "json")
    assert "샘플" in ko.stderr


def test_korean_workbook_csv_keeps_the_english_contract_unless_lang_ko():
    path = TEMPLATES / "korean-investor_ko.xlsx"
    auto = run("plan", path, "--offline", "-f", "csv", "--what", "all")
    assert auto.stdout.startswith("Ticker,Action,Shares,Price,Currency,Amount,")
    assert "Item,Value" in auto.stdout and ",BUY," in auto.stdout
    ko = run("plan", path, "--offline", "-f", "csv", "--what", "all", "--lang", "ko")
    assert ko.stdout.startswith("티커,매매구분,수량,현재가,통화,금액,")
    assert "항목,값" in ko.stdout and ",매수," in ko.stdout
    # The numbers are the same in both languages.
    numbers = re.compile(r"-?\d+\.\d+")
    assert numbers.findall(auto.stdout) == numbers.findall(ko.stdout)


def test_lang_forces_the_table_language_both_ways():
    ko_book = run("plan", TEMPLATES / "tech-core_ko.xlsx", "--offline", "--lang", "en")
    assert "Orders" in ko_book.stdout and "주문" not in ko_book.stdout
    en_book = run("plan", TEMPLATES / "tech-core_en.xlsx", "--offline", "--lang", "ko")
    assert "주문" in en_book.stdout and "매수" in en_book.stdout
    missing = run("plan", "nope.xlsx", "--lang", "ko")
    assert missing.exit_code == cli.EXIT_NOT_FOUND and "오류" in missing.output
    assert run("plan", "x.xlsx", "--lang", "fr").exit_code == cli.EXIT_USAGE


def test_korean_backtest_table_and_messages(tmp_path):
    wb = openpyxl.load_workbook(TEMPLATES / "us-factor-mix_ko.xlsx")
    assert wb.sheetnames[0] != "Plan"  # a Korean workbook
    out = run("backtest", TEMPLATES / "us-factor-mix_ko.xlsx", "--start", "2000-01-01")
    assert out.exit_code == 0, out.output
    assert "총수익률" in out.stdout and "백테스트" in out.stdout
    assert "저장된 첫 가격" in out.stderr


def test_help_shows_types_a_reader_understands():
    text = run("backtest", "--help").stdout
    assert "--start YYYY-MM-DD" in text and "--band FRACTION" in text
    assert "--rebalance <none|monthly|quarterly|annual>" in text
    assert "<bool>" not in text and re.search(r"--offline +Use only", text)
    assert "--lang <auto|en|ko>" in run("plan", "--help").stdout
    for command in ("plan", "backtest", "refresh"):
        assert "--lang" in run(command, "--help").stdout


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="installs for real there")
def test_addin_install_dry_run_exits_1_where_excel_cannot_be(tmp_path):
    out = run("addin", "install", "--dry-run")
    assert out.exit_code == cli.EXIT_FAILED == 1


def test_readme_exit_code_table_lists_every_code():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("Exit codes:") :][:800]
    codes = {v for k, v in vars(cli).items() if k.startswith("EXIT_") and isinstance(v, int)}
    for code in sorted(codes):
        assert re.search(rf"\b{code} [a-z`(]", table), code


def test_refresh_of_a_korean_workbook_speaks_korean(tmp_path, fake_quotes, monkeypatch):
    import io

    from rich.console import Console

    path = tmp_path / "ai-value-chain_ko.xlsx"
    path.write_bytes((TEMPLATES / path.name).read_bytes())
    buffer = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=buffer, width=80, color_system=None))
    out = run("refresh", path)
    assert out.exit_code == 0, out.output
    text = buffer.getvalue()
    assert "시세" in text and "티커" in text and "현재가" in text and "에 썼습니다" in text
    table = text[: text.index("에 썼습니다")].rsplit("\n", 1)[0]  # the path may be longer
    assert all(cell_len(line) <= 80 for line in table.splitlines()) and "…" not in text
    assert "640.00" in text  # the fake QQQ quote, whole
    buffer.truncate(0)
    english = run("refresh", path, "--lang", "en", "--out", tmp_path / "copy.xlsx")
    assert english.exit_code == 0, english.output
    assert "Ticker" in buffer.getvalue() and "Wrote" in buffer.getvalue()


def test_backtest_start_before_the_fetched_history_says_where_it_begins(monkeypatch):
    """A fund listed after --start: the history found begins later, and the CLI says so."""
    from etf_rebalancer.quotes import service as service_module

    asked = {}

    def history(service, tickers, start, end=None, field="adjclose"):
        asked["start"] = start
        tickers = list(dict.fromkeys(tickers))  # the benchmark may be a target too
        days = [dt.date(2021, 6, 1) + dt.timedelta(days=i) for i in range(120)]
        rows = [["Date", *tickers]]
        rows += [
            [dt.datetime.combine(d, dt.time()), *(100.0 + i for _ in tickers)]
            for i, d in enumerate(days)
            if d.weekday() < 5
        ]
        return rows

    # A stand-in service: the command only lets it wait longer (patience) for the history.
    stand_in = types.SimpleNamespace(patience=lambda seconds: contextlib.nullcontext())
    monkeypatch.setattr(service_module, "get_service", lambda offline=None: stand_in)
    monkeypatch.setattr(service_module, "history_rows", history)
    path = TEMPLATES / "ai-value-chain_en.xlsx"
    out = run("backtest", path, "--start", "2020-01-01", "-f", "csv")
    assert out.exit_code == 0, out.output
    assert asked["start"] == dt.date(2020, 1, 1)
    assert "history found begins on 2021-06-01" in out.stderr
    quiet = run("backtest", path, "--start", "2021-05-30", "-f", "csv")  # a weekend before
    assert quiet.exit_code == 0 and "begins" not in quiet.stderr
