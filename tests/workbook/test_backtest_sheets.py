"""The templates' Backtest and Prices sheets, evaluated the way Excel would evaluate them.

No Excel here, so each test reads the formulas the builder wrote, checks their
exact text, and then calls the same UDFs with the ranges those formulas name:
``ETF_HISTORY`` answers from the real quote cache (filled through the real
QuoteService from real daily prices, see ``_factor_history``), then
``PORTFOLIO_BACKTEST`` / ``_EQUITY`` / ``_CORREL``. The results are checked
against facts computed here independently (start date, benchmark return,
rebalance count), and ``etf-rebal backtest`` must print the same table.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.cell import range_boundaries
from typer.testing import CliRunner

from etf_rebalancer import cli, udfs
from etf_rebalancer.cells import is_krx_code
from etf_rebalancer.cells.labels import METRIC_LABELS
from etf_rebalancer.quotes import service as service_module
from etf_rebalancer.quotes.base import History, Quote
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.memory import MemoryProvider
from etf_rebalancer.quotes.service import QuoteService, history_rows
from etf_rebalancer.quotes.symbols import fx_symbol
from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.backtest_sheets import backtest_settings, backtest_tickers
from etf_rebalancer.workbook.portfolios import (
    BACKTEST_START,
    INSTRUMENTS,
    PORTFOLIOS,
    STARTER,
    template_filename,
)
from etf_rebalancer.workbook.templates import HEADERS, build_template
from tests.workbook.snapshot import array_formula_cells, norm

DATA = Path(__file__).resolve().parents[1] / "data" / "us_factor_etfs_2014_2022.csv"
SEEDS = [p for p in PORTFOLIOS if p is not STARTER]
CASES = [(p.for_lang(lang), lang) for p in PORTFOLIOS for lang in ("en", "ko")]
IDS = [template_filename(p, lang) for p, lang in CASES]
HISTORY_END = dt.datetime(2022, 12, 28)  # the last date of the recorded prices


@pytest.fixture(scope="module")
def built() -> dict[str, bytes]:
    return {template_filename(p, lang): build_template(p, lang) for p, lang in CASES}


def _sheet_xml(data: bytes, sheet: str) -> str:
    package = zipfile.ZipFile(io.BytesIO(data))
    workbook = package.read("xl/workbook.xml").decode()
    rels = package.read("xl/_rels/workbook.xml.rels").decode()
    targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
    rid = re.search(rf'<sheet name="{re.escape(sheet)}" sheetId="\d+" r:id="(rId\d+)"', workbook)
    assert rid, sheet
    return package.read("xl/" + targets[rid.group(1)]).decode()


def _table(ws, name: str, first: str, last: str) -> list[list]:
    """The rows of table columns ``first``..``last``, header included: ``T[[#All],[a]:[b]]``."""
    table = ws.tables[name]
    min_col, min_row, _, max_row = range_boundaries(table.ref)
    names = [c.name for c in table.tableColumns]
    a, b = min_col + names.index(first), min_col + names.index(last)
    return [
        list(row)
        for row in ws.iter_rows(
            min_row=min_row, max_row=max_row, min_col=a, max_col=b, values_only=True
        )
    ]


def _unguarded(formula: str) -> str:
    """The add-in call inside ``=IFERROR(<call>,<fallback to EtfAddinMissing>)``."""
    match = re.fullmatch(
        r"=IFERROR\((.*),(?:EtfAddinMissing|IF\(.*,EtfAddinMissing,\"\"\))\)", formula
    )
    assert match, formula
    return match.group(1)


def _named_cell(wb, name: str):
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return wb[sheet], ref.replace("$", "")


# ---------------------------------------------------------------- the formulas


@pytest.mark.parametrize(("portfolio", "lang"), CASES, ids=IDS)
def test_backtest_and_prices_sheets_hold_dynamic_array_formulas(built, portfolio, lang):
    data = built[template_filename(portfolio, lang)]
    backtest, prices = layout.sheet_name("backtest", lang), layout.sheet_name("prices", lang)
    arrays = array_formula_cells(data)
    stored = bool(portfolio.stored_history)
    assert arrays[backtest] == ["E6", "H6", "L25"]
    assert arrays.get(prices) == (None if stored else ["A4"])
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb[backtest]
    ticker, target = HEADERS["targets"][lang][:2]
    key, value = layout.SETTINGS_HEADERS[lang][:2]
    where = f"'{prices}'" if lang == "ko" else prices
    ref = "PriceHistory[#All]" if stored else f"_xlfn.ANCHORARRAY({where}!$A$4)"
    weights = f"Targets[[#All],[{ticker}]:[{target}]]"
    settings = f"BacktestSettings[[#All],[{key}]:[{value}]]"
    # Each add-in formula answers the Start sheet's text without the add-in (no #NAME?).
    assert _unguarded(ws["E6"].value.text) == f"PORTFOLIO_BACKTEST({ref},{weights},{settings})"
    assert _unguarded(ws["H6"].value.text) == f"PORTFOLIO_EQUITY({ref},{weights},{settings})"
    assert _unguarded(ws["L25"].value.text) == f"PORTFOLIO_CORREL({ref})"
    # The tickers: one plain INDEX per row (no FILTER, which older programs lack).
    assert ws["A21"].value == f'=IFERROR(INDEX(Targets[{ticker}],1)&"","")'
    assert ws["A220"].value == f'=IFERROR(INDEX(Targets[{ticker}],200)&"","")'
    assert ws["A20"].value == (
        f'=IFERROR(INDEX(BacktestSettings[{value}],MATCH("benchmark",'
        f'BacktestSettings[{key}],0))&"","")'
    )
    sheet, start = _named_cell(wb, "BacktestStart")
    _, end = _named_cell(wb, "BacktestEnd")
    if stored:
        # A stored table (the real closes of the package's data file) instead of the formula.
        table = wb[prices].tables["PriceHistory"]
        assert table.ref == "A4:F2268"
        assert wb[prices]["A4"].value == "Date" and wb[prices]["B4"].value == "MTUM"
        assert (sheet[start].value, sheet[end].value) == (
            dt.datetime(2014, 1, 2),
            dt.datetime(2022, 12, 28),
        )
    else:
        history = wb[prices]["A4"].value.text
        assert _unguarded(history) == (
            "ETF_HISTORY(BacktestTickers,BacktestStart,BacktestEnd,BacktestCurrency"
            + (',"ko")' if lang == "ko" else ")")
        )
        # The names point where the sheet says: first date, blank last date.
        assert (sheet.title, sheet[start].value, sheet[end].value) == (
            backtest,
            BACKTEST_START,
            None,
        )
    sheet, cells = _named_cell(wb, "BacktestTickers")
    assert (sheet.title, cells) == (backtest, "A20:A220")


LIVE = [(p, lang) for p, lang in CASES if not p.stored_history]
STORED = [(p, lang) for p, lang in CASES if p.stored_history]


@pytest.mark.parametrize(("portfolio", "lang"), LIVE, ids=[template_filename(*c) for c in LIVE])
def test_cached_values_are_the_tickers_and_a_note_never_made_up_numbers(built, portfolio, lang):
    data = built[template_filename(portfolio, lang)]
    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    ws = wb[layout.sheet_name("backtest", lang)]
    tickers = [ws.cell(20 + i, 1).value for i in range(len(portfolio.targets) + 1)]
    assert tickers == backtest_tickers(portfolio)
    note = "추가 기능" if lang == "ko" else "add-in"
    for cell in ("E6", "H6", "L25"):
        assert note in ws[cell].value
    # Nothing numeric in the result areas: no history ships, so no returns either.
    for col in range(5, 30):
        for row in range(7, 60):
            assert not isinstance(ws.cell(row, col).value, int | float), (row, col)
    prices = wb[layout.sheet_name("prices", lang)]
    assert isinstance(prices["A4"].value, str) and prices.max_row == 4
    # A code such as 069500 stays text in the formula's cached value.
    xml = _sheet_xml(data, layout.sheet_name("backtest", lang))
    assert re.search(r'<c r="A21"[^>]* t="str">', xml)


def test_settings_follow_the_seed_and_read_as_portfolio_backtest_settings(built):
    from etf_rebalancer.backtest.sheet import read_config

    for portfolio in SEEDS:
        settings = dict(backtest_settings(portfolio))
        assert settings["benchmark"] == portfolio.benchmark
        assert settings["fee_rate"] == dict(portfolio.settings)["fee_rate"]
        wb = openpyxl.load_workbook(io.BytesIO(built[template_filename(portfolio, "ko")]))
        rows = _table(wb["백테스트"], "BacktestSettings", "설정", "값")
        config = read_config(rows)
        assert (config.rebalance, config.band, config.benchmark) == (
            "quarterly",
            None,
            portfolio.benchmark,
        )
    assert {p.slug: p.benchmark for p in SEEDS} == {
        "ai-value-chain": "QQQ",
        "tech-core": "VOO",
        "tech-subsectors": "QQQ",
        "korean-investor": "069500",
        "us-factor-mix": "SIZE",
    }


# ---------------------------------------------------------------- evaluated


def _fx_rate(day: pd.Timestamp, pair: str) -> float:
    """A made-up but moving daily rate (no FX history is recorded here): the wiring is
    under test, and a rate that changes shows whether each day got its own."""
    level = {"KRW=X": 1300.0, "EURUSD=X": 1.1}[pair]
    return level * (1 + 0.1 * math.sin(day.toordinal() / 90))


def _factor_history(tickers: list[str], base: str = "USD") -> MemoryProvider:
    """Real daily closes (iShares factor ETFs, 2014-2022) standing in for the seeds' ETFs.

    Only the wiring is under test, so each distinct ticker gets one real
    series; Korean listings lose every 13th day to give them a calendar of
    their own (KRX holidays), which the backtest must align. FX pairs into
    ``base`` get :func:`_fx_rate` on every weekday.
    """
    frame = pd.read_csv(DATA, index_col="Date", parse_dates=True)
    histories, quotes = {}, {}
    unique = list(dict.fromkeys(tickers))
    assert len(unique) <= len(frame.columns)
    for ticker, column in zip(unique, frame.columns, strict=False):
        series = frame[column].dropna()
        symbol = ticker
        if is_krx_code(ticker):
            symbol = f"{ticker}.KS"
            series = series[[i % 13 != 5 for i in range(len(series))]] * 1000
        currency = INSTRUMENTS[ticker].currency
        histories[symbol] = History(
            symbol, currency, pd.DataFrame({"close": series, "adjclose": series})
        )
        quotes[symbol] = Quote(symbol, float(series.iloc[-1]), currency, 1_700_000_000.0)
    weekdays = pd.bdate_range("2013-12-02", "2022-12-30")
    for currency in {INSTRUMENTS[t].currency for t in unique} - {base}:
        pair = fx_symbol(currency, base)
        rates = pd.Series([_fx_rate(d, pair) for d in weekdays], index=weekdays)
        histories[pair] = History(pair, base, pd.DataFrame({"close": rates, "adjclose": rates}))
    return MemoryProvider(quotes, histories)


@pytest.fixture
def warm_cache(monkeypatch):
    """Fill the (per-test) quote cache for a portfolio, then go offline like a laptop on a plane."""

    def warm(portfolio):
        tickers = backtest_tickers(portfolio)
        provider = _factor_history(tickers, portfolio.base_currency)
        folder = service_module.cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        online = QuoteService(QuoteCache(folder / "quotes.sqlite"), provider)
        keys = list(dict.fromkeys(tickers))
        online.ensure([k for k in keys if is_krx_code(k)])
        # The way ETF_HISTORY fetches: the tickers, then the FX pairs to convert them.
        base = portfolio.base_currency
        rows = history_rows(online, [[k] for k in keys], "2014-01-02", HISTORY_END, base)
        assert len(rows) > 2000
        online.cache.close()
        service_module.reset_services()
        monkeypatch.setenv("ETF_REBAL_OFFLINE", "1")
        return provider

    return warm


def _english(stats: list[list]) -> list[list]:
    """PORTFOLIO_BACKTEST's rows under the contract's English metric names (a Korean
    workbook's formulas answer in Korean; the numbers are the same)."""
    back = {korean: english for english, korean in METRIC_LABELS.items()} | {"지표": "Metric"}
    return [[back.get(row[0], row[0]), *row[1:]] for row in stats]


def _evaluate(data: bytes, lang: str) -> dict[str, list[list]]:
    """Evaluate the Backtest sheet as Excel would, via the UDFs (History to = 2022-12-28)."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb[layout.sheet_name("backtest", lang)]
    ticker, target = HEADERS["targets"][lang][:2]
    key, value = layout.SETTINGS_HEADERS[lang][:2]
    settings = _table(ws, "BacktestSettings", key, value)
    weights = _table(wb[layout.sheet_name("targets", lang)], "Targets", ticker, target)
    # BacktestTickers: the benchmark formula, then FILTER(Targets[Ticker], ...).
    benchmark = next(v for k, v in settings[1:] if k == "benchmark")
    tickers = [[benchmark]] + [[r[0]] for r in weights[1:] if r[0]]
    sheet, cell = _named_cell(wb, "BacktestStart")
    currency_sheet, currency_cell = _named_cell(wb, "BacktestCurrency")
    currency = currency_sheet[currency_cell].value
    # As the template's formula asks: in Korean for a Korean workbook.
    prices = udfs.ETF_HISTORY(tickers, sheet[cell].value, HISTORY_END, currency, lang)
    return {
        "prices": prices,
        "weights": weights,
        "settings": settings,
        "stats": udfs.PORTFOLIO_BACKTEST(prices, weights, settings),
        "equity": udfs.PORTFOLIO_EQUITY(prices, weights, settings),
        "correl": udfs.PORTFOLIO_CORREL(prices),
    }


SEEDS_LIVE = [c for c in LIVE if c[0].slug != STARTER.slug]


@pytest.mark.parametrize(
    ("portfolio", "lang"), SEEDS_LIVE, ids=[template_filename(*c) for c in SEEDS_LIVE]
)
def test_the_backtest_sheet_compares_the_mix_with_its_benchmark(built, warm_cache, portfolio, lang):
    provider = warm_cache(portfolio)
    got = _evaluate(built[template_filename(portfolio, lang)], lang)
    prices = got["prices"]
    # Prices in the base currency: a foreign listing's close times that day's rate.
    base = portfolio.base_currency
    for column, ticker in enumerate(prices[0][1:], start=1):
        currency = INSTRUMENTS[ticker].currency
        if currency != base:
            pair = fx_symbol(currency, base)
            day, value = prices[-1][0], prices[-1][column]
            local = provider.histories[ticker].frame["adjclose"][pd.Timestamp(day)]
            assert value == pytest.approx(local * _fx_rate(pd.Timestamp(day), pair))
    date = "Date" if lang == "en" else "날짜"
    assert prices[0] == [date, *dict.fromkeys(backtest_tickers(portfolio))], prices[:1]
    stats = {row[0]: row[1] for row in _english(got["stats"])[1:]}
    assert "Notice" not in stats, got["stats"]

    # Independent facts from the price table itself.
    table = pd.DataFrame(
        [r[1:] for r in prices[1:]], index=[r[0] for r in prices[1:]], columns=prices[0][1:]
    ).astype(float)
    mix = [t.ticker for t in portfolio.targets if t.target > 0]
    start = table[mix].apply(lambda s: s.first_valid_index()).max()
    rows = table.loc[start:].dropna(how="all")
    assert stats["Start"] == start and stats["End"] == rows.index[-1]
    bench = rows[portfolio.benchmark].ffill()
    assert stats["Benchmark Total Return"] == pytest.approx(bench.iloc[-1] / bench.iloc[0] - 1)
    quarters = pd.DatetimeIndex(rows.index).to_period("Q")
    new_quarter = [i for i in range(1, len(quarters) - 1) if quarters[i] != quarters[i - 1]]
    assert stats["Rebalances"] == len(new_quarter)
    initial = dict(backtest_settings(portfolio))["initial"]
    assert stats["Fees"] >= 0 and -1 < stats["Max Drawdown"] < 0

    equity = got["equity"]
    assert equity[0] == (
        ["Date", "Portfolio", "Benchmark"] if lang == "en" else ["날짜", "포트폴리오", "벤치마크"]
    )
    assert equity[1][0] == start and equity[1][1] == pytest.approx(initial, rel=1e-3)
    assert equity[1][2] == pytest.approx(initial)
    assert equity[-1][1] == pytest.approx(stats["Final Value"])
    assert equity[-1][2] / initial - 1 == pytest.approx(stats["Benchmark Total Return"])

    correl = got["correl"]
    assert correl[0] == ["Ticker" if lang == "en" else "티커", *prices[0][1:]]
    for i, row in enumerate(correl[1:], start=1):
        assert row[i] == pytest.approx(1.0)


def test_cli_backtest_prints_the_sheet_s_table(built, warm_cache, tmp_path):
    portfolio, lang = PORTFOLIOS[3], "ko"  # KRW base, KRX and US calendars
    warm_cache(portfolio)
    data = built[template_filename(portfolio, lang)]
    path = tmp_path / "k.xlsx"
    path.write_bytes(data)
    sheet_rows = _english(_evaluate(data, lang)["stats"])  # csv: the contract's English
    runner = CliRunner()
    args = ["backtest", str(path), "--offline", "--end", "2022-12-28", "--format", "csv"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    printed = list(csv.reader(io.StringIO(result.stdout)))
    # csv keeps the English contract names (the sheet of a Korean workbook is Korean).
    english = {korean: name for name, korean in METRIC_LABELS.items()}
    assert printed[0] == ["Metric", "Value"]
    assert [r[0] for r in printed[1:]] == [english.get(r[0], r[0]) for r in sheet_rows[1:]]
    for (_, text), (_, value) in zip(printed[1:], sheet_rows[1:], strict=True):
        if isinstance(value, float):
            assert float(text) == pytest.approx(value, rel=1e-12)
        elif isinstance(value, dt.datetime):
            assert text == value.isoformat()
        else:
            assert text == str(value)
    table = runner.invoke(cli.app, ["backtest", str(path), "--offline", "--end", "2022-12-28"])
    # A Korean workbook's table is Korean (issue 15); csv above keeps the English contract.
    assert table.exit_code == 0 and "벤치마크 총수익률" in table.stdout
    assert "ETF_HISTORY" in table.stdout
    # Options override the sheet's settings, like editing its table.
    monthly = runner.invoke(cli.app, [*args, "--rebalance", "monthly"])
    count = {r[0]: r[1] for r in csv.reader(io.StringIO(monthly.stdout))}["Rebalances"]
    sheet = {r[0]: r[1] for r in printed}
    assert int(count) > 2 * int(sheet["Rebalances"])
    costly = runner.invoke(cli.app, [*args, "--fee-rate", "0.01", "--benchmark", "QQQ"])
    assert costly.exit_code == 0, costly.output
    costly_rows = {r[0]: r[1] for r in csv.reader(io.StringIO(costly.stdout))}
    assert float(costly_rows["Fees"]) > 20 * float(sheet["Fees"]) > 0
    assert costly_rows["Benchmark Total Return"] != sheet["Benchmark Total Return"]


def test_cli_backtest_without_history_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("ETF_REBAL_OFFLINE", "1")
    path = tmp_path / "t.xlsx"
    path.write_bytes(build_template(PORTFOLIOS[1], "en"))
    result = CliRunner().invoke(cli.app, ["backtest", str(path), "--offline"])
    assert result.exit_code == cli.EXIT_QUOTES
    assert "VOO" in result.stderr and "--prices" in result.stderr


def test_cli_backtest_uses_a_price_table_pasted_on_the_prices_sheet(tmp_path):
    frame = pd.read_csv(DATA, index_col="Date", parse_dates=True).iloc[-300:]
    path = tmp_path / "pasted.xlsx"
    path.write_bytes(build_template(PORTFOLIOS[0], "en"))  # QQQ, XAIX.DE, KARS; vs QQQ
    wb = openpyxl.load_workbook(path)
    ws = wb["Prices"]
    ws["A4"] = "Date"
    for j, name in enumerate(("QQQ", "XAIX.DE", "KARS"), start=2):
        ws.cell(4, j, name)
    for i, (day, row) in enumerate(frame.iterrows(), start=5):
        ws.cell(i, 1, day.to_pydatetime())
        for j, column in enumerate(("MTUM", "QUAL", "SIZE"), start=2):
            ws.cell(i, j, float(row[column]))
    wb.save(path)
    result = CliRunner().invoke(cli.app, ["backtest", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    stats = {k: v for k, v in json.loads(result.stdout)[1:]}
    qqq = frame["MTUM"]
    assert stats["Benchmark Total Return"] == pytest.approx(qqq.iloc[-1] / qqq.iloc[0] - 1)
    assert stats["Start"].startswith(str(frame.index[0].date()))


def test_every_metric_row_gets_a_number_format():
    """The Value column mixes %, ratios, counts, money and dates: each row is formatted by name."""
    from etf_rebalancer.backtest.stats import BENCHMARK_METRICS, METRICS
    from etf_rebalancer.workbook import backtest_sheets as bs

    formatted = [
        *bs._PERCENT_METRICS,
        *bs._RATIO_METRICS,
        *bs._MONEY_METRICS,
        *bs._DATE_METRICS,
        "Rebalances",
    ]
    assert sorted(formatted) == sorted(METRICS + BENCHMARK_METRICS)


@pytest.mark.parametrize(("portfolio", "lang"), STORED, ids=[template_filename(*c) for c in STORED])
def test_a_stored_history_template_caches_exactly_what_its_formulas_compute(
    built, portfolio, lang, tmp_path
):
    """The factor-mix template works offline: its cached results are the UDFs' own answers
    over the PriceHistory table the formulas name, and the CLI prints the same table."""
    data = built[template_filename(portfolio, lang)]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ticker, target = HEADERS["targets"][lang][:2]
    key, value = layout.SETTINGS_HEADERS[lang][:2]
    prices_sheet = wb[layout.sheet_name("prices", lang)]
    table = prices_sheet.tables["PriceHistory"]
    prices = [list(r) for r in prices_sheet[table.ref]]
    prices = [[c.value for c in row] for row in prices]
    raw = pd.read_csv(DATA, index_col="Date", parse_dates=True)
    assert prices[0] == ["Date", *raw.columns] and len(prices) == len(raw) + 1
    assert prices[-1][1:] == pytest.approx(list(raw.iloc[-1]))
    weights = _table(wb[layout.sheet_name("targets", lang)], "Targets", ticker, target)
    settings = _table(wb[layout.sheet_name("backtest", lang)], "BacktestSettings", key, value)
    expected = {
        "E6": udfs.PORTFOLIO_BACKTEST(prices, weights, settings),
        "H6": udfs.PORTFOLIO_EQUITY(prices, weights, settings),
        "L25": udfs.PORTFOLIO_CORREL(prices),
    }
    stats = {r[0]: r[1] for r in _english(expected["E6"])[1:]}
    assert stats["Start"] == dt.datetime(2014, 1, 2) and stats["Rebalances"] == 35
    size = raw["SIZE"]
    assert stats["Benchmark Total Return"] == pytest.approx(size.iloc[-1] / size.iloc[0] - 1)
    cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True)[
        layout.sheet_name("backtest", lang)
    ]
    for anchor, rows in expected.items():
        top = cached[anchor]
        for i, row in enumerate(rows):
            got = [cached.cell(top.row + i, top.column + j).value for j in range(len(row))]
            assert [norm(v) for v in got] == [norm(v) for v in row], (anchor, i)

    path = tmp_path / "f.xlsx"
    path.write_bytes(data)
    printed = CliRunner().invoke(cli.app, ["backtest", str(path), "--format", "csv"])
    assert printed.exit_code == 0, printed.output
    rows = list(csv.reader(io.StringIO(printed.stdout)))
    assert [r[0] for r in rows] == [r[0] for r in _english(expected["E6"])]
    for (_, text), (_, number) in zip(rows[1:], expected["E6"][1:], strict=True):
        if isinstance(number, float):
            assert float(text) == pytest.approx(number, rel=1e-12)
