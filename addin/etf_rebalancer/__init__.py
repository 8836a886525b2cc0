"""ETF Rebalancer: Excel add-in and CLI that turn holdings and targets into exact orders."""

from __future__ import annotations

__version__ = "0.1.0"


def main() -> None:
    """Ribbon entry point (``RibbonMyAddin.RunMain``): refresh the calling workbook."""
    from etf_rebalancer.excel.refresh import main as _main  # xlwings only when Excel calls

    _main()
