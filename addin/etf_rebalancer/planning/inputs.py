"""Turn the raw ranges of a REBAL_* call into one typed, validated :class:`RebalanceRequest`.

Reading rules (see ``shared/CONTRACT.md``): headers matched by English/Korean
alias, blank rows skipped, weights as fractions, percents or ``"25%"`` text,
Korean codes typed as numbers restored, a ``CASH``/``현금`` target row for the
cash weight. Every problem raises :class:`~etf_rebalancer.errors.InputError`
naming the range, row, ticker or setting key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from etf_rebalancer import cells as xl
from etf_rebalancer.cells import CASH_TICKER, KeyValue, is_blank
from etf_rebalancer.cells.tickers import listing_currency_from_suffix
from etf_rebalancer.engine.request import Asset, GroupCap, RebalanceRequest, Settings
from etf_rebalancer.errors import InputError

__all__ = ["SETTING_KEYS", "read_request"]

#: Setting keys the contract defines (``fx *`` stands for every ``FX <CCY>`` key).
SETTING_KEYS = (
    "base_currency",
    "mode",
    "buy_only",
    "band_type",
    "band",
    "whole_shares",
    "min_trade",
    "fee_rate",
    "fee_min",
    "fx_spread",
    "fx *",
)

_MODES = {"full": "full", "band": "band", "전체": "full", "목표": "full", "밴드": "band"}
_BAND_TYPES = {
    "relative": "relative",
    "absolute": "absolute",
    "상대": "relative",
    "절대": "absolute",
}
_KINDS = {
    "ETF": "ETF",
    "ETN": "ETF",  # KRX ETNs are exempt from the transaction tax like ETFs
    "FUND": "ETF",
    "STOCK": "STOCK",
    "EQUITY": "STOCK",
    "SHARE": "STOCK",
    "주식": "STOCK",
    "개별주": "STOCK",
}
# Tolerance on targets summing to 100%: a sheet of percents rounded to 0.01 each passes.
_SUM_TOLERANCE = 0.001


def read_request(
    holdings: Any,
    targets: Any,
    cash: Any = None,
    settings: Any = None,
    groups: Any = None,
    as_of: Any = None,
) -> RebalanceRequest:
    """Read and validate the raw arguments of ``REBAL_ORDERS``/``REBAL_SUMMARY``/``REBAL_DRIFT``.

    Parameters
    ----------
    holdings
        Range with ``Ticker``, ``Shares`` and optional ``Price``, ``Currency``,
        ``Account``, ``Type`` (``ETF``/``STOCK``), ``Name``. A ticker may repeat
        only with an ``Account`` column (its shares are summed). A ``CASH`` row
        adds its Shares (times Price when given) to the cash of its currency.
    targets
        Range with ``Ticker``, ``Target`` and optional ``Band``, ``Group``,
        ``Min``, ``Max``; targets must sum to 100%; ``CASH`` targets cash.
    cash
        A number in the base currency (negative: money to raise), or a range
        ``Currency``, ``Amount`` (one row per currency pool; header optional).
    settings
        Key/value range with the contract's keys (:data:`SETTING_KEYS`).
    groups
        Range ``Group``, ``Max`` [, ``Min``].
    as_of
        Date of the plan (``date``, ``datetime``, Excel serial or ISO text), or
        ``None``; see :attr:`RebalanceRequest.as_of`.

    Returns
    -------
    RebalanceRequest

    Raises
    ------
    InputError
        Naming the range, row, ticker or key of the first problem found.
    """
    config = _read_settings(settings)
    base = config.base_currency
    held, cash_rows = _read_holdings(holdings, base)
    targeted, cash_target, cash_band = _read_targets(targets)
    group_caps = _read_groups(groups)
    pools = _read_cash(cash, base)
    for pool_currency, amount in cash_rows.items():
        pools[pool_currency] = pools.get(pool_currency, 0.0) + amount

    assets = []
    for ticker in sorted(set(held) | set(targeted)):
        h = held.get(ticker)
        t = targeted.get(ticker)
        currency: str | None = h["currency"] if h else None
        if currency is None:
            currency = listing_currency_from_suffix(ticker)
        assets.append(
            Asset(
                ticker=ticker,
                shares=h["shares"] if h else 0.0,
                price=h["price"] if h else None,
                currency=currency,
                target=t["target"] if t else 0.0,
                band=t["band"] if t else None,
                min_weight=t["min"] if t else None,
                max_weight=t["max"] if t else None,
                group=t["group"] if t else None,
                kind=h["kind"] if h else None,
                name=h["name"] if h else None,
                held=h is not None,
                targeted=t is not None,
                rows=", ".join(
                    part
                    for part in (
                        f"holdings row {h['row']}" if h else "",
                        f"targets row {t['row']}" if t else "",
                    )
                    if part
                ),
            )
        )
    if not assets:
        raise InputError(
            "holdings and targets name no ticker", "보유종목과 목표비중에 티커가 없습니다"
        )
    return RebalanceRequest(
        assets=tuple(assets),
        cash=dict(sorted(pools.items())),
        cash_target=cash_target,
        cash_band=cash_band,
        settings=config,
        groups=group_caps,
        as_of=None if as_of is None else xl.parse_date(as_of, what="as_of").date(),
    )


# ---------------------------------------------------------------- settings


def _read_settings(values: Any) -> Settings:
    table = xl.read_key_values(values, name="settings")
    error = xl.unknown_keys_error(table, SETTING_KEYS, name="settings")
    if error:
        raise error
    kw: dict[str, Any] = {}
    fx: dict[str, float] = {}
    for key, kv in table.items():
        where = f" (settings row {kv.row}, {kv.label})"
        if key.startswith("fx "):
            rate = _positive(kv, where, allow_zero=False)
            if rate is not None:
                fx[key[3:].upper()] = rate
        elif key == "base_currency":
            if not is_blank(kv.value):
                kw[key] = _currency(kv.value, where)
        elif key == "mode":
            kw[key] = _choice(kv, _MODES, where)
        elif key == "band_type":
            kw[key] = _choice(kv, _BAND_TYPES, where)
        elif key in ("buy_only", "whole_shares"):
            if not is_blank(kv.value):
                kw[key] = xl.parse_bool(kv.value, what=kv.label, where=where)
        elif key == "band":
            band = _weight_setting(kv, where)
            if band is not None:
                kw[key] = band
        elif key in ("fee_rate", "fx_spread"):
            rate = _rate_setting(kv, where)
            if rate is not None:
                kw[key] = rate
        elif key in ("min_trade", "fee_min"):
            amount = _positive(kv, where, allow_zero=True)
            if amount is not None:
                kw[key] = amount
    base = kw.get("base_currency", "USD")
    fx.pop(base, None)
    return Settings(**kw, fx=fx)


def _choice(kv: KeyValue, choices: Mapping[str, str], where: str) -> str:
    text = str(kv.value).strip() if not is_blank(kv.value) else ""
    folded = text.casefold()
    if folded in choices:
        return choices[folded]
    allowed = " or ".join(dict.fromkeys(v for v in choices.values()))
    raise InputError(
        f"{kv.label} must be {allowed}, got {kv.value!r}{where}",
        f"{kv.label} 값은 {allowed} 중 하나여야 합니다: {kv.value!r}{where}",
    )


def _positive(kv: KeyValue, where: str, *, allow_zero: bool) -> float | None:
    number = xl.parse_number(kv.value, what=kv.label, where=where)
    if number is None:
        return None
    if number < 0 or (number == 0 and not allow_zero):
        bound = "0 or more" if allow_zero else "more than 0"
        raise InputError(
            f"{kv.label} must be {bound}, got {kv.value!r}{where}",
            f"{kv.label} 값은 {'0 이상이어야' if allow_zero else '0보다 커야'} 합니다: "
            f"{kv.value!r}{where}",
        )
    return number


def _weight_setting(kv: KeyValue, where: str) -> float | None:
    number, explicit = xl.parse_weight(kv.value, what=kv.label, where=where)
    if number is None:
        return None
    fraction = xl.weights_to_fractions([(number, explicit)])[0]
    assert fraction is not None
    if fraction < 0:
        raise InputError(
            f"{kv.label} must be 0 or more, got {kv.value!r}{where}",
            f"{kv.label} 값은 0 이상이어야 합니다: {kv.value!r}{where}",
        )
    return fraction


def _rate_setting(kv: KeyValue, where: str) -> float | None:
    """A cost rate: a fraction (``0.001``) or percent text (``"0.1%"``), below 10%."""
    number = xl.parse_number(kv.value, what=kv.label, where=where)
    if number is None:
        return None
    if not 0 <= number < 0.1:
        raise InputError(
            f"{kv.label} must be a fraction from 0 to 0.1 (or text such as '0.1%'), "
            f"got {kv.value!r}{where}",
            f"{kv.label} 값은 0~0.1 사이의 비율(또는 '0.1%' 형식)이어야 합니다: "
            f"{kv.value!r}{where}",
        )
    return number


def _currency(value: Any, where: str) -> str:
    text = str(value).strip().upper() if isinstance(value, str) else ""
    if len(text) != 3 or not text.isalpha() or not text.isascii():
        raise InputError(
            f"Currency must be a three-letter code such as USD or KRW, got {value!r}{where}",
            f"통화는 USD, KRW 같은 세 글자 코드여야 합니다: {value!r}{where}",
        )
    return text


# ---------------------------------------------------------------- holdings


def _read_holdings(values: Any, base: str) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:
    table = xl.read_table(
        values,
        name="holdings",
        required=["ticker", "shares"],
        optional=["price", "currency", "account", "kind", "name"],
    )
    has_account = "account" in table.columns
    out: dict[str, dict[str, Any]] = {}
    cash: dict[str, float] = {}
    for record in table.to_dict("records"):
        row = record["row"]
        raw_ticker = record["ticker"]
        if is_blank(raw_ticker):
            raise InputError(
                f"Ticker is missing (holdings row {row})", f"티커가 없습니다 (보유종목 {row}행)"
            )
        ticker = xl.normalise_ticker(raw_ticker, where=f" (holdings row {row})")
        where = f" (holdings row {row}, {ticker})"
        where_ko = f" (보유종목 {row}행, {ticker})"
        shares = _shares(record["shares"], where, where_ko)
        price = _price(record.get("price"), where, where_ko)
        currency = (
            None if is_blank(record.get("currency")) else _currency(record["currency"], where)
        )
        if ticker == CASH_TICKER:
            pool = currency or base
            cash[pool] = cash.get(pool, 0.0) + shares * (price if price is not None else 1.0)
            continue
        kind = _kind(record.get("kind"), where, where_ko)
        name = None if is_blank(record.get("name")) else str(record["name"]).strip()
        if ticker in out:
            first = out[ticker]
            if not has_account:
                raise InputError(
                    f"Ticker {ticker} appears twice in holdings (rows {first['row']} and {row}); "
                    "add an Account column or merge the rows",
                    f"티커 {ticker}가 보유종목에 두 번 있습니다 ({first['row']}행, {row}행); "
                    "계좌 열을 추가하거나 행을 합치세요",
                )
            for key, value in (("price", price), ("currency", currency), ("kind", kind)):
                if value is None:
                    continue
                if first[key] is None:
                    first[key] = value
                elif first[key] != value:
                    raise InputError(
                        f"{key.capitalize()} of {ticker} differs between holdings rows "
                        f"{first['row']} and {row}: {first[key]!r} vs {value!r}",
                        f"{ticker}의 {key} 값이 보유종목 {first['row']}행과 {row}행에서 다릅니다",
                    )
            first["shares"] += shares
            first["name"] = first["name"] or name
            continue
        out[ticker] = {
            "shares": shares,
            "price": price,
            "currency": currency,
            "kind": kind,
            "name": name,
            "row": row,
        }
    return out, cash


def _shares(value: Any, where: str, where_ko: str) -> float:
    if is_blank(value):
        return 0.0
    try:
        number = xl.parse_number(value, what="Shares", where=where)
    except InputError:
        raise InputError(
            f"Shares must be a number, got {value!r}{where}",
            f"수량은 숫자여야 합니다: {value!r}{where_ko}",
        ) from None
    assert number is not None
    if number < 0:
        raise InputError(
            f"Shares must be 0 or more, got {value!r}{where}",
            f"수량은 0 이상이어야 합니다: {value!r}{where_ko}",
        )
    return number


def _price(value: Any, where: str, where_ko: str) -> float | None:
    if is_blank(value):
        return None
    try:
        number = xl.parse_number(value, what="Price", where=where)
    except InputError:
        raise InputError(
            f"Price must be a number, got {value!r}{where}",
            f"현재가는 숫자여야 합니다: {value!r}{where_ko}",
        ) from None
    assert number is not None
    if number <= 0:
        raise InputError(
            f"Price must be more than 0, got {value!r}{where}",
            f"현재가는 0보다 커야 합니다: {value!r}{where_ko}",
        )
    return number


def _kind(value: Any, where: str, where_ko: str) -> str | None:
    if is_blank(value):
        return None
    text = str(value).strip().upper()
    if text in _KINDS:
        return _KINDS[text]
    raise InputError(
        f"Type must be ETF or STOCK, got {value!r}{where}",
        f"종류는 ETF 또는 STOCK이어야 합니다: {value!r}{where_ko}",
    )


# ---------------------------------------------------------------- targets and groups


def _read_targets(values: Any) -> tuple[dict[str, dict[str, Any]], float, float | None]:
    table = xl.read_table(
        values,
        name="targets",
        required=["ticker", "target"],
        optional=["band", "group", "min", "max"],
    )
    records = table.to_dict("records")
    tickers: list[str] = []
    seen: dict[str, int] = {}
    for record in records:
        row = record["row"]
        if is_blank(record["ticker"]):
            raise InputError(
                f"Ticker is missing (targets row {row})", f"티커가 없습니다 (목표비중 {row}행)"
            )
        ticker = xl.normalise_ticker(record["ticker"], where=f" (targets row {row})")
        if ticker in seen:
            raise InputError(
                f"Ticker {ticker} appears twice in targets (rows {seen[ticker]} and {row})",
                f"티커 {ticker}가 목표비중에 두 번 있습니다 ({seen[ticker]}행, {row}행)",
            )
        seen[ticker] = row
        tickers.append(ticker)

    def column(name: str, *, sums_to_one: bool = False) -> list[float | None]:
        if name not in table.columns:
            return [None] * len(records)
        cells = [
            xl.parse_weight(
                r[name], what=name.capitalize(), where=f" (targets row {r['row']}, {t})"
            )
            for r, t in zip(records, tickers, strict=True)
        ]
        return xl.weights_to_fractions(cells, sums_to_one=sums_to_one)

    weights = column("target", sums_to_one=True)
    bands = column("band")
    mins = column("min")
    maxs = column("max")
    out: dict[str, dict[str, Any]] = {}
    cash_target = 0.0
    cash_band: float | None = None
    total = 0.0
    for i, record in enumerate(records):
        ticker, row = tickers[i], record["row"]
        weight: float = weights[i] or 0.0
        for label, value in (("Target", weight), ("Band", bands[i])):
            if value is not None and value < 0:
                raise InputError(
                    f"{label} must be 0 or more, got {record[label.lower()]!r} "
                    f"(targets row {row}, {ticker})",
                    f"{label} 값은 0 이상이어야 합니다 (목표비중 {row}행, {ticker})",
                )
        lo, hi = mins[i], maxs[i]
        if (lo is not None and not 0 <= lo <= 1) or (hi is not None and not 0 <= hi <= 1):
            raise InputError(
                f"Min and Max must be weights from 0% to 100% (targets row {row}, {ticker})",
                f"최소·최대 비중은 0%~100% 사이여야 합니다 (목표비중 {row}행, {ticker})",
            )
        if lo is not None and hi is not None and lo > hi:
            raise InputError(
                f"Min must not exceed Max, got {lo:.2%} > {hi:.2%} (targets row {row}, {ticker})",
                f"최소 비중이 최대 비중보다 큽니다: {lo:.2%} > {hi:.2%} "
                f"(목표비중 {row}행, {ticker})",
            )
        total += weight
        if ticker == CASH_TICKER:
            cash_target, cash_band = weight, bands[i]
            continue
        group = record.get("group")
        out[ticker] = {
            "target": weight,
            "band": bands[i],
            "min": lo,
            "max": hi,
            "group": None if is_blank(group) else str(group).strip().casefold(),
            "row": row,
        }
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise InputError(
            f"Targets must sum to 100%, got {total:.2%} (targets rows 2-{len(records) + 1})",
            f"목표비중의 합은 100%여야 합니다: {total:.2%}",
        )
    return out, cash_target, cash_band


def _read_groups(values: Any) -> dict[str, GroupCap]:
    if values is None or (not isinstance(values, list | tuple | pd.DataFrame) and is_blank(values)):
        return {}
    table = xl.read_table(values, name="groups", required=["group", "max"], optional=["min"])
    out: dict[str, GroupCap] = {}
    for record in table.to_dict("records"):
        row = record["row"]
        if is_blank(record["group"]):
            raise InputError(
                f"Group name is missing (groups row {row})", f"그룹 이름이 없습니다 ({row}행)"
            )
        label = str(record["group"]).strip()
        key = label.casefold()
        where = f" (groups row {row}, {label})"
        if key in out:
            raise InputError(
                f"Group {label} appears twice in groups (rows {out[key].row} and {row})",
                f"그룹 {label}이(가) 두 번 있습니다 ({out[key].row}행, {row}행)",
            )
        bounds: list[float | None] = []
        for name in ("max", "min"):
            number, explicit = xl.parse_weight(
                record.get(name), what=name.capitalize(), where=where
            )
            value = xl.weights_to_fractions([(number, explicit)])[0]
            if value is not None and not 0 <= value <= 1:
                raise InputError(
                    f"{name.capitalize()} must be a weight from 0% to 100%, "
                    f"got {record.get(name)!r}{where}",
                    f"그룹 {name} 비중은 0%~100% 사이여야 합니다: {record.get(name)!r}{where}",
                )
            bounds.append(value)
        if bounds[0] is not None and bounds[1] is not None and bounds[1] > bounds[0]:
            raise InputError(
                f"Min must not exceed Max, got {bounds[1]:.2%} > {bounds[0]:.2%}{where}",
                f"최소가 최대보다 클 수 없습니다: {bounds[1]:.2%} > {bounds[0]:.2%}{where}",
            )
        out[key] = GroupCap(label=label, max_weight=bounds[0], min_weight=bounds[1], row=row)
    return out


# ---------------------------------------------------------------- cash


def _read_cash(values: Any, base: str) -> dict[str, float]:
    """Cash pools from a number (base currency) or a ``Currency``, ``Amount`` range."""
    if values is None:
        return {}
    if not isinstance(values, list | tuple | pd.DataFrame):
        amount = xl.parse_number(values, what="cash", where=" (cash argument)")
        return {} if amount is None else {base: amount}
    rows = xl.as_rows(values)
    cells = [c for r in rows for c in r if not is_blank(c)]
    if len(cells) <= 1:
        amount = xl.parse_number(cells[0] if cells else None, what="cash", where=" (cash argument)")
        return {} if amount is None else {base: amount}
    header = [xl.normalise_header(c) for c in rows[0]]
    if not any(h in ("currency", "ccy", "통화") for h in header):
        rows = [["Currency", "Amount"], *rows]  # a headerless two-column range
    table = xl.read_table(rows, name="cash", required=["currency", "amount"])
    pools: dict[str, float] = {}
    seen: dict[str, int] = {}
    for record in table.to_dict("records"):
        row = record["row"]
        where = f" (cash row {row})"
        currency = _currency(record["currency"], where)
        amount = xl.parse_number(record["amount"], what="Amount", where=where)
        if amount is None:
            continue
        if currency in seen:
            raise InputError(
                f"Currency {currency} appears twice in cash (rows {seen[currency]} and {row})",
                f"통화 {currency}가 현금 범위에 두 번 있습니다 ({seen[currency]}행, {row}행)",
            )
        seen[currency] = row
        pools[currency] = amount
    if any(not math.isfinite(v) for v in pools.values()):  # parse_number guards; belt and braces
        raise InputError("cash amounts must be finite numbers", "현금은 유한한 숫자여야 합니다")
    return pools
