"""Excel values in: the lowest layer of the package.

What ``xlwings`` hands a UDF (lists of rows of ``float``/``str``/``bool``/
``None``/``datetime``) is read here into typed Python values: header aliases in
English and Korean, numbers, weights, dates, tickers, key/value settings and
price tables, and the bilingual labels every output uses. Nothing here knows
about the engine, quotes or files.
"""

from etf_rebalancer.cells.headers import (
    ALIASES,
    column_values,
    detect_language,
    normalise_header,
    read_table,
)
from etf_rebalancer.cells.prices import read_price_table
from etf_rebalancer.cells.settings import (
    KeyValue,
    is_key_header,
    read_key_values,
    setting_key,
    unknown_keys_error,
)
from etf_rebalancer.cells.tickers import CASH_TICKER, is_krx_code, normalise_ticker
from etf_rebalancer.cells.values import (
    SUM_TOLERANCE,
    as_column,
    as_rows,
    check_band,
    date_column,
    is_blank,
    number_column,
    parse_bool,
    parse_date,
    parse_dates,
    parse_number,
    parse_numbers,
    parse_weight,
    sums_to_100,
    weights_to_fractions,
)

__all__ = [
    "ALIASES",
    "CASH_TICKER",
    "SUM_TOLERANCE",
    "KeyValue",
    "as_column",
    "as_rows",
    "check_band",
    "column_values",
    "date_column",
    "detect_language",
    "is_blank",
    "is_key_header",
    "is_krx_code",
    "normalise_header",
    "normalise_ticker",
    "number_column",
    "parse_bool",
    "parse_date",
    "parse_dates",
    "parse_number",
    "parse_numbers",
    "parse_weight",
    "read_key_values",
    "read_price_table",
    "read_table",
    "setting_key",
    "sums_to_100",
    "unknown_keys_error",
    "weights_to_fractions",
]
