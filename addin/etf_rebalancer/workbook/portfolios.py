"""The seed portfolios the shipped templates are built from, as plain data (English and Korean).

Sample prices are illustrative values written by hand on :data:`SAMPLE_DATE`
(the build machine has no network): they let a template work offline and are
marked ``sample`` / ``sample (not live)`` wherever they appear. Press Refresh
in Excel or run ``etf-rebal refresh`` for live quotes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

SAMPLE_DATE = dt.datetime(2026, 11, 20)
# First day of the Backtest sheet's price history (ETF_HISTORY start): about six
# years, from after every seed ETF had listed (360750 on KRX in August 2020).
BACKTEST_START = dt.datetime(2021, 1, 1)
SAMPLE_STATUS = "sample"
SAMPLE_SOURCE = "sample (not live)"


@dataclass(frozen=True)
class Text:
    """One piece of user-facing text in English and Korean."""

    en: str
    ko: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` (``"en"`` or ``"ko"``)."""
        return self.ko if lang == "ko" else self.en


@dataclass(frozen=True)
class Instrument:
    """A listing the templates know: its currency, display names and sample price."""

    ticker: str
    currency: str
    name: Text
    sample_price: float


@dataclass(frozen=True)
class Holding:
    ticker: str
    shares: float
    account: str = ""


@dataclass(frozen=True)
class Target:
    """A target row; weights are fractions (0.25 = 25%).

    ``asset_class`` is the contract's ``Class`` (equity, bond, cash, leveraged,
    inverse; blank: equity), written only by household templates.
    """

    ticker: str
    target: float
    band: float | None = None
    group: str = ""
    min: float | None = None
    max: float | None = None
    asset_class: str = ""


@dataclass(frozen=True)
class Account:
    """A row of a household template's Accounts table (the words as the sheet shows them)."""

    name: str
    type: str
    max_risky: float | None = None


@dataclass(frozen=True)
class GroupCap:
    group: str
    max: float | None
    min: float | None = None


@dataclass(frozen=True)
class Portfolio:
    """A template's content: what goes into each table plus the notes shown beside them.

    ``settings`` holds only contract keys (anything else is an error in
    ``REBAL_ORDERS``); the rebalancing calendar is a note, not a setting.
    """

    slug: str
    title: Text
    description: Text
    holdings: tuple[Holding, ...]
    targets: tuple[Target, ...]
    # (currency, amount) or, in a household template, (currency, amount, account).
    cash: tuple[tuple[str, float] | tuple[str, float, str], ...]
    settings: tuple[tuple[str, object], ...]
    groups: tuple[GroupCap, ...] = ()
    notes: tuple[Text, ...] = ()
    # Currencies whose FX rate the Quotes sheet carries (besides the base currency).
    fx_currencies: tuple[str, ...] = field(default=())
    # The single ETF the Backtest sheet compares the target mix with.
    benchmark: str = "VOO"
    # A CSV in etf_rebalancer/data stored on the Prices sheet instead of the live
    # ETF_HISTORY formula, so the Backtest sheet shows real results offline.
    stored_history: str = ""
    # The same template for Korean users where it differs (the starter: KRW, KODEX 200).
    korean: Portfolio | None = None
    # The Accounts table: non-empty makes the template a household workbook (Accounts
    # sheet, Class and cash Account columns, per-account orders).
    accounts: tuple[Account, ...] = ()

    def for_lang(self, lang: str) -> Portfolio:
        """The portfolio a template in ``lang`` is built from."""
        return self.korean if lang == "ko" and self.korean is not None else self

    def group_caps(self) -> tuple[GroupCap, ...]:
        """The Groups table: the portfolio's caps, then every other group its targets use
        (at 100%, no cap), so the sheet names each group the Targets sheet mentions."""
        listed = {g.group.casefold() for g in self.groups}
        extra: dict[str, GroupCap] = {}
        for t in self.targets:
            if t.group and t.group.casefold() not in listed:
                extra.setdefault(t.group.casefold(), GroupCap(t.group, max=1.0))
        return (*self.groups, *extra.values())

    def cash_rows(self) -> list[tuple[str, float, str]]:
        """The Cash table's rows as (currency, amount, account); account "" when none."""
        return [(row[0], row[1], str(row[2]) if len(row) > 2 else "") for row in self.cash]

    @property
    def base_currency(self) -> str:
        return str(dict(self.settings).get("base_currency", "USD"))

    def tickers(self) -> list[str]:
        """Holdings' and targets' tickers (no cash row), in order of first appearance."""
        seen: dict[str, None] = {}
        for ticker in [h.ticker for h in self.holdings] + [t.ticker for t in self.targets]:
            if ticker.upper() not in ("CASH", "현금"):
                seen.setdefault(ticker, None)
        return list(seen)


