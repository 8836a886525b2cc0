"""The UDFs as xlwings sees them: real decorator metadata, conversion and generated VBA.

Plain-call behaviour is tested in tests/test_fuzz_udfs.py; here the same module
is decorated by xlwings' real ``xlwings.udfs`` (see ``xlwings_udfs.py`` for the
three Windows bindings that are stood in for and what that leaves out).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys

import pytest
from xlwings import conversion

from tests.excel.xlwings_udfs import real_xlwings_udfs

CONTRACT = {
    "ETF_PRICE": ["ticker", "field"],
    "ETF_FX": ["from_currency", "to_currency"],
    "ETF_HISTORY": ["tickers", "start", "end", "field", "language"],
    "REBAL_ORDERS": ["holdings", "targets", "cash", "settings", "groups", "accounts"],
    "REBAL_SUMMARY": ["holdings", "targets", "cash", "settings", "groups", "accounts"],
    "REBAL_DRIFT": ["holdings", "targets", "cash", "settings", "groups", "accounts"],
    "PORTFOLIO_BACKTEST": ["prices", "weights", "settings"],
    "PORTFOLIO_EQUITY": ["prices", "weights", "settings"],
    "PORTFOLIO_CORREL": ["prices"],
    "ETF_VERSION": [],  # a compatible addition: the templates' add-in status cell
}
REQUIRED = {
    "ETF_PRICE": 1,
    "ETF_FX": 2,
    "ETF_HISTORY": 2,
    "REBAL_ORDERS": 2,
    "REBAL_SUMMARY": 2,
    "REBAL_DRIFT": 2,
    "PORTFOLIO_BACKTEST": 2,
    "PORTFOLIO_EQUITY": 2,
    "PORTFOLIO_CORREL": 1,
    "ETF_VERSION": 0,
}
RANGE_ARGS = {
    "tickers", "holdings", "targets", "settings", "groups", "accounts", "prices", "weights"
}  # fmt: skip
# Anything that may fetch quotes must not run while the user types in the Insert Function dialog.
NETWORK = {"ETF_PRICE", "ETF_FX", "ETF_HISTORY", "REBAL_ORDERS", "REBAL_SUMMARY", "REBAL_DRIFT"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def xl():
    with real_xlwings_udfs() as xlwings_udfs:
        import etf_rebalancer.udfs as module

        yield xlwings_udfs, module


@pytest.fixture(autouse=True)
def _offline(monkeypatch, remote_engine):
    # remote_engine: its cell cleaners stand in for the COM engine's (see xlwings_udfs.py).
    monkeypatch.setenv("ETF_REBAL_OFFLINE", "1")


def decorated(module) -> dict[str, dict]:
    return {
        name: getattr(module, name).__xlfunc__
        for name in dir(module)
        if hasattr(getattr(module, name), "__xlfunc__")
    }


def test_exactly_the_contract_functions_are_registered(xl):
    _, module = xl
    assert set(decorated(module)) == set(CONTRACT)


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_metadata(xl, name):
    _, module = xl
    info = getattr(module, name).__xlfunc__
    assert info["name"] == name
    assert info["category"] == "ETF Rebalancer"
    assert info["sub"] is False
    assert info["volatile"] is False
    assert info["async_mode"] is None
    assert info["call_in_wizard"] is (name not in NETWORK)
    assert [a["name"] for a in info["args"]] == CONTRACT[name]
    optional = [a["name"] for a in info["args"] if "optional" in a]
    assert optional == CONTRACT[name][REQUIRED[name] :]
    # Native dynamic arrays: no legacy expand, and no converters from type hints.
    assert "expand" not in info["ret"]["options"]
    assert "convert" not in info["ret"]["options"]
    for arg in info["args"]:
        assert "convert" not in arg["options"], arg["name"]
        assert arg["options"].get("ndim") == (2 if arg["name"] in RANGE_ARGS else None), arg


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_every_doc_is_bilingual_and_fits_macro_options(xl, name):
    _, module = xl
    info = getattr(module, name).__xlfunc__
    docs = [info["ret"]["doc"]] + [a["doc"] for a in info["args"]]
    for doc in docs:
        assert not doc.startswith("Positional argument"), f"{name}: an argument lacks help"
        # Application.MacroOptions takes at most 255 characters per description.
        assert len(doc) <= 255, (name, len(doc), doc)
        assert re.search(r"[A-Za-z]{3}", doc) and HANGUL.search(doc), doc


# ---------------------------------------------------------------- conversion


def read_arg(info: dict, arg: str, value):
    """What call_udf does with a value Excel passes for ``arg``."""
    options = info["argmap"][arg]["options"]
    return conversion.read(None, value, options, engine_name="remote")


def write_result(info: dict, value):
    """What call_udf hands back to Excel for a result."""
    return conversion.write(value, None, info["ret"]["options"], engine_name="remote")


HOLDINGS = [
    ["Ticker", "Shares", "Price", "Currency"],
    ["QQQ", 10.0, 480.25, "USD"],
    ["069500", 30.0, 35_000.0, "KRW"],
    ["", "", "", ""],
]


def test_range_arguments_arrive_as_lists_of_rows(xl):
    _, module = xl
    info = module.REBAL_ORDERS.__xlfunc__
    holdings = read_arg(info, "holdings", HOLDINGS)
    assert holdings[1] == ["QQQ", 10.0, 480.25, "USD"]
    assert holdings[3] == [None, None, None, None]  # empty cells are None
    # ndim=2: a one-cell or one-row range is still a list of rows, never a scalar.
    assert read_arg(info, "settings", [["base_currency"]]) == [["base_currency"]]
    assert read_arg(info, "targets", [["Ticker", "Target"]]) == [["Ticker", "Target"]]
    assert read_arg(info, "targets", "QQQ") == [["QQQ"]]
    # cash is a number or a range: a single cell stays a number.
    assert read_arg(info, "cash", 5000.0) == 5000.0
    assert read_arg(info, "cash", [["Currency", "Amount"], ["KRW", 1e6]]) == [
        ["Currency", "Amount"],
        ["KRW", 1e6],
    ]


def test_scalar_arguments_stay_scalars(xl):
    _, module = xl
    price = module.ETF_PRICE.__xlfunc__
    assert read_arg(price, "ticker", "qqq") == "qqq"
    assert read_arg(price, "ticker", 69500.0) == 69500.0  # a KRX code typed as a number
    history = module.ETF_HISTORY.__xlfunc__
    start = read_arg(history, "start", dt.datetime(2024, 1, 2))
    assert start == dt.datetime(2024, 1, 2)
    assert read_arg(history, "tickers", "SPY") == [["SPY"]]


@pytest.mark.parametrize("name", ["REBAL_ORDERS", "REBAL_SUMMARY", "REBAL_DRIFT"])
def test_rebalance_tables_through_the_pipeline(xl, name):
    _, module = xl
    function = getattr(module, name)
    info = function.__xlfunc__
    args = [
        read_arg(info, "holdings", HOLDINGS),
        read_arg(info, "targets", [["Ticker", "Target"], ["QQQ", 60.0], ["069500", 40.0]]),
        read_arg(info, "cash", 1000.0),
        read_arg(info, "settings", [["base_currency", "USD"], ["FX KRW", 0.00075]]),
    ]
    result = write_result(info, function(*args))
    # Whatever the answer (a table, or one error text), Excel gets a rectangular 2-D array.
    assert isinstance(result, list) and result and all(isinstance(r, list) for r in result)
    assert len({len(row) for row in result}) == 1
    assert all(not isinstance(v, (dict, list, tuple)) for row in result for v in row)


def test_bad_input_comes_back_as_one_cell_of_text(xl):
    _, module = xl
    info = module.REBAL_ORDERS.__xlfunc__
    result = write_result(
        info,
        module.REBAL_ORDERS(
            read_arg(info, "holdings", [["Ticker", "Shares"], ["QQQ", "ten"]]),
            read_arg(info, "targets", [["Ticker", "Target"], ["QQQ", 100.0]]),
        ),
    )
    assert len(result) == 1 and len(result[0]) == 1
    assert isinstance(result[0][0], str) and result[0][0].startswith(("Error", "오류"))


def test_written_values_are_what_excel_can_hold(xl):
    _, module = xl
    info = module.REBAL_DRIFT.__xlfunc__
    rows = [["Ticker", "Value", "Weight"], ["QQQ", 4802.5, None], ["SPY", float("nan"), 0.4]]
    assert write_result(info, rows) == [
        ["Ticker", "Value", "Weight"],
        ["QQQ", 4802.5, ""],
        ["SPY", "", 0.4],
    ]
    assert write_result(module.ETF_PRICE.__xlfunc__, 480.25) == [[480.25]]


# ---------------------------------------------------------------- generated VBA


class _Workbook:
    """The two attributes generate_vba_wrapper reads from Excel's Workbook object."""

    def __init__(self, name: str) -> None:
        self.Name = name


