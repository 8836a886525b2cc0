"""The CLI when quotes cannot be fetched: exit 7, a hint, one line per own ticker, no log noise."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etf_rebalancer import cli
from etf_rebalancer.quotes import service as service_module
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.naver import NaverProvider
from etf_rebalancer.quotes.routing import KrxFirst
from etf_rebalancer.quotes.yahoo import YahooProvider
from tests.quotes.replay import naver_session, replay_session

TEMPLATE = Path(__file__).resolve().parents[2] / "workbook_templates" / "korean-investor_en.xlsx"
OWN = ("069500", "360750", "QQQ", "SCHD")  # the tickers that workbook holds
runner = CliRunner()


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    nsession, nadapter = naver_session()
    ysession, yadapter = replay_session()
    nadapter.fault = "dns"
    yadapter.faults["*"] = "dns"
    provider = KrxFirst(NaverProvider(nsession), YahooProvider(ysession, cache_dir=tmp_path))
    service = service_module.QuoteService(QuoteCache(tmp_path / "q.sqlite"), provider)
    monkeypatch.setattr(service_module, "get_service", lambda offline=None: service)
    yield service
    service.cache.close()


def test_unfetchable_quotes_exit_7_with_a_hint(no_network, tmp_path, capfd):
    # Another workbook's failed refresh is in the cache: its tickers must not be named.
    no_network.refresh(["SPY", "VWCE.DE", "005930"])
    out = runner.invoke(cli.app, ["plan", str(TEMPLATE)])
    assert out.exit_code == cli.EXIT_QUOTES == 7, out.output
    text = out.output
    assert "--offline" in text
    for ticker in OWN:
        assert sum(line.strip().startswith(f"{ticker}:") for line in text.splitlines()) == 1
    for other in ("SPY", "VWCE.DE", "005930"):
        assert other not in text
    for line in text.splitlines():
        named = [t for t in OWN if t in line]
        assert len(named) <= 1, line  # one failure, one ticker per line
    assert "Cookie/crumb" not in text
    assert "Cookie/crumb" not in capfd.readouterr().err


def test_offline_still_plans_from_the_sheet(no_network):
    out = runner.invoke(cli.app, ["plan", str(TEMPLATE), "--offline"])
    assert out.exit_code == 0, out.output


def test_yfinance_warnings_do_not_reach_stderr(capfd):
    logging.getLogger("yfinance").warning("Cookie/crumb fetch failed (DNSError), continuing")
    assert "Cookie/crumb" not in capfd.readouterr().err