INSTRUMENTS: dict[str, Instrument] = {
    i.ticker: i
    for i in (
        Instrument("QQQ", "USD", Text("Invesco QQQ Trust", "인베스코 QQQ (나스닥100)"), 612.40),
        Instrument("VOO", "USD", Text("Vanguard S&P 500 ETF", "뱅가드 S&P500 ETF"), 618.90),
        Instrument(
            "XLK",
            "USD",
            Text("Technology Select Sector SPDR", "테크놀로지 셀렉트 섹터 SPDR"),
            287.30,
        ),
        Instrument(
            "TQQQ", "USD", Text("ProShares UltraPro QQQ (3x)", "프로셰어즈 QQQ 3배"), 104.60
        ),
        Instrument(
            "SOXX", "USD", Text("iShares Semiconductor ETF", "아이셰어즈 반도체 ETF"), 296.80
        ),
        Instrument("ARKK", "USD", Text("ARK Innovation ETF", "ARK 이노베이션 ETF"), 79.20),
        Instrument(
            "SOXL",
            "USD",
            Text("Direxion Daily Semiconductor Bull 3x", "디렉시온 반도체 3배"),
            38.70,
        ),
        Instrument(
            "KARS",
            "USD",
            Text(
                "KraneShares Electric Vehicles & Future Mobility",
                "크레인셰어즈 전기차·미래 모빌리티",
            ),
            34.10,
        ),
        Instrument(
            "XAIX.DE",
            "EUR",
            Text(
                "Xtrackers Artificial Intelligence & Big Data UCITS ETF 1C (Xetra)",
                "엑스트래커 AI & 빅데이터 UCITS ETF 1C (독일 거래소)",
            ),
            148.50,
        ),
        Instrument(
            "SCHD", "USD", Text("Schwab US Dividend Equity ETF", "슈왑 미국 배당주 ETF"), 27.40
        ),
        Instrument(
            "QUAL",
            "USD",
            Text("iShares MSCI USA Quality Factor ETF", "아이셰어즈 퀄리티 팩터"),
            195.40,
        ),
        Instrument(
            "MTUM",
            "USD",
            Text("iShares MSCI USA Momentum Factor ETF", "아이셰어즈 모멘텀 팩터"),
            248.10,
        ),
        Instrument(
            "VLUE", "USD", Text("iShares MSCI USA Value Factor ETF", "아이셰어즈 가치 팩터"), 131.70
        ),
        Instrument(
            "USMV",
            "USD",
            Text("iShares MSCI USA Min Vol Factor ETF", "아이셰어즈 최소변동성 팩터"),
            95.30,
        ),
        Instrument(
            "SIZE",
            "USD",
            Text("iShares MSCI USA Size Factor ETF", "아이셰어즈 사이즈 팩터"),
            158.20,
        ),
        Instrument("069500", "KRW", Text("KODEX 200", "KODEX 200"), 56_350.0),
        Instrument("360750", "KRW", Text("TIGER US S&P500", "TIGER 미국S&P500"), 24_185.0),
        Instrument(
            "114260",
            "KRW",
            Text("KODEX Treasury 3Y", "KODEX 국고채3년"),
            61_240.0,
        ),
    )
}

# Value of one unit of the first currency in the second (layout.QUOTES_HEADER convention).
SAMPLE_FX: dict[tuple[str, str], float] = {
    ("USD", "KRW"): 1_452.30,
    ("EUR", "USD"): 1.1630,
}


