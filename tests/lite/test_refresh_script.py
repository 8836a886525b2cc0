"""The Lite script ``refresh_quotes`` on xlwings' own remote Book (``Book(json=...)``).

xlwings Lite hands scripts a book built from the JSON its Office.js client sends
and applies the actions the script records; ``xlwings.Book(json=...)`` is that
same implementation in CPython. The quote endpoint is a real ``etf-rebal quotes
serve`` on loopback.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import threading

import pytest
import xlwings as xw

from etf_rebalancer.lite import host
from etf_rebalancer.quotes import service as service_module
from etf_rebalancer.quotes.base import Quote
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.memory import MemoryProvider
from etf_rebalancer.quotes.server import make_server

WHEN = dt.datetime(2026, 11, 30, 21, 0, tzinfo=dt.UTC)


def _table(name: str, rows: int, cols: int) -> dict:
    last = f"{chr(64 + cols)}{rows}"
    return {
        "name": name,
        "range_address": f"A1:{last}",
        "header_row_range_address": f"A1:{chr(64 + cols)}1",
        "data_body_range_address": f"A2:{last}",
        "total_row_range_address": None,
        "show_headers": True,
        "show_totals": False,
        "table_style": "TableStyleMedium2",
        "show_autofilter": True,
    }


def _sheet(name: str, values: list[list], table: str) -> dict:
    return {
        "name": name,
        "values": values,
        "pictures": [],
        "charts": [],
        "shapes": [],
        "notes": [],
        "tables": [_table(table, len(values), len(values[0]))],
    }


@pytest.fixture
def endpoint(loopback, tmp_path):
    provider = MemoryProvider(
        {
            "QQQ": Quote("QQQ", 640.0, "USD", time=WHEN, kind="ETF"),
            "VOO": Quote("VOO", 620.0, "USD", time=WHEN, kind="ETF"),
            "KRW=X": Quote("KRW=X", 1400.0, "KRW", time=WHEN, kind="CURRENCY"),
        }
    )
    service = service_module.QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)
    server = make_server("127.0.0.1", 0, service=service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_refresh_quotes_rewrites_the_quotes_table(remote_engine, endpoint):
    quotes_before = [
        ["Ticker", "Price", "Currency", "Time", "Status", "Source"],
        ["QQQ", 600.0, "USD", None, "sample", "sample (not live)"],
        ["OLD1", 1.0, "USD", None, "sample", "sample (not live)"],
        ["OLD2", 1.0, "USD", None, "sample", "sample (not live)"],
        ["OLD3", 1.0, "USD", None, "sample", "sample (not live)"],
    ]
    payload = {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {"name": "tech-core_en.xlsx", "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": [
            _sheet("Holdings", [["Ticker", "Shares"], ["QQQ", 10.0]], "Holdings"),
            _sheet("Targets", [["Ticker", "Target"], ["QQQ", 0.5], ["VOO", 0.5]], "Targets"),
            _sheet("Cash", [["Currency", "Amount"], ["USD", 100.0]], "Cash"),
            _sheet(
                "Settings",
                [["Setting", "Value"], ["base_currency", "KRW"], ["quote_endpoint", endpoint]],
                "Settings",
            ),
            _sheet("Quotes", quotes_before, "Quotes"),
        ],
    }
    book = xw.Book(json=copy.deepcopy(payload))
    asyncio.run(host.refresh_quotes(book))
    actions = book.json()["actions"]
    writes = [a for a in actions if a["func"] == "setValues" and a["sheet_position"] == 4]
    assert writes, actions
    rows = writes[-1]["values"]
    assert rows[0] == ["Ticker", "Price", "Currency", "Time", "Status", "Source"]
    assert {r[0]: r[1] for r in rows[1:]} == {"QQQ": 640.0, "VOO": 620.0, "USD/KRW": 1400.0}
    # The three old rows beyond the new ones are cleared, and the table fits the new rows.
    clears = [a for a in actions if a["func"] == "rangeClearContents"]
    assert [(a["sheet_position"], a["start_row"], a["row_count"]) for a in clears] == [(4, 4, 1)]
    resize = [a for a in actions if a["func"] == "resizeTable"]
    assert resize and resize[-1]["args"][1] == "$A$1:$F$4"


def test_refresh_quotes_without_an_endpoint_changes_nothing(remote_engine, capsys):
    payload = {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {"name": "b.xlsx", "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": [
            _sheet("Settings", [["Setting", "Value"], ["base_currency", "USD"]], "Settings"),
            _sheet("Quotes", [["Ticker", "Price"], ["QQQ", 1.0]], "Quotes"),
        ],
    }
    book = xw.Book(json=copy.deepcopy(payload))
    asyncio.run(host.refresh_quotes(book))
    assert book.json()["actions"] == []
    assert "quote_endpoint" in capsys.readouterr().out
