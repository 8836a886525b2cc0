"""What each Korean account type may buy, and the IRP/DC risky-asset cap, as one dated table.

Beside :mod:`etf_rebalancer.engine.tax` (Korea's transaction tax), the rules
that change with the law live in :data:`ACCOUNT_RULES`: one row per (account
type, rule) with its value, its first day in force and its source, so an
update is one new row. The engine has no clock: callers pass the plan's date,
and ``None`` means the latest row of each rule.

Sources are cited by the law's or regulation's name. The law texts themselves
could not be read here (no network); three rows were checked against press
reports of the day (named in the row's source): ISA from 2016-03-14, the DC/IRP
risky cap of 70% from 2015-07-09, and that pension and retirement accounts may
not buy leveraged/inverse ETFs (in force per 2024 reports; its first day is not
confirmed). The other first days are the ones commonly cited and should be
checked before a plan dated in the past relies on them. For any plan dated
today every rule below is in force, so those dates decide nothing in practice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "ACCOUNT_RULES",
    "ACCOUNT_TYPES",
    "ASSET_CLASSES",
    "SAFE_CLASSES",
    "AccountRule",
    "Rules",
    "account_type",
    "asset_class",
    "rules_for",
]

#: Account type -> accepted spellings (compared case-folded, spaces and ``_-`` removed).
ACCOUNT_TYPES: dict[str, tuple[str, ...]] = {
    "general": ("general", "brokerage", "taxable", "일반", "위탁", "일반계좌", "위탁계좌"),
    "isa": ("isa", "중개형isa", "isa계좌"),
    "pension": ("pension", "연금저축", "연금저축계좌", "연금저축펀드"),
    "irp": ("irp", "개인형퇴직연금", "개인형irp"),
    "dc": ("dc", "퇴직연금", "확정기여형", "dc형"),
}
#: Asset class -> accepted spellings (the targets' ``Class``/``자산군`` column).
ASSET_CLASSES: dict[str, tuple[str, ...]] = {
    "equity": ("equity", "stock", "주식", "주식형"),
    "bond": ("bond", "채권", "채권형"),
    "cash": ("cash", "cashlike", "moneymarket", "현금성", "현금", "단기채"),
    "leveraged": ("leveraged", "leverage", "레버리지"),
    "inverse": ("inverse", "인버스"),
}
#: Classes that count as safe under the risky-asset cap; every other class is risky.
SAFE_CLASSES = frozenset({"bond", "cash"})


@dataclass(frozen=True)
class AccountRule:
    """One row of :data:`ACCOUNT_RULES`.

    Attributes
    ----------
    account_type
        ``general``, ``isa``, ``pension``, ``irp`` or ``dc``.
    rule
        ``domestic_only`` (buys only KRX listings), ``no_leveraged_inverse``
        (no buys of the ``leveraged``/``inverse`` classes) or ``risky_cap``
        (risky assets at most this weight of the account after trading).
    value
        ``True``/``False`` for the buy rules (``False`` repeals an earlier row),
        the cap as a fraction for ``risky_cap`` (``None`` repeals).
    start
        First day in force.
    source
        The law or regulation, by name.
    """

    account_type: str
    rule: str
    value: bool | float | None
    start: dt.date
    source: str


_ISA = (
    "조세특례제한법 제91조의18 (개인종합자산관리계좌) and its 시행령: ISA holds domestic listings; "
    "sold from 2016-03-14 (한국경제 2016-03-14, 'ISA 14일부터 시판')"
)
_PENSION = (
    "소득세법 시행령 제40조의2 (연금계좌) with 금융투자협회 연금저축 운용 기준: "
    "domestic listings only"
)
_PENSION_DERIV = (
    "금융위원회: inverse and leveraged ETFs excluded from 연금저축 ETF investment (서울경제, "
    "'연금저축 ETF 편입'); in force per 한국경제TV 2024-11-14. First day not confirmed"
)
_RETIRE = "근로자퇴직급여 보장법 시행령 제2조 and 퇴직연금감독규정: domestic listings only"
_RETIRE_DERIV = (
    "퇴직연금감독규정 제9조 (운용방법): derivative ETFs (leveraged/inverse) are not eligible"
)
_RETIRE_CAP = (
    "근로자퇴직급여 보장법 시행령 제2조·퇴직연금감독규정: risky assets at most 70% of "
    "DC/IRP 적립금, raised from 40% by the 퇴직연금감독규정 amendment the FSC passed on "
    "2015-07-08, in force 2015-07-09 (이투데이 2015-07-08)"
)

#: The rules, oldest first within each (type, rule). ``general`` has no row: it buys anything.
ACCOUNT_RULES: tuple[AccountRule, ...] = (
    AccountRule("isa", "domestic_only", True, dt.date(2016, 3, 14), _ISA),
    AccountRule("pension", "domestic_only", True, dt.date(2001, 1, 1), _PENSION),
    AccountRule("pension", "no_leveraged_inverse", True, dt.date(2021, 1, 1), _PENSION_DERIV),
    AccountRule("irp", "domestic_only", True, dt.date(2005, 12, 1), _RETIRE),
    AccountRule("irp", "no_leveraged_inverse", True, dt.date(2005, 12, 1), _RETIRE_DERIV),
    AccountRule("irp", "risky_cap", 0.40, dt.date(2005, 12, 1), _RETIRE_CAP),
    AccountRule("irp", "risky_cap", 0.70, dt.date(2015, 7, 9), _RETIRE_CAP),
    AccountRule("dc", "domestic_only", True, dt.date(2005, 12, 1), _RETIRE),
    AccountRule("dc", "no_leveraged_inverse", True, dt.date(2005, 12, 1), _RETIRE_DERIV),
    AccountRule("dc", "risky_cap", 0.40, dt.date(2005, 12, 1), _RETIRE_CAP),
    AccountRule("dc", "risky_cap", 0.70, dt.date(2015, 7, 9), _RETIRE_CAP),
)


@dataclass(frozen=True)
class Rules:
    """The rules of one account type on one date (what :func:`rules_for` returns)."""

    domestic_only: bool = False
    no_leveraged_inverse: bool = False
    risky_cap: float | None = None

    def may_buy(self, domestic: bool, asset_class: str) -> bool:
        """Whether an account under these rules may buy a listing of this class."""
        if self.domestic_only and not domestic:
            return False
        return not (self.no_leveraged_inverse and asset_class in ("leveraged", "inverse"))


def rules_for(account: str, as_of: dt.date | None) -> Rules:
    """The rules in force for account type ``account`` on ``as_of``.

    Parameters
    ----------
    account
        A canonical account type (a key of :data:`ACCOUNT_TYPES`).
    as_of
        Plan date; a rule applies from its row's first day. ``None`` takes the
        latest row of each rule.
    """
    found: dict[str, bool | float | None] = {}
    for row in ACCOUNT_RULES:  # oldest first: a later row in force overrides
        if row.account_type == account and (as_of is None or row.start <= as_of):
            found[row.rule] = row.value
    cap = found.get("risky_cap")
    return Rules(
        domestic_only=bool(found.get("domestic_only", False)),
        no_leveraged_inverse=bool(found.get("no_leveraged_inverse", False)),
        risky_cap=None if cap is None or isinstance(cap, bool) else float(cap),
    )


def _fold(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch not in " _-")


_TYPE_LOOKUP = {_fold(a): k for k, names in ACCOUNT_TYPES.items() for a in names}
_CLASS_LOOKUP = {_fold(a): k for k, names in ASSET_CLASSES.items() for a in names}


def account_type(text: str) -> str | None:
    """Canonical account type of a cell's text (``"위탁"`` -> ``"general"``), else ``None``."""
    return _TYPE_LOOKUP.get(_fold(text))


def asset_class(text: str) -> str | None:
    """Canonical asset class of a cell's text (``"채권"`` -> ``"bond"``), else ``None``."""
    return _CLASS_LOOKUP.get(_fold(text))
