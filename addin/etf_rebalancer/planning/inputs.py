"""Turn the raw ranges of a REBAL_* call into one typed, validated :class:`RebalanceRequest`.

Reading rules (see ``docs/CONTRACT.md``): headers matched by English/Korean
alias, blank rows skipped, weights as fractions, percents or ``"25%"`` text,
Korean codes typed as numbers restored, a ``CASH``/``현금`` target row for the
cash weight. Every problem raises :class:`~etf_rebalancer.errors.InputError`
naming the range, row, ticker or setting key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from etf_rebalancer import cells as xl
from etf_rebalancer.cells import CASH_TICKER, KeyValue, is_blank
from etf_rebalancer.cells.headers import LANGUAGES
from etf_rebalancer.cells.labels import Bilingual, ko, where
from etf_rebalancer.cells.tickers import listing_currency_from_suffix
from etf_rebalancer.engine import account_rules
from etf_rebalancer.engine.household import Account, HouseholdRequest, Position
from etf_rebalancer.engine.request import Asset, GroupCap, RebalanceRequest, Settings
from etf_rebalancer.errors import InputError

__all__ = ["SETTING_KEYS", "household_requested", "read_household", "read_request"]

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
    "language",
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
# Holdings columns as the "differs between rows" message names them in Korean.
_FIELD_KO = {"price": "현재가", "currency": "통화", "kind": "종류"}
_CASH_ARGUMENT = Bilingual(" (cash argument)", " (현금 인수)")


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
                rows=_asset_rows(h["row"] if h else None, t["row"] if t else None),
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


def _asset_rows(holdings_row: int | None, targets_row: int | None) -> Bilingual:
    """Where an asset was read: ``holdings row 2, targets row 3`` (Korean: ``보유종목 2행, …``)."""
    english, korean = [], []
    if holdings_row is not None:
        english.append(f"holdings row {holdings_row}")
        korean.append(f"보유종목 {holdings_row}행")
    if targets_row is not None:
        english.append(f"targets row {targets_row}")
        korean.append(f"목표비중 {targets_row}행")
    return Bilingual(", ".join(english), ", ".join(korean))


# ---------------------------------------------------------------- settings


def _setting_where(kv: KeyValue) -> Bilingual:
    return where("settings", kv.row, kv.label)


def _read_settings(values: Any) -> Settings:
    table = xl.read_key_values(values, name="settings")
    error = xl.unknown_keys_error(table, SETTING_KEYS, name="settings")
    if error:
        raise error
    kw: dict[str, Any] = {}
    fx: dict[str, float] = {}
    for key, kv in table.items():
        where = _setting_where(kv)
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
        elif key == "language":
            _choice(kv, LANGUAGES, where)  # read by the edge (detect_language), not the plan
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
    values = list(dict.fromkeys(choices.values()))
    korean = {v: k for k, v in reversed(list(choices.items())) if not k.isascii()}
    allowed_ko = ", ".join(f"{v}({korean[v]})" if v in korean else v for v in values)
    raise InputError(
        f"{kv.label} must be {' or '.join(values)}, got {kv.value!r}{where}",
        f"{kv.label} 값은 {allowed_ko} 중 하나여야 합니다: {kv.value!r}{ko(where)}",
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
            f"{kv.value!r}{ko(where)}",
        )
    return number


def _weight_setting(kv: KeyValue, where: str) -> float | None:
    number, explicit = xl.parse_weight(kv.value, what=kv.label, where=where)
    if number is None:
        return None
    fraction = number / 100.0 if abs(number) > 1 and not explicit else number
    xl.check_band(fraction, kv.value, what=kv.label, where=where)
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
            f"{kv.value!r}{ko(where)}",
        )
    return number


def _currency(value: Any, where: str) -> str:
    text = str(value).strip().upper() if isinstance(value, str) else ""
    if len(text) != 3 or not text.isalpha() or not text.isascii():
        raise InputError(
            f"Currency must be a three-letter code such as USD or KRW, got {value!r}{where}",
            f"통화는 USD, KRW 같은 세 글자 코드여야 합니다: {value!r}{ko(where)}",
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
        ticker = xl.normalise_ticker(raw_ticker, where=where("holdings", row))
        place = where("holdings", row, ticker)
        where_ko = ko(place)
        shares = _shares(record["shares"], place, where_ko)
        price = _price(record.get("price"), place, where_ko)
        currency = (
            None if is_blank(record.get("currency")) else _currency(record["currency"], place)
        )
        if ticker == CASH_TICKER:
            pool = currency or base
            cash[pool] = cash.get(pool, 0.0) + shares * (price if price is not None else 1.0)
            continue
        kind = _kind(record.get("kind"), place, where_ko)
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
                        f"{ticker}의 {_FIELD_KO[key]} 값이 보유종목 {first['row']}행과 "
                        f"{row}행에서 다릅니다",
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
        ticker = xl.normalise_ticker(record["ticker"], where=where("targets", row))
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
            xl.parse_weight(r[name], what=name.capitalize(), where=where("targets", r["row"], t))
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
        if weight < 0:
            raise InputError(
                f"Target must be 0 or more, got {record['target']!r} (targets row {row}, {ticker})",
                f"{ko('Target')} 값은 0 이상이어야 합니다 (목표비중 {row}행, {ticker})",
            )
        xl.check_band(bands[i], record.get("band"), where=where("targets", row, ticker))
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
    if not xl.sums_to_100(total):  # one tolerance with the backtest reading the same table
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
                f"Group name is missing (groups row {row})", f"그룹 이름이 없습니다 (그룹 {row}행)"
            )
        label = str(record["group"]).strip()
        key = label.casefold()
        place = where("groups", row, label)
        if key in out:
            raise InputError(
                f"Group {label} appears twice in groups (rows {out[key].row} and {row})",
                f"그룹 {label}이(가) 두 번 있습니다 ({out[key].row}행, {row}행)",
            )
        bounds: list[float | None] = []
        for name in ("max", "min"):
            number, explicit = xl.parse_weight(
                record.get(name), what=name.capitalize(), where=place
            )
            value = xl.weights_to_fractions([(number, explicit)])[0]
            if value is not None and not 0 <= value <= 1:
                raise InputError(
                    f"{name.capitalize()} must be a weight from 0% to 100%, "
                    f"got {record.get(name)!r}{place}",
                    f"그룹 {ko(name.capitalize())} 비중은 0%~100% 사이여야 합니다: "
                    f"{record.get(name)!r}{ko(place)}",
                )
            bounds.append(value)
        hi, lo = bounds
        if lo is not None and hi is not None and lo > hi:
            # The per-asset rule (targets Min/Max) for groups too.
            raise InputError(
                f"Min must not exceed Max, got {lo:.2%} > {hi:.2%}{place}",
                f"최소 비중이 최대 비중보다 큽니다: {lo:.2%} > {hi:.2%}{ko(place)}",
            )
        out[key] = GroupCap(label=label, max_weight=bounds[0], min_weight=bounds[1], row=row)
    return out


# ---------------------------------------------------------------- cash


def _read_cash(values: Any, base: str) -> dict[str, float]:
    """Cash pools from a number (base currency) or a ``Currency``, ``Amount`` range."""
    if values is None:
        return {}
    if not isinstance(values, list | tuple | pd.DataFrame):
        amount = xl.parse_number(values, what="cash", where=_CASH_ARGUMENT)
        return {} if amount is None else {base: amount}
    rows = xl.as_rows(values)
    cells = [c for r in rows for c in r if not is_blank(c)]
    if len(cells) <= 1:
        amount = xl.parse_number(cells[0] if cells else None, what="cash", where=_CASH_ARGUMENT)
        return {} if amount is None else {base: amount}
    header = [xl.normalise_header(c) for c in rows[0]]
    if not any(h in ("currency", "ccy", "통화") for h in header):
        rows = [["Currency", "Amount"], *rows]  # a headerless two-column range
    table = xl.read_table(rows, name="cash", required=["currency", "amount"])
    pools: dict[str, float] = {}
    seen: dict[str, int] = {}
    for record in table.to_dict("records"):
        row = record["row"]
        place = where("cash", row)
        currency = _currency(record["currency"], place)
        amount = xl.parse_number(record["amount"], what="Amount", where=place)
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


# ---------------------------------------------------------------- accounts (household)
# Kept apart from the single-portfolio reader above: read_request still reads the
# household-level request (shares summed per ticker), these functions add the split
# over accounts, the accounts range and the targets' Class column.


def household_requested(cash: Any, accounts: Any) -> bool:
    """Whether the ranges ask for a household plan (per-account orders).

    True when an ``accounts`` range is given or the cash range names an account.
    An ``Account`` column in holdings alone (with one pooled cash range) keeps
    today's single-portfolio plan, so workbooks that used the column as a label
    plan exactly as before.
    """
    if not _is_range_blank(accounts):
        return True
    if not isinstance(cash, list | tuple | pd.DataFrame):
        return False
    rows = xl.as_rows(cash)
    if not rows or not any(xl.normalise_header(c) in _ACCOUNT_HEADERS for c in rows[0]):
        return False
    return any(not is_blank(v) for v in xl.column_values(cash, "account"))


_ACCOUNT_HEADERS = {xl.normalise_header(a) for a in xl.ALIASES["account"]}


def _is_range_blank(values: Any) -> bool:
    if values is None:
        return True
    if not isinstance(values, list | tuple | pd.DataFrame):
        return is_blank(values)
    return all(is_blank(c) for r in xl.as_rows(values) for c in r)


def read_household(
    holdings: Any,
    targets: Any,
    cash: Any = None,
    settings: Any = None,
    groups: Any = None,
    accounts: Any = None,
    as_of: Any = None,
) -> HouseholdRequest:
    """Read the ranges of a household plan: holdings and cash per account, account types.

    Parameters
    ----------
    holdings
        As for :func:`read_request`; ``Account``/``계좌`` (blank: the default
        account) says where each row is held. A ticker may appear once per account.
    targets
        As for :func:`read_request`, with an optional ``Class``/``자산군`` column
        (equity, bond, cash, leveraged, inverse or their Korean names).
    cash
        A number (the default account's cash in the base currency), or a range
        ``Currency``, ``Amount`` [, ``Account``].
    settings, groups, as_of
        As for :func:`read_request`.
    accounts
        Optional range ``Account``, ``Type`` [, ``Max Risky``]. When given, every
        account named in holdings or cash must be listed in it; without it every
        account is ``general``.

    Returns
    -------
    HouseholdRequest

    Raises
    ------
    InputError
        Naming the range, row, account and value of the first problem found.
    """
    request = read_request(holdings, targets, None, settings, groups, as_of=as_of)
    base = request.settings.base_currency
    listed = _read_accounts(accounts)
    positions, held_cash, names = _read_positions(holdings, base)
    pools, cash_names = _read_account_cash(cash, base)
    for (key, currency), amount in held_cash.items():
        pools[(key, currency)] = pools.get((key, currency), 0.0) + amount
    for key, (name, place) in {**cash_names, **names}.items():
        if key and listed is not None and key not in listed:
            known = ", ".join(a.name for a in listed.values()) or "none"
            raise InputError(
                f"Account {name}{place} is not in the accounts range (it lists {known}); "
                "add a row with its Type",
                f"계좌 {name}{ko(place)}이(가) 계좌 범위에 없습니다 (있는 계좌: {known}); "
                "유형과 함께 행을 추가하세요",
            )
    every: dict[str, Account] = {"": Account(key="", name="")}
    for key, (name, _where) in sorted({**cash_names, **names}.items()):
        every[key] = Account(key=key, name=name)
    every.update(listed or {})
    total: dict[str, float] = {}
    for (_key, currency), amount in pools.items():
        total[currency] = total.get(currency, 0.0) + amount
    request = replace(request, cash=dict(sorted(total.items())))
    return HouseholdRequest(
        request=request,
        # By type, then name: the same household written in English or Korean (위탁 for
        # Brokerage) gets the same program, column for column, and so the same search.
        accounts=tuple(sorted(every.values(), key=_account_order)),
        positions=tuple(sorted(positions, key=lambda p: (p.account, p.ticker))),
        cash=tuple((k, c, a) for (k, c), a in sorted(pools.items())),
        classes=_read_classes(targets),
    )


def _account_key(value: Any) -> tuple[str, str]:
    """(key, display name) of an Account cell; blank is the default account ``""``."""
    if is_blank(value):
        return "", ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an account number typed as a number
    name = str(value).strip()
    return name.casefold(), name


def _account_order(account: Account) -> tuple[int, str]:
    return list(account_rules.ACCOUNT_TYPES).index(account.kind), account.key


def _read_accounts(values: Any) -> dict[str, Account] | None:
    if _is_range_blank(values):
        return None
    table = xl.read_table(
        values, name="accounts", required=["account", "kind"], optional=["max_risky"]
    )
    out: dict[str, Account] = {}
    for record in table.to_dict("records"):
        row = record["row"]
        key, name = _account_key(record["account"])
        if not key:
            raise InputError(
                f"Account name is missing (accounts row {row})",
                f"계좌 이름이 없습니다 (계좌 {row}행)",
            )
        where, where_ko = f" (accounts row {row}, {name})", f" (계좌 {row}행, {name})"
        if key in out:
            raise InputError(
                f"Account {name} appears twice in accounts (rows {out[key].row} and {row})",
                f"계좌 {name}이(가) 계좌 범위에 두 번 있습니다 ({out[key].row}행, {row}행)",
            )
        raw_type = record["kind"]
        kind = None if is_blank(raw_type) else account_rules.account_type(str(raw_type))
        if kind is None:
            raise InputError(
                f"Type must be general, isa, pension, irp or dc, got {raw_type!r}{where}",
                f"유형은 일반(위탁), ISA, 연금저축, IRP, DC(퇴직연금) 중 하나여야 합니다: "
                f"{raw_type!r}{where_ko}",
            )
        number, explicit = xl.parse_weight(record.get("max_risky"), what="Max Risky", where=where)
        cap = xl.weights_to_fractions([(number, explicit)])[0]
        if cap is not None and not 0 <= cap <= 1:
            raise InputError(
                f"Max Risky must be a weight from 0% to 100%, got {record.get('max_risky')!r}"
                f"{where}",
                f"위험자산한도는 0%~100% 사이여야 합니다: {record.get('max_risky')!r}{where_ko}",
            )
        out[key] = Account(key=key, name=name, kind=kind, max_risky=cap, row=row)
    return out


def _read_positions(
    values: Any, base: str
) -> tuple[list[Position], dict[tuple[str, str], float], dict[str, tuple[str, str]]]:
    """Positions per (ticker, account), CASH rows per (account, currency), account names."""
    table = xl.read_table(
        values,
        name="holdings",
        required=["ticker", "shares"],
        optional=["price", "currency", "account"],
    )
    positions: dict[tuple[str, str], Position] = {}
    cash: dict[tuple[str, str], float] = {}
    names: dict[str, tuple[str, str]] = {}
    for record in table.to_dict("records"):
        row = record["row"]
        ticker = xl.normalise_ticker(record["ticker"], where=f" (holdings row {row})")
        key, name = _account_key(record.get("account"))
        if key and key not in names:
            names[key] = (name, f" (holdings row {row})")
        where = f" (holdings row {row}, {ticker})"
        shares = _shares(record["shares"], where, f" (보유종목 {row}행, {ticker})")
        if ticker == CASH_TICKER:
            price = _price(record.get("price"), where, where)
            raw = record.get("currency")
            currency = base if is_blank(raw) else _currency(raw, where)
            slot = (key, currency)
            cash[slot] = cash.get(slot, 0.0) + shares * (price if price is not None else 1.0)
            continue
        if (ticker, key) in positions:
            first = positions[(ticker, key)].row
            shown = name or "default"
            raise InputError(
                f"Ticker {ticker} appears twice in account {shown} (holdings rows {first} and "
                f"{row}); merge the rows",
                f"티커 {ticker}가 계좌 {name or '기본 계좌'}에 두 번 있습니다 "
                f"(보유종목 {first}행, {row}행); 행을 합치세요",
            )
        positions[(ticker, key)] = Position(ticker=ticker, account=key, shares=shares, row=row)
    return list(positions.values()), cash, names


def _read_account_cash(
    values: Any, base: str
) -> tuple[dict[tuple[str, str], float], dict[str, tuple[str, str]]]:
    """Cash per (account, currency); a number or a range without Account: default account."""
    rows = xl.as_rows(values) if isinstance(values, list | tuple | pd.DataFrame) else []
    if not rows or not any(xl.normalise_header(c) in _ACCOUNT_HEADERS for c in rows[0]):
        return {("", c): a for c, a in _read_cash(values, base).items()}, {}
    table = xl.read_table(
        values, name="cash", required=["currency", "amount"], optional=["account"]
    )
    pools: dict[tuple[str, str], float] = {}
    seen: dict[tuple[str, str], int] = {}
    names: dict[str, tuple[str, str]] = {}
    for record in table.to_dict("records"):
        row = record["row"]
        where = f" (cash row {row})"
        key, name = _account_key(record.get("account"))
        if key and key not in names:
            names[key] = (name, where)
        currency = _currency(record["currency"], where)
        amount = xl.parse_number(record["amount"], what="Amount", where=where)
        if amount is None:
            continue
        if (key, currency) in seen:
            shown = name or "default"
            raise InputError(
                f"Currency {currency} of account {shown} appears twice in cash (rows "
                f"{seen[(key, currency)]} and {row})",
                f"계좌 {name or '기본 계좌'}의 통화 {currency}가 현금 범위에 두 번 있습니다 "
                f"({seen[(key, currency)]}행, {row}행)",
            )
        seen[(key, currency)] = row
        pools[(key, currency)] = amount
    return pools, names


def _read_classes(values: Any) -> dict[str, str]:
    table = xl.read_table(values, name="targets", required=["ticker"], optional=["asset_class"])
    if "asset_class" not in table.columns:
        return {}
    out: dict[str, str] = {}
    for record in table.to_dict("records"):
        raw = record["asset_class"]
        if is_blank(raw) or is_blank(record["ticker"]):
            continue
        row = record["row"]
        ticker = xl.normalise_ticker(record["ticker"], where=f" (targets row {row})")
        found = account_rules.asset_class(str(raw))
        if found is None:
            raise InputError(
                f"Class must be equity, bond, cash, leveraged or inverse, got {raw!r} "
                f"(targets row {row}, {ticker})",
                f"자산군은 주식, 채권, 현금성, 레버리지, 인버스 중 하나여야 합니다: {raw!r} "
                f"(목표비중 {row}행, {ticker})",
            )
        if ticker != CASH_TICKER:
            out[ticker] = found
    return out