def _settings(
    *,
    base_currency: str = "USD",
    mode: str = "full",
    band: float = 0.10,
    min_trade: float = 50.0,
    fee_rate: float = 0.0,
    fx_spread: float = 0.0,
) -> tuple[tuple[str, object], ...]:
    """A seed's Settings rows in the order the sheet lists them: relative bands, whole
    shares, selling allowed and no minimum fee in every seed; the rest varies."""
    return (
        ("base_currency", base_currency),
        ("mode", mode),
        ("buy_only", False),
        ("band_type", "relative"),
        ("band", band),
        ("whole_shares", True),
        ("min_trade", min_trade),
        ("fee_rate", fee_rate),
        ("fee_min", 0.0),
        ("fx_spread", fx_spread),
    )


_QUARTERLY = Text(
    "Rebalance once a quarter (Jan/Apr/Jul/Oct), or whenever an asset leaves its band.",
    "분기마다(1·4·7·10월) 또는 종목이 허용범위를 벗어날 때 리밸런싱합니다.",
)

AI_VALUE_CHAIN = Portfolio(
    slug="ai-value-chain",
    title=Text("Global AI value chain", "글로벌 AI 밸류체인"),
    description=Text(
        "QQQ 50% / European AI ETF 25% / KARS 25%, quarterly, 10% relative bands.",
        "QQQ 50% / 유럽 AI ETF 25% / KARS 25%, 분기 리밸런싱, 상대 허용범위 10%.",
    ),
    holdings=(
        Holding("QQQ", 14, "Brokerage"),
        Holding("XAIX.DE", 22, "Brokerage"),
        Holding("KARS", 95, "Brokerage"),
    ),
    targets=(
        Target("QQQ", 0.50, group="ai"),
        Target("XAIX.DE", 0.25, group="ai"),
        Target("KARS", 0.25, group="ai"),
    ),
    cash=(("USD", 2_500.0),),
    settings=_settings(mode="band"),
    notes=(
        _QUARTERLY,
        Text(
            '"EXAI", a ticker sometimes quoted for this mix, is not an ETF (no fund trades '
            "under that ticker). This template uses a real European AI fund instead: "
            "Xtrackers Artificial Intelligence & Big Data UCITS ETF 1C, Xetra ticker XAIX.DE, "
            "priced in EUR.",
            '이 조합에 흔히 인용되는 "EXAI"는 ETF가 아닙니다(그 티커로 거래되는 펀드가 '
            "없습니다). 이 템플릿은 실제 유럽 AI 펀드인 Xtrackers Artificial Intelligence & "
            "Big Data UCITS ETF 1C (독일 거래소 티커 XAIX.DE, 유로 표시)를 대신 씁니다.",
        ),
        Text(
            "KARS (KraneShares Electric Vehicles & Future Mobility) stands for the "
            "hardware/mobility end of the chain.",
            "KARS(크레인셰어즈 전기차·미래 모빌리티)는 밸류체인의 하드웨어·모빌리티 부분입니다.",
        ),
    ),
    fx_currencies=("EUR",),
    benchmark="QQQ",  # the mix against QQQ alone
)

TECH_CORE = Portfolio(
    slug="tech-core",
    title=Text("Tech core", "테크 코어"),
    description=Text(
        "VOO core with a 15-25% tech sleeve split QQQ 60 / XLK 40; TQQQ capped at 5%.",
        "VOO 중심, 기술주 슬리브 15~25% (QQQ 60 / XLK 40), TQQQ 최대 5%.",
    ),
    holdings=(
        Holding("VOO", 52, "IRA"),
        Holding("QQQ", 9, "IRA"),
        Holding("XLK", 12, "Brokerage"),
        Holding("TQQQ", 30, "Brokerage"),
    ),
    targets=(
        Target("VOO", 0.77, group="core"),
        Target("QQQ", 0.12, group="tech"),
        Target("XLK", 0.08, group="tech"),
        Target("TQQQ", 0.03, group="leveraged", max=0.05),
    ),
    cash=(("USD", 4_000.0),),
    groups=(
        GroupCap("tech", max=0.25, min=0.15),
        GroupCap("leveraged", max=0.05),
    ),
    settings=_settings(band=0.20, min_trade=100.0),
    notes=(
        Text(
            "The tech sleeve is 20% of the portfolio: QQQ 12% + XLK 8% (60/40 inside the "
            "sleeve); the 'tech' group keeps it between 15% and 25%.",
            "기술주 슬리브는 전체의 20%입니다: QQQ 12% + XLK 8% (슬리브 안에서 60/40); "
            "'tech' 그룹 한도가 15~25%로 유지합니다.",
        ),
        Text(
            "TQQQ is a 3x leveraged fund: target 3%, never more than 5% (Max and the "
            "'leveraged' group).",
            "TQQQ는 3배 레버리지 펀드입니다: 목표 3%, 최대 5% (최대 열과 'leveraged' 그룹).",
        ),
        Text("VOO can be swapped for SPY (same index).", "VOO 대신 SPY를 써도 됩니다(같은 지수)."),
    ),
    benchmark="VOO",  # does the tech tilt beat the plain core?
)