def vba_for(xl, book_name: str = "etf_rebalancer.xlam") -> str:
    xlwings_udfs, module = xl
    out = io.StringIO()
    xlwings_udfs.generate_vba_wrapper("etf_rebalancer.udfs", module, out, _Workbook(book_name))
    return out.getvalue()


def function_block(vba: str, name: str) -> str:
    match = re.search(rf"^Function {name}\(.*?^End Function", vba, flags=re.S | re.M)
    assert match, f"no VBA wrapper for {name}"
    return match.group(0)


def test_vba_signatures(xl):
    vba = vba_for(xl)
    signatures = re.findall(r"^Function .*$", vba, flags=re.M)
    assert sorted(signatures) == sorted(
        [
            "Function ETF_PRICE(ticker, Optional field)",
            "Function ETF_FX(from_currency, to_currency)",
            "Function ETF_HISTORY(tickers, start, Optional end, Optional field, Optional language)",
            "Function REBAL_ORDERS(holdings, targets, Optional cash, Optional settings, "
            "Optional groups, Optional accounts)",
            "Function REBAL_SUMMARY(holdings, targets, Optional cash, Optional settings, "
            "Optional groups, Optional accounts)",
            "Function REBAL_DRIFT(holdings, targets, Optional cash, Optional settings, "
            "Optional groups, Optional accounts)",
            "Function PORTFOLIO_BACKTEST(prices, weights, Optional settings)",
            "Function PORTFOLIO_EQUITY(prices, weights, Optional settings)",
            "Function PORTFOLIO_CORREL(prices)",
            "Function ETF_VERSION()",
        ]
    )


