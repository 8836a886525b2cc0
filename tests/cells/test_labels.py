"""The one bilingual label table: localize_rows, the Bilingual place texts, detect_language."""

from __future__ import annotations

import pickle

import pytest

from etf_rebalancer.cells import ALIASES, detect_language, normalise_header
from etf_rebalancer.cells import labels as lab
from etf_rebalancer.cells.headers import _ALIAS_LOOKUP
from etf_rebalancer.errors import InputError

ORDERS = [
    list(lab.ORDER_HEADER),
    ["TQQQ", "SELL", 3.0, 80.0, "USD", 240.0, 240.0, 0.3, 0.1, 0.1],
    ["QQQ", "BUY", 1.0, 500.0, "USD", 500.0, 500.0, 0.5, 0.6, 0.6],
]
DRIFT = [
    list(lab.DRIFT_HEADER),
    ["QQQ", 500.0, 0.5, 0.6, -0.1, 0.06, "UNDER"],
    ["TQQQ", 240.0, 0.3, 0.1, 0.2, 0.01, "OVER"],
    ["CASH", 260.0, 0.2, 0.3, -0.1, 0.03, "OK"],
]


@pytest.mark.parametrize("kind", lab.TABLE_KINDS)
def test_english_is_the_canonical_rows_unchanged(kind):
    rows = ORDERS if kind == "orders" else DRIFT
    out = lab.localize_rows(kind, rows, "en")
    assert out == rows and out is not rows and out[0] is not rows[0]


def test_orders_and_drift_in_korean_leave_the_input_alone():
    before = [list(r) for r in ORDERS]
    ko = lab.localize_rows("orders", ORDERS, "ko")
    assert before == ORDERS
    assert [r[1] for r in ko[1:]] == ["매도", "매수"]
    assert [r[0] for r in ko[1:]] == ["TQQQ", "QQQ"]
    drift = lab.localize_rows("drift", DRIFT, "ko")
    assert [r[6] for r in drift[1:]] == ["미달", "초과", "적정"]
    assert drift[-1][0] == "현금"


def test_added_columns_keep_their_place():
    # An Account (or Name) column appended by the plan is translated where it stands.
    rows = [[*lab.ORDER_HEADER, "Account"], [*ORDERS[1], "ISA"]]
    ko = lab.localize_rows("orders", rows, "ko")
    assert ko[0][-1] == "계좌" and ko[1][-1] == "ISA" and ko[1][1] == "매도"


def test_an_error_cell_passes_through():
    for kind in lab.TABLE_KINDS:
        assert lab.localize_rows(kind, [["Error: x"]], "ko") == [["Error: x"]]


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown table kind"):
        lab.localize_rows("nope", ORDERS, "ko")


def test_every_output_header_has_a_korean_label():
    for header in (*lab.ORDER_HEADER, *lab.DRIFT_HEADER, "Account", "Name", "Date", "Portfolio"):
        assert lab.HEADER_LABELS[header] != header
    assert len(set(lab.localize_rows("orders", [lab.ORDER_HEADER], "ko")[0])) == len(
        lab.ORDER_HEADER
    )
    assert len(set(lab.localize_rows("drift", [lab.DRIFT_HEADER], "ko")[0])) == len(
        lab.DRIFT_HEADER
    )


def test_korean_headers_never_read_back_as_another_column():
    # Pasted back as an input, a Korean header is read as the same column as its English
    # header, or as none: never as a different one.
    for english, korean in lab.HEADER_LABELS.items():
        en = _ALIAS_LOOKUP.get(normalise_header(english))
        ko = _ALIAS_LOOKUP.get(normalise_header(korean))
        assert ko is None or ko == en, (english, korean, en, ko)
    for header in ("Ticker", "Shares", "Price", "Currency", "Amount", "Target", "Band", "Date"):
        assert normalise_header(lab.HEADER_LABELS[header]) in {
            normalise_header(a) for a in ALIASES[_ALIAS_LOOKUP[normalise_header(header)]]
        }