TECH_SUBSECTORS = Portfolio(
    slug="tech-subsectors",
    title=Text("Tech sub-sectors", "기술주 세부 섹터"),
    description=Text(
        "QQQ 50 / SOXX 20 / XLK 20 / ARKK 10; SOXX band 15%, ARKK at most 10%, "
        "leveraged funds at most 10%.",
        "QQQ 50 / SOXX 20 / XLK 20 / ARKK 10; SOXX 허용범위 15%, ARKK 최대 10%, "
        "레버리지 합계 최대 10%.",
    ),
    holdings=(
        Holding("QQQ", 7),
        Holding("SOXX", 8),
        Holding("XLK", 5),
        Holding("ARKK", 20),
        Holding("SOXL", 40),
    ),
    targets=(
        Target("QQQ", 0.50, group="core"),
        Target("SOXX", 0.20, band=0.15, group="semis"),
        Target("XLK", 0.20, group="core"),
        Target("ARKK", 0.10, group="thematic", max=0.10),
        Target("SOXL", 0.0, group="leveraged"),
    ),
    cash=(("USD", 1_000.0),),
    groups=(GroupCap("leveraged", max=0.10),),
    settings=_settings(),
    notes=(
        Text(
            "SOXL (3x semiconductors) is an old position with a 0% target: the plan winds it "
            "down. Give a leveraged fund a target and the 'leveraged' group keeps all of them "
            "at 10% or less.",
            "SOXL(반도체 3배)은 목표 0%인 기존 보유분이라 계획이 정리합니다. 레버리지 "
            "펀드에 목표를 주면 'leveraged' 그룹이 합계를 10% 이하로 묶습니다.",
        ),
        Text(
            "SOXX has its own 15% band (semiconductors swing more); the others use the "
            "default 10%.",
            "SOXX는 변동성이 커서 허용범위 15%를 따로 주고, 나머지는 기본 10%를 씁니다.",
        ),
    ),
    benchmark="QQQ",
)


