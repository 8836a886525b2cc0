"""Two-column key/value ranges (the Settings tables): keys folded, repeats and unknowns named."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from etf_rebalancer.cells.headers import _ALIAS_LOOKUP, normalise_header
from etf_rebalancer.cells.labels import ko
from etf_rebalancer.cells.values import as_rows, is_blank
from etf_rebalancer.errors import InputError


@dataclass(frozen=True)
class KeyValue:
    """One setting as written: normalised key, raw key text, raw value and its row."""

    key: str
    label: str
    value: Any
    row: int


def read_key_values(values: Any, *, name: str = "settings") -> dict[str, KeyValue]:
    """Read a two-column key/value range (an optional header row is skipped).

    Keys are folded like headers (``Base Currency`` = ``base_currency``), except
    that the space in ``FX USD`` is kept as ``fx usd`` so the currency stays
    readable. Blank keys are skipped; a repeated key raises :class:`InputError`.
    """
    rows = as_rows(values)
    out: dict[str, KeyValue] = {}
    for index, row in enumerate(rows, start=1):
        if not row or is_blank(row[0]):
            continue
        label = str(row[0]).strip()
        value = row[1] if len(row) > 1 else None
        if index == 1 and is_key_header(label):
            continue  # a header row such as Key | Value or 설정 | 값
        key = setting_key(label)
        if key in out:
            raise InputError(
                f"{name} has the key {label!r} twice (rows {out[key].row} and {index})",
                f"{ko(name)}에 {label!r} 키가 두 번 있습니다 ({out[key].row}행, {index}행)",
            )
        out[key] = KeyValue(key, label, value, index)
    return out


def is_key_header(label: Any) -> bool:
    """True for the header of a settings range's key column (``Key``, ``Setting``, ``설정``)."""
    return _ALIAS_LOOKUP.get(normalise_header(label)) == "key"


def setting_key(label: str) -> str:
    """The key a settings label is read as: ``Fee Rate`` and ``fee-rate`` are ``fee_rate``."""
    fx = re.match(r"^\s*fx[\s_\-:]+([A-Za-z]{3})\s*$", label, flags=re.IGNORECASE)
    if fx:
        return f"fx {fx.group(1).casefold()}"
    return re.sub(r"[\s\-]+", "_", label.strip()).casefold()


def unknown_keys_error(
    settings: Mapping[str, KeyValue], allowed: Iterable[str], *, name: str = "settings"
) -> InputError | None:
    """Return an error naming every key not in ``allowed`` (``fx xxx`` keys match ``fx *``)."""
    allowed = set(allowed)
    bad = [
        kv
        for k, kv in settings.items()
        if k not in allowed and not (k.startswith("fx ") and "fx *" in allowed)
    ]
    if not bad:
        return None
    names = ", ".join(f"{kv.label!r} (row {kv.row})" for kv in bad)
    names_ko = ", ".join(f"{kv.label!r} ({kv.row}행)" for kv in bad)
    return InputError(
        f"Unknown {name} key {names}; allowed: {', '.join(sorted(allowed))}",
        f"알 수 없는 {ko(name)} 키 {names_ko}; 사용 가능: {', '.join(sorted(allowed))}",
    )