def test_summary_values_and_header():
    rows = [
        ["Item", "Value"],
        ["Mode", "band (buy only)"],
        ["Mode", "full (매수만)"],
        ["Mode", "full"],
        ["Fees", 1.5],
        ["Warning", "full shares"],
    ]
    ko = lab.localize_rows("summary", rows, "ko")
    assert ko[0] == ["항목", "값"]
    assert [r[1] for r in ko[1:]] == ["밴드 (매수만)", "전체 (매수만)", "전체", 1.5, "full shares"]


def test_metrics_in_korean():
    rows = [["Metric", "Value"], ["Total Return", 0.1], ["Sharpe", 1.0], ["Notice", "x"]]
    assert lab.localize_rows("stats", rows, "ko") == [
        ["지표", "값"],
        ["총수익률", 0.1],
        ["샤프지수", 1.0],
        ["알림", "x"],
    ]


def test_history_and_correlation_translate_only_the_corner():
    assert lab.localize_rows("history", [["Date", "QQQ"], [1, 2]], "ko") == [
        ["날짜", "QQQ"],
        [1, 2],
    ]
    # A ticker that happens to be a header word stays a ticker.
    assert lab.localize_rows("correl", [["Ticker", "VALUE"]], "ko")[0] == ["티커", "VALUE"]


def test_bilingual_is_the_english_text():
    place = lab.where("holdings", 3, "QQQ")
    assert place == " (holdings row 3, QQQ)" and lab.ko(place) == " (보유종목 3행, QQQ)"
    assert f"x{place}" == "x (holdings row 3, QQQ)"
    assert lab.ko(lab.where("prices", None, lab.column(2), header=True)) == " (가격 머리글, 2열)"
    assert lab.ko("plain text") == "plain text" and lab.ko("Shares") == "수량"
    joined = lab.text("a", "가") + lab.text("b", "나")
    assert joined == "ab" and lab.ko(joined) == "가나"
    copy = pickle.loads(pickle.dumps(place))
    assert copy == place and lab.ko(copy) == lab.ko(place)
    assert lab.label("BUY", "ko") == "매수" and lab.label("BUY", "en") == "BUY"


def test_plain_where_strings_still_work():
    # Callers that pass an ordinary str (older code) get it back in both texts.
    from etf_rebalancer.cells import parse_number

    with pytest.raises(InputError) as caught:
        parse_number("x", what="Price", where=" (somewhere)")
    assert caught.value.localized("ko") == "현재가 값은 숫자여야 합니다: 'x' (somewhere)"
    assert caught.value.localized("en") == "Price must be a number, got 'x' (somewhere)"


# ---------------------------------------------------------------- detect_language


def test_headers_decide_not_data():
    assert detect_language([["티커", "수량"], ["QQQ", 1]]) == "ko"
    assert detect_language([["Ticker", "Shares"], ["QQQ", 1]]) == "en"
    assert detect_language([["Name", "Ticker"], ["삼성전자", "005930"]]) == "en"
    assert detect_language([["Ticker", "Account"], ["QQQ", "연금"]]) == "en"


def test_settings_keys_count_as_headers_and_language_decides():
    assert detect_language([["Ticker"]], settings=[["설정", "값"], ["mode", "full"]]) == "ko"
    assert detect_language([["Ticker"]], settings=[["mode", "전체"]]) == "en"  # a value
    assert detect_language([["Ticker"]], settings=[["language", "ko"]]) == "ko"
    assert detect_language([["Ticker"]], settings=[["Language", "한국어"]]) == "ko"
    assert detect_language([["티커"]], settings=[["language", "en"]]) == "en"
    assert detect_language([["티커"]], settings=[["language", "English"]]) == "en"
    assert detect_language([["티커"]], settings=[["language", None]]) == "ko"
    # A settings range passed among the others is known by its key header.
    assert detect_language([["Ticker"]], [["Setting", "Value"], ["language", "ko"]]) == "ko"
    assert detect_language([["티커"]], [["설정", "값"], ["language", "en"]]) == "en"


def test_odd_ranges_are_english():
    assert detect_language(None, 5.0, "text", [], settings=None) == "en"
    assert detect_language(object()) == "en"