def _korean_investor(lang: str) -> Portfolio:
    """The household template: one account of each Korean kind, named in ``lang``.

    Targets are household weights; each account keeps its own cash. The general
    account is the only one that may buy the US-listed QQQ and SCHD; the ISA,
    the pension account and the IRP hold KRX listings, and the IRP sits just under
    its 70% risky-asset cap (the bond ETF is its safe part).
    """
    ko = lang == "ko"
    korea, us, bond = ("국내", "미국", "채권") if ko else ("korea", "us", "bond")
    general, isa, pension, irp = (
        ("위탁", "ISA", "연금저축", "IRP")
        if ko
        else (
            "Brokerage",
            "ISA",
            "Pension",
            "IRP",
        )
    )
    return Portfolio(
        slug="korean-investor",
        title=Text("Korean investor (KRW base)", "한국 투자자 (원화 기준)"),
        description=Text(
            "KRW base, four accounts: QQQ and SCHD in a general brokerage account; KODEX 200, "
            "TIGER US S&P500 and a government bond ETF in an ISA, a pension account and an "
            "IRP; targets for the household, orders per account.",
            "원화 기준, 네 계좌: 위탁계좌에 QQQ·SCHD, ISA·연금저축·IRP에 KODEX 200, "
            "TIGER 미국S&P500, 국고채 ETF; 목표 비중은 가구 전체, 주문은 계좌별.",
        ),
        holdings=(
            Holding("QQQ", 4, general),
            Holding("SCHD", 60, general),
            Holding("069500", 40, isa),
            Holding("360750", 100, isa),
            Holding("360750", 150, pension),
            Holding("114260", 20, pension),
            Holding("069500", 10, irp),
            Holding("360750", 120, irp),
            Holding("114260", 25, irp),
        ),
        targets=(
            Target("069500", 0.20, group=korea),
            Target("360750", 0.30, group=us),
            Target("QQQ", 0.20, group=us),
            Target("SCHD", 0.10, group=us),
            Target("114260", 0.20, group=bond, asset_class="채권" if ko else "bond"),
        ),
        cash=(
            ("USD", 1_200.0, general),
            ("KRW", 500_000.0, general),
            ("KRW", 2_000_000.0, isa),
            ("KRW", 1_500_000.0, pension),
            ("KRW", 300_000.0, irp),
        ),
        accounts=(
            Account(general, "일반" if ko else "general"),
            Account(isa, "ISA" if ko else "isa"),
            Account(pension, "연금저축" if ko else "pension"),
            Account(irp, "IRP" if ko else "irp"),
        ),
        groups=(GroupCap(us, max=0.70),),
        settings=_settings(
            base_currency="KRW", min_trade=100_000.0, fee_rate=0.00015, fx_spread=0.001
        ),
        notes=(
            Text(
                "Korean codes (069500, 360750, 114260) are typed as text so their leading zero "
                "stays; they resolve to the .KS listing.",
                "국내 종목코드(069500, 360750, 114260)는 앞자리 0이 지워지지 않도록 텍스트로 "
                "입력합니다.",
            ),
            Text(
                "Targets are for the whole household; the Accounts sheet says what each "
                "account may buy. Only the general account (Brokerage) may buy US-listed ETFs "
                "such as QQQ and SCHD; the ISA, Pension and IRP buy KRX listings.",
                "목표 비중은 가구 전체 기준이고, 계좌 시트가 계좌마다 살 수 있는 것을 "
                "정합니다. QQQ·SCHD 같은 미국 상장 ETF는 위탁계좌에서만 살 수 있고, ISA·"
                "연금저축·IRP는 국내 상장 종목만 삽니다.",
            ),
            Text(
                "Class marks the bond ETF as bond: in the IRP everything but bond and cash "
                "classes counts as risky and stays at or under 70% of the account.",
                "자산군 열이 국고채 ETF를 채권으로 표시합니다: IRP에서는 채권·현금성 외 "
                "전부가 위험자산이며 계좌의 70% 이하로 유지됩니다.",
            ),
            Text(
                "Cash never moves between accounts: each account buys with its own cash "
                "(Cash sheet, Account column); USD is converted to KRW at the Quotes sheet's "
                "rate (or live).",
                "예수금은 계좌 사이에서 옮겨지지 않습니다: 계좌마다 자기 예수금으로 "
                "삽니다(현금 시트의 계좌 열). 달러는 시세 시트(또는 실시간)의 USD/KRW "
                "환율로 원화 환산합니다.",
            ),
        ),
        fx_currencies=("USD",),
        benchmark="069500",  # KODEX 200: what a Korean investor's mix is measured against
    )


KOREAN_INVESTOR = replace(_korean_investor("en"), korean=_korean_investor("ko"))

