"""The process-wide quote service: one per cache folder and offline setting.

:func:`get_service` is what the UDFs, the Refresh button and the CLI call; it
builds the service on first use with the network providers (Naver Finance
first for KRX listings, Yahoo Finance for the rest and as the fallback; see
:mod:`etf_rebalancer.quotes.routing`; the KIS Open API before both when the
user's app key is in the environment, :mod:`etf_rebalancer.quotes.kis`), or
none when working offline (``ETF_REBAL_OFFLINE=1``; ``ETF_REBAL_NAVER=0``
leaves Naver out).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from etf_rebalancer.errors import Notice
from etf_rebalancer.quotes.base import Provider
from etf_rebalancer.quotes.cache import QuoteCache
from etf_rebalancer.quotes.service import QuoteService

__all__ = ["cache_dir", "get_service", "reset_services"]

_services: dict[tuple[str, bool], QuoteService] = {}
_services_lock = threading.Lock()


def cache_dir() -> Path:
    """``$ETF_REBAL_CACHE_DIR`` if set, else the platform's user cache folder."""
    configured = os.environ.get("ETF_REBAL_CACHE_DIR")
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir("etf-rebalancer", appauthor=False))


def get_service(offline: bool | None = None) -> QuoteService:
    """The process-wide service for the current cache folder and offline setting.

    Cheap after the first call (two environment lookups and a dictionary hit).
    ``ETF_REBAL_OFFLINE=1`` (or ``offline=True``) gives a service with no
    network provider: it answers from the cache only.
    """
    if offline is None:
        offline = os.environ.get("ETF_REBAL_OFFLINE", "").strip().lower() in ("1", "true", "yes")
    key = (os.environ.get("ETF_REBAL_CACHE_DIR", ""), offline)
    service = _services.get(key)
    if service is not None:
        return service
    with _services_lock:
        service = _services.get(key)
        if service is None:
            service = _build_service(offline=key[1])
            _services[key] = service
    return service


def _build_service(*, offline: bool) -> QuoteService:
    folder = cache_dir()
    notices: list[Notice] = []
    try:
        cache = QuoteCache(folder / "quotes.sqlite")
    except (OSError, Exception) as error:  # an unusable folder must not stop the add-in
        cache = QuoteCache(":memory:")
        notices.append(
            Notice(
                f"The quote cache folder {folder} cannot be used ({error}); prices are kept "
                "in memory until Excel closes",
                f"시세 캐시 폴더 {folder}를 쓸 수 없습니다({error}); 가격은 Excel을 닫을 때까지만 "
                "메모리에 보관됩니다",
            )
        )
    cache.notices.extend(notices)
    if offline:
        return QuoteService(cache, None)

    def make_provider() -> Provider:
        # Built on first use: importing yfinance takes a second.
        from etf_rebalancer.quotes.kis import KisProvider
        from etf_rebalancer.quotes.naver import NaverProvider
        from etf_rebalancer.quotes.routing import KrxFirst
        from etf_rebalancer.quotes.yahoo import YahooProvider

        provider: Provider = YahooProvider(cache_dir=folder)
        if os.environ.get("ETF_REBAL_NAVER", "1").strip().lower() not in ("0", "false", "no"):
            provider = KrxFirst(NaverProvider(), provider)
        kis = KisProvider.from_env()  # the user's own app key, from the environment only
        return KrxFirst(kis, provider) if kis is not None else provider

    return QuoteService(cache, make_provider)


def reset_services() -> None:
    """Forget every process-wide service (tests; a changed cache folder)."""
    with _services_lock:
        for service in _services.values():
            service.cache.close()
        _services.clear()
