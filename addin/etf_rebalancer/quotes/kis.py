"""The KIS Open API provider (한국투자증권): official real-time KRX prices, the user's app key.

Enabled only when ``ETF_REBAL_KIS_APP_KEY`` and ``ETF_REBAL_KIS_APP_SECRET``
are set in the environment; the key, the secret and the access token live in
this process's memory only (never in a workbook, the quote cache or a file).
When enabled it is asked first for KRX codes, with Naver and Yahoo behind it.

Calls, as public clients make them (``sharebook-kr/mojito``
``KoreaInvestment.fetch_price``, and other callers found by code search):

* ``POST /oauth2/tokenP`` with ``{"grant_type": "client_credentials",
  "appkey": ..., "appsecret": ...}`` answers ``{"access_token": ...,
  "token_type": "Bearer", "expires_in": 86400}``;
* ``GET /uapi/domestic-stock/v1/quotations/inquire-price`` with headers
  ``authorization: Bearer <token>``, ``appkey``, ``appsecret``,
  ``tr_id: FHKST01010100``, ``custtype: P`` and parameters
  ``FID_COND_MRKT_DIV_CODE=J``, ``FID_INPUT_ISCD=<code>`` answers
  ``{"rt_cd": "0", "msg_cd": ..., "msg1": ..., "output": {"stck_prpr": "56850",
  "stck_sdpr": "56780", ...}}`` (numbers as text). ``rt_cd`` other than ``"0"``
  is a refusal (``EGW00121``/``EGW00123``: the token expired, asked again once);
  an unknown code answers ``rt_cd "0"`` with every price ``"0"``.

One request per code (the endpoint takes one), :data:`MAX_WORKERS` at a time
(KIS allows about 20 a second). Every failure is a value, so the caller asks
Naver or Yahoo instead.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from etf_rebalancer.cells import is_krx_code
from etf_rebalancer.errors import QuoteError
from etf_rebalancer.quotes.base import (
    BadDataError,
    Failure,
    HistoryResult,
    NetworkError,
    NotFoundError,
    Quote,
    QuoteResult,
    RateLimitedError,
)

__all__ = ["BASE_URL", "KisProvider"]

BASE_URL = "https://openapi.koreainvestment.com:9443"
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
TOKEN_PATH = "/oauth2/tokenP"
MAX_WORKERS = 4
_EXPIRED = ("EGW00121", "EGW00123")
KEY_ENV, SECRET_ENV = "ETF_REBAL_KIS_APP_KEY", "ETF_REBAL_KIS_APP_SECRET"


class KisProvider:
    """KRX quotes from the KIS Open API.

    Parameters
    ----------
    app_key, app_secret
        The user's own credentials (see :meth:`from_env`).
    session
        The ``requests.Session`` to use (tests mount a replay adapter on it).
    base_url
        The API host (the paper-trading host for a mock account).
    """

    name = "kis"

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        session: requests.Session | None = None,
        *,
        base_url: str = BASE_URL,
    ) -> None:
        self._key = app_key
        self._secret = app_secret
        self.session = session or requests.Session()
        self.base_url = base_url.rstrip("/")
        self.http_requests = 0
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_until = 0.0

    def __repr__(self) -> str:  # never show the credentials
        return f"KisProvider(base_url={self.base_url!r})"

    @classmethod
    def from_env(cls, session: requests.Session | None = None) -> KisProvider | None:
        """The provider when both environment variables are set, else ``None``."""
        key = os.environ.get(KEY_ENV, "").strip()
        secret = os.environ.get(SECRET_ENV, "").strip()
        if not key or not secret:
            return None
        return cls(key, secret, session, base_url=os.environ.get("ETF_REBAL_KIS_URL", BASE_URL))

    @staticmethod
    def handles(symbol: str) -> bool:
        """True for a KRX code, bare or with ``.KS``/``.KQ``."""
        return is_krx_code(_code(symbol))

    def fetch_quotes(self, symbols: Sequence[str], *, timeout: float) -> dict[str, QuoteResult]:
        """One request per code, a few at a time; one result per symbol."""
        asked = list(dict.fromkeys(symbols))
        codes = list(dict.fromkeys(_code(s) for s in asked if self.handles(s)))
        try:
            self._ensure_token(timeout)
        except QuoteError as error:
            return {s: Failure(s, _named(error, s)) for s in asked}
        results: dict[str, QuoteResult] = {}
        if codes:
            with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(codes))) as pool:
                for code, result in zip(
                    codes, pool.map(lambda c: self._price(c, timeout), codes), strict=True
                ):
                    results[code] = result
        out: dict[str, QuoteResult] = {}
        for symbol in asked:
            if not self.handles(symbol):
                out[symbol] = Failure(
                    symbol,
                    NotFoundError(
                        f"{symbol}: not a KRX code (KIS answers KRX codes only)",
                        f"{symbol}: KRX 종목코드가 아닙니다 (KIS는 KRX 종목만 답합니다)",
                    ),
                )
                continue
            result = results[_code(symbol)]
            out[symbol] = result if isinstance(result, Quote) else Failure(symbol, result.error)
        return out

    def fetch_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date, *, timeout: float
    ) -> dict[str, HistoryResult]:
        """Not offered: daily history comes from Yahoo."""
        error = BadDataError(
            "KIS history is not used: daily history comes from Yahoo Finance",
            "KIS 가격이력은 쓰지 않습니다: 일별 가격은 Yahoo Finance에서 받습니다",
        )
        return {s: Failure(s, error) for s in symbols}

    # ------------------------------------------------------------ calls

    def _count(self) -> None:
        with self._lock:
            self.http_requests += 1

    def _ensure_token(self, timeout: float, *, renew: bool = False) -> str:
        with self._lock:
            if self._token and not renew and time.monotonic() < self._token_until:
                return self._token
        self._count()
        try:
            response = self.session.post(
                self.base_url + TOKEN_PATH,
                json={
                    "grant_type": "client_credentials",
                    "appkey": self._key,
                    "appsecret": self._secret,
                },
                timeout=timeout,
            )
            payload = response.json()
        except requests.RequestException as error:
            raise _token_error(NetworkError, f"gave no token ({type(error).__name__})") from None
        except ValueError:
            raise _token_error(BadDataError, "sent a token answer that is not JSON") from None
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if response.status_code != 200 or not token:
            why = payload.get("error_description") if isinstance(payload, dict) else None
            raise _error(
                BadDataError, "KIS", f"refused the app key ({why or response.status_code})"
            )
        expires = payload.get("expires_in")
        life = float(expires) if isinstance(expires, int | float) else 3600.0
        with self._lock:
            self._token = str(token)
            self._token_until = time.monotonic() + max(60.0, life - 300.0)
            return self._token

    def _price(self, code: str, timeout: float, *, retried: bool = False) -> QuoteResult:
        token = self._token or ""
        self._count()
        try:
            response = self.session.get(
                self.base_url + PRICE_PATH,
                headers={
                    "content-type": "application/json; charset=utf-8",
                    "authorization": f"Bearer {token}",
                    "appkey": self._key,
                    "appsecret": self._secret,
                    "tr_id": "FHKST01010100",
                    "custtype": "P",
                },
                params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code},
                timeout=timeout,
            )
        except requests.Timeout:
            return Failure(code, _error(NetworkError, code, "did not answer in time"))
        except (requests.ConnectionError, OSError) as error:
            return Failure(
                code, _error(NetworkError, code, f"no connection ({type(error).__name__})")
            )
        if response.status_code == 429:
            return Failure(code, _error(RateLimitedError, code, "asked us to slow down (HTTP 429)"))
        try:
            payload = response.json()
        except ValueError:
            return Failure(
                code, _error(BadDataError, code, f"HTTP {response.status_code}, not JSON")
            )
        if not isinstance(payload, dict):
            return Failure(code, _error(BadDataError, code, "unexpected answer"))
        if payload.get("msg_cd") in _EXPIRED and not retried:
            try:
                self._ensure_token(timeout, renew=True)
            except QuoteError as error:
                return Failure(code, _named(error, code))
            return self._price(code, timeout, retried=True)
        if response.status_code != 200 or payload.get("rt_cd") != "0":
            why = str(payload.get("msg1") or f"HTTP {response.status_code}").strip()
            return Failure(code, _error(BadDataError, code, f"refused: {why}"))
        output = payload.get("output")
        if not isinstance(output, dict):
            return Failure(code, _error(BadDataError, code, "no output in the answer"))
        price = _number(output.get("stck_prpr"))
        if price is None:
            return Failure(code, _error(BadDataError, code, "no price in the answer"))
        if price <= 0:  # an unknown code answers zeros
            return Failure(
                code,
                NotFoundError(
                    f"{code}: KIS has no such KRX code", f"{code}: KIS에 없는 종목코드입니다"
                ),
            )
        previous = _number(output.get("stck_sdpr"))
        return Quote(
            symbol=code,
            price=price,
            currency="KRW",
            previous_close=previous if previous and previous > 0 else None,
            time=dt.datetime.now(dt.UTC).replace(microsecond=0),
            name=str(output.get("hts_kor_isnm") or "").strip(),
            kind="",
            source="kis",
            delay="real-time",
        )


def _code(symbol: str) -> str:
    text = symbol.strip().upper()
    stem, dot, suffix = text.partition(".")
    return stem if dot and suffix in ("KS", "KQ") else text


def _number(value: Any) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value.replace(",", "").strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def _error(cls: type[QuoteError], code: str, why: str) -> QuoteError:
    return cls(f"KIS Open API {why} for {code}", f"KIS Open API 응답 문제({why}): {code}")


def _token_error(cls: type[QuoteError], why: str) -> QuoteError:
    return cls(f"KIS Open API {why}", f"KIS Open API 문제: {why}")


def _named(error: QuoteError, symbol: str) -> QuoteError:
    """The same error, naming the symbol it is stored under (and only it)."""
    return type(error)(f"{symbol}: {error.message}", f"{symbol}: {error.localized('ko')}")
