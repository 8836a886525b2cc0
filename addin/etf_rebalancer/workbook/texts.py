"""Every text the template sheets show, in English and Korean (help, notes, labels, hints).

The sheet writers take their words from here; nothing here writes cells. Texts
that depend on the portfolio (its base currency, its codes) are functions of it,
so a USD template never carries a sentence meant for a KRW investor.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from etf_rebalancer.workbook import layout
from etf_rebalancer.workbook.portfolios import (
    SAMPLE_DATE,
    Portfolio,
    Text,
    stored_history_rows,
)

try:  # the package root imports the Excel layer: read the installed version instead
    __version__ = version("etf-rebalancer")
except PackageNotFoundError:  # pragma: no cover - a bare source tree
    __version__ = "0+unknown"

SETTING_HELP: dict[str, Text] = {
    "base_currency": Text(
        "Currency every value is measured in (USD, KRW, EUR...)",
        "모든 금액을 환산하는 기준 통화 (USD, KRW, EUR...)",
    ),
    "mode": Text(
        "full: trade to target; band: trade only as far as needed to get inside the bands",
        "full: 목표비중까지 매매; band: 허용범위 안으로 들어올 만큼만 매매",
    ),
    "buy_only": Text("TRUE: never sell, only invest cash", "TRUE: 매도 없이 현금으로 매수만"),
    "band_type": Text(
        "relative: 10% of a 20% target is 18-22%; absolute: percentage points",
        "relative: 목표 20%의 10%는 18~22%; absolute: %포인트",
    ),
    "band": Text("Default band for assets without their own", "종목별 허용범위가 없을 때의 기본값"),
    "whole_shares": Text("TRUE: whole shares only", "TRUE: 정수 주식만 거래"),
    "min_trade": Text(
        "Skip orders smaller than this (base currency)", "이보다 작은 주문은 생략 (기준 통화)"
    ),
    "fee_rate": Text("Commission as a fraction of the amount", "수수료율 (거래금액 대비)"),
    "fee_min": Text("Minimum commission per order (base currency)", "주문당 최소 수수료"),
    "fx_spread": Text(
        "Cost of converting currency, as a fraction", "환전 스프레드 (거래금액 대비)"
    ),
}

VALIDATION_LISTS: dict[str, list[str]] = {
    "mode": ["full", "band"],
    "band_type": ["relative", "absolute"],
    "buy_only": ["TRUE", "FALSE"],
    "whole_shares": ["TRUE", "FALSE"],
    "base_currency": ["USD", "KRW", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "HKD"],
}
CURRENCIES = VALIDATION_LISTS["base_currency"]

# Band statuses the Holdings sheet computes (as REBAL_DRIFT says them).
STATUS: dict[str, Text] = {
    "ok": Text("OK", "적정"),
    "over": Text("OVER", "초과"),
    "under": Text("UNDER", "미달"),
}

LABELS: dict[str, Text] = {
    "orders": Text("Orders", "주문"),
    "summary": Text("Summary", "요약"),
    "drift": Text("Drift", "비중 이탈"),
    "name": Text("Name", "종목명"),
    "plan_hint": Text(
        "Formulas =REBAL_ORDERS / =REBAL_SUMMARY / =REBAL_DRIFT over the input tables (Excel "
        "for Windows with the add-in). Names come from the Holdings sheet; red drift rows are "
        "outside their band. Without the add-in see the Holdings sheet's own weights.",
        "입력 표를 참조하는 =REBAL_ORDERS / =REBAL_SUMMARY / =REBAL_DRIFT 수식입니다(추가 기능이 "
        "설치된 Windows용 엑셀). 종목명은 보유종목 시트에서 가져오며 빨간 행은 허용범위를 벗어난 "
        "종목입니다. 추가 기능이 없으면 보유종목 시트의 비중을 보세요.",
    ),
    "as_of": Text("Prices as of", "가격 기준 시각"),
    "chart": Text("Current vs target weight", "현재 비중 vs 목표 비중"),
    "weight": Text("Current", "현재"),
    "target": Text("Target", "목표"),
    "sample_note": Text(
        f"SAMPLE PRICES, NOT LIVE: illustrative values written on {SAMPLE_DATE:%Y-%m-%d} so the "
        "workbook works offline. Press Refresh (ETF Rebalancer ribbon) or run "
        "`etf-rebal refresh FILE` for live quotes.",
        f"샘플 가격(실시간 아님): 오프라인에서도 동작하도록 {SAMPLE_DATE:%Y-%m-%d}에 적어 둔 "
        "예시 값입니다. 리본의 새로고침 또는 `etf-rebal refresh 파일` 로 실시간 시세를 받으세요.",
    ),
    "price_note": Text(
        "Orange price = ETF_PRICE had no number (add-in missing, offline, unknown ticker) and "
        "the Quotes sheet price was used: check its Time and Status.",
        "주황색 가격 = ETF_PRICE 값이 없어(추가 기능 없음, 오프라인, 알 수 없는 티커) 시세 "
        "시트 가격을 썼다는 뜻입니다: 시각과 상태를 확인하세요.",
    ),
    "computed_note": Text(
        "Grey columns are plain Excel (no add-in needed): value in the base currency at the "
        "Quotes sheet's FX rates, weight of the whole portfolio (holdings and cash), the "
        "target, drift and whether it is inside its band.",
        "회색 열은 추가 기능 없이 엑셀이 계산합니다: 시세 시트 환율로 환산한 기준 통화 평가액, "
        "전체(보유종목+현금) 대비 비중, 목표, 이탈, 허용범위 안인지 여부.",
    ),
    "notes": Text("Notes", "메모"),
    "base_currency": Text("Base currency", "기준 통화"),
    "default_band": Text("Default band", "기본 허용범위"),
    "band_type": Text("Band type", "허용범위 방식"),
    "holdings_value": Text("Holdings", "보유종목 평가액"),
    "cash_value": Text("Cash", "현금"),
    "total_value": Text("Total", "합계"),
    "targets_total": Text("Targets total", "목표비중 합계"),
    "targets_total_ok": Text("OK", "적정"),
    "targets_total_bad": Text("must be 100%", "100%여야 합니다"),
    "no_price": Text("no price", "가격 없음"),
    "groups_note": Text(
        "Every group the Targets sheet uses has a row; Max 100% means no cap.",
        "목표비중 시트의 모든 그룹이 한 행씩 있습니다; 최대 100%는 한도 없음입니다.",
    ),
    # What every add-in formula shows without the add-in (the Start sheet explains).
    "addin_missing": Text("add-in not loaded", "추가 기능 없음"),
    # Household templates (an Accounts sheet).
    "household_weight_note": Text(
        "Weight now, Target and Drift are the ticker's household weight: the sum over "
        "every account holding it (targets are for the whole household).",
        "현재비중·목표·이탈은 종목의 가구 전체 비중입니다: 그 종목을 가진 모든 계좌의 "
        "합계 (목표 비중은 가구 전체 기준).",
    ),
    "class_note": Text(
        "Class (equity, bond, cash, leveraged, inverse; blank = equity) is what the account "
        "rules read: pension accounts, IRP and DC may not buy leveraged or inverse funds, "
        "and in IRP/DC everything but bond and cash counts as risky.",
        "자산군(주식, 채권, 현금성, 레버리지, 인버스; 빈칸 = 주식)은 계좌 규칙이 읽는 "
        "값입니다: 연금저축·IRP·DC는 레버리지·인버스를 살 수 없고, IRP·DC에서는 채권·"
        "현금성 외 전부가 위험자산입니다.",
    ),
    "cash_account_note": Text(
        "One row per account and currency. Cash never moves between accounts: each account "
        "buys only with its own cash (currency conversion inside an account costs "
        "fx_spread).",
        "계좌와 통화마다 한 행입니다. 예수금은 계좌 사이에서 옮겨지지 않습니다: 계좌는 "
        "자기 예수금으로만 삽니다 (계좌 안의 환전에는 fx_spread 비용이 듭니다).",
    ),
}

# Account types as the Accounts sheet's Type list offers them (the contract's words),
# and the targets' Class list: the words the readers accept (engine/account_rules.py).
ACCOUNT_TYPE_LISTS: dict[str, list[str]] = {
    "en": ["general", "isa", "pension", "irp", "dc"],
    "ko": ["일반", "위탁", "ISA", "연금저축", "IRP", "DC"],
}
CLASS_LISTS: dict[str, list[str]] = {
    "en": ["equity", "bond", "cash", "leveraged", "inverse"],
    "ko": ["주식", "채권", "현금성", "레버리지", "인버스"],
}
# The Accounts sheet's notes: one per type, then what applies to all.
ACCOUNT_NOTES: tuple[Text, ...] = (
    Text(
        "general (일반/위탁): buys anything, including US-listed ETFs; the only account "
        "that holds foreign cash in practice.",
        "일반(위탁): 미국 상장 ETF를 포함해 무엇이든 살 수 있습니다; 외화 예수금을 두는 "
        "계좌입니다.",
    ),
    Text(
        "isa: buys domestic (KRX) listings only.",
        "ISA: 국내(KRX) 상장 종목만 살 수 있습니다.",
    ),
    Text(
        "pension (연금저축): domestic listings only, no leveraged or inverse funds.",
        "연금저축: 국내 상장 종목만, 레버리지·인버스 제외.",
    ),
    Text(
        "irp, dc (퇴직연금): as pension, and risky assets (every class but bond and cash) "
        "at most 70% of the account after trades.",
        "IRP, DC(퇴직연금): 연금저축과 같고, 위험자산(채권·현금성 외 전부)은 거래 후 "
        "계좌의 70% 이하.",
    ),
    Text(
        "Max Risky (optional) replaces the 70% cap of an IRP/DC, or caps any other account; "
        "blank keeps the legal cap.",
        "위험자산한도(선택)는 IRP/DC의 70% 한도를 바꾸거나 다른 계좌에도 한도를 줍니다; "
        "빈칸이면 법정 한도를 씁니다.",
    ),
    Text(
        "An asset an account may not buy can still be held there and sold, never bought; "
        "the plan's summary says which and where. An account named in Holdings or Cash must "
        "have a row here.",
        "계좌가 살 수 없는 종목도 보유·매도는 할 수 있고 매수만 안 됩니다; 요약이 어떤 "
        "종목이 어디서 그런지 알려 줍니다. 보유종목·현금 시트의 계좌는 모두 여기에 "
        "있어야 합니다.",
    ),
    Text(
        "Domestic means a KRX code (069500, 360750): a KRX-listed ETF on a US index is "
        "domestic. Rules and sources: docs/ACCOUNTS.md.",
        "국내 상장은 KRX 종목코드(069500, 360750)를 뜻합니다: 미국 지수를 따르는 국내 "
        "상장 ETF도 국내입니다. 규칙과 근거: docs/ACCOUNTS.md.",
    ),
)


def _has_krx(portfolio: Portfolio) -> bool:
    return any(t.isdigit() for t in portfolio.tickers())


def help_lines(portfolio: Portfolio, lang: str) -> list[tuple[str, str]]:
    """The How-to sheet as (style, text) lines; style is title, heading or text."""
    s = layout.sheet_name
    base = portfolio.base_currency
    history_en = history_ko = "ETF_HISTORY"
    if stored := stored_history_rows(portfolio):
        first, last = stored[1][0].year, stored[-1][0].year  # type: ignore[attr-defined]
        history_en, history_ko = f"stored closes, {first}-{last}", f"저장된 {first}~{last}년 종가"
    codes_en = " Korean codes such as 069500 are typed as text." if _has_krx(portfolio) else ""
    codes_ko = " 069500 같은 국내 종목코드는 텍스트로 입력합니다." if _has_krx(portfolio) else ""
    en = [
        ("title", f"{portfolio.title.en}: how to use this workbook"),
        ("text", portfolio.description.en),
        *(("text", n.en) for n in portfolio.notes),
        ("heading", "Steps"),
        (
            "text",
            f"1. {s('holdings')}: one row per ETF you own: ticker, shares, account.{codes_en} "
            "Price fills itself (below); the grey columns show value, weight and drift.",
        ),
        (
            "text",
            f"2. {s('targets')}: target weight per ticker (must add up to 100%); "
            "optional Band (e.g. 10%), Group, Min and Max. A CASH row targets a cash weight.",
        ),
        ("text", f"3. {s('groups')}: caps on groups of assets, e.g. leveraged at most 10%."),
        ("text", f"4. {s('cash')}: cash per currency to invest (negative = money to raise)."),
        (
            "text",
            f"5. {s('settings')}: base currency ({base} here), mode (full/band), "
            "buy_only, bands, whole shares, minimum trade, fees. Dropdowns list the choices.",
        ),
        (
            "text",
            f"6. {s('plan')}: the orders to place (REBAL_ORDERS), a summary with cash, "
            "fees and warnings (REBAL_SUMMARY) and the drift of every asset (REBAL_DRIFT).",
        ),
        (
            "text",
            f"7. {s('backtest')}: the target mix against one ETF ({portfolio.benchmark} here) "
            f"over daily history on the {s('prices')} sheet ({history_en}): return, CAGR, "
            "volatility, drawdown, correlation and a chart. Change its calendar, band, fees "
            "and benchmark in its own settings table.",
        ),
        ("heading", "Prices: live and offline"),
        (
            "text",
            "The Price column is =ETF_PRICE(ticker) when the add-in has a price, otherwise "
            f"the price on the {s('quotes')} sheet (orange). Without the add-in the "
            f"{s('holdings')} sheet still computes value, weight, drift and band status from "
            f"those prices; the {s('plan')} and {s('backtest')} formulas then say "
            '"add-in not loaded" until it is installed.',
        ),
        ("text", LABELS["sample_note"].en),
        ("heading", "Command line"),
        ("text", "etf-rebal plan FILE --offline   prints the same plan from the Quotes sheet"),
        ("text", "etf-rebal plan FILE             fetches live quotes first"),
        ("text", "etf-rebal refresh FILE          writes live quotes into FILE.refreshed.xlsx"),
        ("text", "etf-rebal backtest FILE         prints the Backtest sheet's results"),
        ("heading", "Not investment advice"),
        ("text", "The workbook computes orders from your inputs; check them before trading."),
    ]
    ko = [
        ("title", f"{portfolio.title.ko}: 사용 방법"),
        ("text", portfolio.description.ko),
        *(("text", n.ko) for n in portfolio.notes),
        ("heading", "순서"),
        (
            "text",
            f"1. {s('holdings', 'ko')}: 보유한 ETF를 한 행씩: 티커, 수량, 계좌.{codes_ko} "
            "현재가는 자동으로 채워지고(아래) 회색 열에 평가액, 비중, 이탈이 나타납니다.",
        ),
        (
            "text",
            f"2. {s('targets', 'ko')}: 종목별 목표비중(합계 100%); 선택으로 허용범위(예: 10%), "
            "그룹, 최소, 최대. 현금 행은 현금 목표비중입니다.",
        ),
        ("text", f"3. {s('groups', 'ko')}: 종목 묶음의 한도, 예: 레버리지 합계 최대 10%."),
        ("text", f"4. {s('cash', 'ko')}: 통화별 투자할 현금(음수 = 마련할 금액)."),
        (
            "text",
            f"5. {s('settings', 'ko')}: 기준 통화(여기서는 {base}), 방식(full/band), "
            "매수만, 허용범위, 정수 주식, 최소 거래금액, 수수료. 목록에서 고를 수 있습니다.",
        ),
        (
            "text",
            f"6. {s('plan', 'ko')}: 낼 주문(REBAL_ORDERS), 현금·수수료·경고 요약"
            "(REBAL_SUMMARY), 종목별 비중 이탈(REBAL_DRIFT).",
        ),
        (
            "text",
            f"7. {s('backtest', 'ko')}: 목표 비중을 ETF 하나(여기서는 {portfolio.benchmark})와 "
            f"{s('prices', 'ko')} 시트의 일별 가격이력({history_ko})으로 비교: 수익률, CAGR, "
            "변동성, 낙폭, 상관계수와 차트. 달력, 허용범위, 수수료, 벤치마크는 그 시트의 "
            "설정 표에서 바꿉니다.",
        ),
        ("heading", "가격: 실시간과 오프라인"),
        (
            "text",
            "현재가 열은 추가 기능이 가격을 주면 =ETF_PRICE(티커), 아니면 "
            f"{s('quotes', 'ko')} 시트의 가격(주황색)입니다. 추가 기능이 없어도 "
            f"{s('holdings', 'ko')} 시트가 그 가격으로 평가액, 비중, 이탈, 허용범위 상태를 "
            f"계산하며, {s('plan', 'ko')}·{s('backtest', 'ko')} 수식은 설치 전까지 "
            '"추가 기능 없음"이라고 표시합니다.',
        ),
        ("text", LABELS["sample_note"].ko),
        ("heading", "명령줄"),
        ("text", "etf-rebal plan 파일 --offline   시세 시트로 같은 계획을 출력"),
        ("text", "etf-rebal plan 파일             실시간 시세를 먼저 받음"),
        ("text", "etf-rebal refresh 파일          실시간 시세를 파일.refreshed.xlsx 에 기록"),
        ("text", "etf-rebal backtest 파일         백테스트 시트의 결과를 출력"),
        ("heading", "투자 권유가 아닙니다"),
        ("text", "입력한 값으로 주문을 계산할 뿐입니다; 거래 전에 확인하세요."),
    ]
    return ko if lang == "ko" else en


START: dict[str, Text] = {
    "title": Text("ETF Rebalancer", "ETF 리밸런서"),
    "what": Text("What this workbook does", "이 통합 문서가 하는 일"),
    "what1": Text(
        "Turns your holdings and target weights into whole-share buy and sell orders.",
        "보유 종목과 목표 비중으로 정수 주식 단위의 매수·매도 주문을 계산합니다.",
    ),
    "what2": Text(
        "Shows value, weight and drift per holding, the cash and fees of the plan, and a "
        "backtest of the target mix against a benchmark.",
        "종목별 평가액·비중·이탈, 계획의 현금과 수수료, 목표 비중과 벤치마크의 백테스트를 "
        "보여 줍니다.",
    ),
    "status": Text("Add-in status", "추가 기능 상태"),
    "loaded": Text("Loaded, version ", "로드됨, 버전 "),
    "not_loaded": Text(
        "Not loaded: install it (steps below) or use the Holdings sheet's own weights",
        "로드되지 않음: 아래 순서로 설치하거나 보유종목 시트의 비중을 보세요",
    ),
    "missing_label": Text("Formulas without it say", "추가 기능이 없을 때 수식 표시"),
    "requirements": Text("Requirements", "필요 환경"),
    "req1": Text(
        "Excel 365 or Excel 2021 (spilled tables; older Excel shows only the first cell).",
        "엑셀 365 또는 엑셀 2021 (동적 배열; 이전 버전은 첫 셀만 보입니다).",
    ),
    "req2": Text(
        "Cell functions (=REBAL_ORDERS...): Excel for Windows with the add-in and Python 3.11+.",
        "셀 함수(=REBAL_ORDERS...): 추가 기능과 Python 3.11 이상이 설치된 Windows용 엑셀.",
    ),
    "req3": Text(
        "Mac and Excel on the web: use this template's Lite edition (workbook_templates/lite/, "
        "free xlwings Lite add-in; its code travels in the file, prices from the Quotes sheet). "
        "Else the Refresh button writes the plan as values; `etf-rebal plan FILE` prints it.",
        "Mac과 웹용 엑셀: 이 템플릿의 Lite 판(workbook_templates/lite/, 무료 xlwings Lite 추가 "
        "기능; 코드가 파일 안에 있고 가격은 시세 시트에서)을 쓰세요. 아니면 새로고침 버튼이 "
        "계획을 값으로 기록하고, `etf-rebal plan 파일` 이 계획을 출력합니다.",
    ),
    "install": Text("Install (once)", "설치 (한 번)"),
    "install1": Text(
        "1. In a terminal, in the project folder: python -m pip install .   then   "
        "etf-rebal addin install",
        "1. 터미널의 프로젝트 폴더에서: python -m pip install .   다음   etf-rebal addin install",
    ),
    "install2": Text(
        "2. Restart Excel and press Refresh on the ETF Rebalancer tab: it registers the "
        "functions the first time.",
        "2. 엑셀을 다시 시작하고 ETF Rebalancer 탭의 새로고침을 누르면 처음 한 번 함수를 "
        "등록합니다.",
    ),
    "install3": Text(
        "3. If Excel refuses: File > Options > Trust Center > Trust Center Settings > Macro "
        'Settings > tick "Trust access to the VBA project object model", then Refresh again.',
        "3. 엑셀이 거부하면: 파일 > 옵션 > 보안 센터 > 보안 센터 설정 > 매크로 설정 > "
        '"VBA 프로젝트 개체 모델에 안전하게 액세스할 수 있음"을 선택하고 다시 새로고침.',
    ),
    "edit": Text("What to edit, in this order", "입력 순서"),
    "legend": Text("Colours", "색 구분"),
    "legend_input": Text("you type here", "직접 입력"),
    "legend_computed": Text("computed by the workbook", "통합 문서가 계산"),
    "legend_fallback": Text(
        "price from the Quotes sheet, not live", "시세 시트의 가격 (실시간 아님)"
    ),
    "sheets": Text("All sheets", "모든 시트"),
    "sharing": Text("Sharing this file", "파일 공유"),
    "sharing1": Text(
        "A file saved by Excel keeps its last results: whoever opens it sees the sender's plan "
        "(Plan sheet, prices dated in its top row) until Excel recalculates. Without the "
        'add-in a recalculation shows "add-in not loaded" in the Plan and Backtest sheets; the '
        "Holdings sheet keeps computing.",
        "엑셀로 저장한 파일은 마지막 결과를 간직합니다: 받은 사람은 엑셀이 다시 계산하기 전까지 "
        "보낸 사람의 계획(주문 시트, 맨 위에 가격 기준 시각)을 봅니다. 추가 기능 없이 다시 "
        '계산하면 주문·백테스트 시트는 "추가 기능 없음"을 표시하고 보유종목 시트는 계속 '
        "계산합니다.",
    ),
    "built": Text(
        f"Template built by ETF Rebalancer {__version__}; sample prices of {SAMPLE_DATE:%Y-%m-%d}.",
        f"ETF Rebalancer {__version__} 로 만든 템플릿; 샘플 가격 기준일 {SAMPLE_DATE:%Y-%m-%d}.",
    ),
}

# (canonical sheet, what to do there), in the order the Start sheet lists them.
SHEET_STEPS: tuple[tuple[str, Text], ...] = (
    ("holdings", Text("your ETFs: ticker, shares, account", "보유 ETF: 티커, 수량, 계좌")),
    ("targets", Text("target weight per ticker (total 100%)", "종목별 목표비중 (합계 100%)")),
    ("groups", Text("caps on groups of assets", "종목 묶음의 한도")),
    ("cash", Text("cash per currency to invest", "통화별 투자할 현금")),
    ("settings", Text("base currency, mode, bands, fees", "기준 통화, 방식, 허용범위, 수수료")),
    ("plan", Text("read the orders, summary and drift", "주문, 요약, 이탈 확인")),
    ("backtest", Text("the target mix against a benchmark", "목표 비중과 벤치마크 비교")),
)
# The step a household template adds after the cash one.
ACCOUNTS_STEP = (
    "accounts",
    Text(
        "each account's type (general, ISA, pension, IRP)", "계좌별 유형 (위탁, ISA, 연금저축, IRP)"
    ),
)
OTHER_SHEETS: tuple[tuple[str, Text], ...] = (
    ("prices", Text("daily price history for the backtest", "백테스트용 일별 가격이력")),
    ("quotes", Text("prices used without the add-in", "추가 기능이 없을 때 쓰는 가격")),
    ("help", Text("how to use, command line", "사용 방법, 명령줄")),
)