def test_vba_body_calls_our_module_from_the_active_workbook(xl):
    block = function_block(vba_for(xl), "REBAL_ORDERS")
    assert (
        'REBAL_ORDERS = XLPy.CallUDF("etf_rebalancer.udfs", "REBAL_ORDERS", '
        "Array(holdings, targets, cash, settings, groups, accounts), ActiveWorkbook, "
        "Application.Caller)"
    ) in block
    assert "REBAL_ORDERS = Err.Description" in block
    assert "Application.Volatile" not in block


def test_network_functions_skip_the_function_wizard(xl):
    vba = vba_for(xl)
    skip = 'If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function'
    for name in CONTRACT:
        assert (skip in function_block(vba, name)) is (name in NETWORK), name


class _RecordingExcel:
    """Excel's side of xlwings.udfs.import_udfs: records what xlwings sends it."""

    class _Components:
        def __init__(self) -> None:
            self.imported: list[str] = []

        def __call__(self, name):
            raise sys.modules["pywintypes"].com_error("no such component")

        def Remove(self, component):
            raise AssertionError("nothing to remove")

        def Import(self, path):
            with open(path) as handle:
                self.imported.append(handle.read())

    class _Application:
        Version = "16.0"

        def __init__(self) -> None:
            self.macro_options: list[tuple[str, dict]] = []

        def MacroOptions(self, macro, **kwargs):
            self.macro_options.append((macro, kwargs))

    def __init__(self) -> None:
        self.Name = "etf_rebalancer.xlam"
        self.VBProject = type("VBProject", (), {})()
        self.VBProject.VBComponents = self._Components()
        self.Application = self._Application()


def test_import_udfs_registers_help_for_the_function_wizard(xl, monkeypatch):
    xlwings_udfs, _ = xl
    monkeypatch.setattr(xlwings_udfs, "__pro__", False)  # no embedded-code lookup over COM
    # xlwings caches the module on first use; without a workbook it skips embedded code.
    xlwings_udfs.get_udf_module("etf_rebalancer.udfs", None)
    excel = _RecordingExcel()
    xlwings_udfs.import_udfs("etf_rebalancer.udfs", excel)

    (module_text,) = excel.VBProject.VBComponents.imported
    assert module_text.startswith('Attribute VB_Name = "xlwings_udfs"')
    assert "Function REBAL_ORDERS(holdings, targets, Optional cash" in module_text

    options = dict(excel.Application.macro_options)
    assert set(options) == {f"'etf_rebalancer.xlam'!{name}" for name in CONTRACT}
    orders = options["'etf_rebalancer.xlam'!REBAL_ORDERS"]
    assert orders["Category"] == "ETF Rebalancer"
    assert len(orders["ArgumentDescriptions"]) == 6
    assert orders["ArgumentDescriptions"][0].startswith("Holdings with a header")
    for _, kwargs in options.items():
        assert len(kwargs["Description"]) <= 255
        # import_udfs truncates at 255; nothing of ours may lose its end to that.
        assert all(len(doc) < 255 for doc in kwargs["ArgumentDescriptions"] or ())