FACTOR_MIX = Portfolio(
    slug="us-factor-mix",
    title=Text("US factor mix", "미국 팩터 믹스"),
    description=Text(
        "QUAL / MTUM / VLUE / USMV 25% each, 15% relative bands; the Backtest sheet compares "
        "the mix with SIZE on stored 2014-2022 closes, so it works offline.",
        "QUAL / MTUM / VLUE / USMV 각 25%, 상대 허용범위 15%; 백테스트 시트는 저장된 "
        "2014~2022년 종가로 SIZE와 비교하므로 오프라인에서도 동작합니다.",
    ),
    holdings=(
        Holding("QUAL", 12, "Brokerage"),
        Holding("MTUM", 8, "Brokerage"),
        Holding("VLUE", 16, "Brokerage"),
        Holding("USMV", 20, "Brokerage"),
    ),
    targets=(
        Target("QUAL", 0.25, group="factor"),
        Target("MTUM", 0.25, group="factor"),
        Target("VLUE", 0.25, group="factor"),
        Target("USMV", 0.25, group="factor"),
    ),
    cash=(("USD", 1_500.0),),
    settings=_settings(mode="band", band=0.15),
    notes=(
        Text(
            "Four iShares MSCI USA factor funds in equal parts: quality, momentum, value and "
            "minimum volatility. SIZE (the same universe, risk-weighted) is the benchmark.",
            "아이셰어즈 MSCI USA 팩터 펀드 네 개를 같은 비중으로: 퀄리티, 모멘텀, 가치, "
            "최소변동성. 같은 종목군을 위험가중한 SIZE가 벤치마크입니다.",
        ),
        Text(
            "The Prices sheet stores real adjusted closes from 2014-01-02 to 2022-12-28 "
            "(skfolio's factors dataset, BSD-3-Clause) instead of a live ETF_HISTORY formula.",
            "가격이력 시트에는 실시간 ETF_HISTORY 수식 대신 2014-01-02~2022-12-28의 실제 "
            "수정종가(skfolio factors 데이터셋, BSD-3-Clause)가 저장되어 있습니다.",
        ),
    ),
    benchmark="SIZE",
    stored_history="us_factor_etfs_2014_2022.csv",
)

_STARTER_NOTE = Text(
    "The first row of each table is an example: overwrite it with your own.",
    "각 표의 첫 행은 예시입니다: 내 종목으로 바꿔 쓰세요.",
)

STARTER = Portfolio(
    slug="starter",
    title=Text("Blank starter", "빈 템플릿"),
    description=Text(
        "One example row per table: type your holdings and targets over it.",
        "표마다 예시 한 행: 그 위에 보유 종목과 목표 비중을 입력하세요.",
    ),
    holdings=(Holding("VOO", 10, "Brokerage"),),
    targets=(Target("VOO", 1.0, group="core"),),
    cash=(("USD", 1_000.0),),
    settings=_settings(min_trade=0.0),
    notes=(_STARTER_NOTE,),
    korean=Portfolio(
        slug="starter",
        title=Text("Blank starter", "빈 템플릿"),
        description=Text(
            "One example row per table: type your holdings and targets over it.",
            "표마다 예시 한 행: 그 위에 보유 종목과 목표 비중을 입력하세요.",
        ),
        holdings=(Holding("069500", 10, "ISA"),),
        targets=(Target("069500", 1.0, group="korea"),),
        cash=(("KRW", 1_000_000.0),),
        settings=_settings(base_currency="KRW", min_trade=0.0),
        notes=(_STARTER_NOTE,),
        benchmark="069500",
    ),
)

PORTFOLIOS: tuple[Portfolio, ...] = (
    AI_VALUE_CHAIN,
    TECH_CORE,
    TECH_SUBSECTORS,
    KOREAN_INVESTOR,
    FACTOR_MIX,
    STARTER,
)


def stored_history_rows(portfolio: Portfolio) -> list[list[object]]:
    """The stored price table of a portfolio (``Date``, then its CSV's columns); [] if none."""
    if not portfolio.stored_history:
        return []
    import csv
    import io
    from importlib import resources

    source = resources.files("etf_rebalancer").joinpath("data", portfolio.stored_history)
    with io.StringIO(source.read_text(encoding="utf-8"), newline="") as handle:
        reader = csv.reader(handle)
        rows: list[list[object]] = [list(next(reader))]
        for line in reader:
            day = dt.datetime.strptime(line[0], "%Y-%m-%d")
            rows.append([day, *(float(v) if v else None for v in line[1:])])
    return rows


def template_filename(portfolio: Portfolio, lang: str) -> str:
    """File name of a shipped template, e.g. ``tech-core_en.xlsx``."""
    return f"{portfolio.slug}_{lang}.xlsx"
