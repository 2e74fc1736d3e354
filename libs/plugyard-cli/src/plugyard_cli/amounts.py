"""Amounts of ether as people type them (`0.01eth`, `1.5 eth`, `20gwei`, `100wei`, `0`) and as they read them.

Exact integer arithmetic on the digits as typed (never a float): an amount is a whole number of wei, below 2**256
(what a uint256 holds). A bare number other than zero is refused: `5` could mean 5 wei or 5 ETH, a difference of
10**18, so the unit is never guessed.
"""

from __future__ import annotations

import re

UNITS: dict[str, int] = {"eth": 18, "gwei": 9, "wei": 0}  # decimals of each unit
WEI_PER_ETH = 10**18
MAX_WEI = 2**256 - 1
MAX_TEXT = 100  # longer than any amount below 2**256 written in wei, with room for spaces

_AMOUNT = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?\s*(?P<unit>[a-z]*)")


class AmountError(ValueError):
    """An amount that cannot be read; the message says what was wrong and how to write it."""


def parse_amount(text: str) -> int:
    """The amount in wei: a number with a unit (eth, gwei or wei, any case, a space allowed before it), or 0."""
    if not isinstance(text, str):
        raise AmountError(f"{text!r} is not an amount")
    shown = text.strip()
    if not shown:
        raise AmountError("an empty amount: write it with a unit, for example 0.01eth, 20gwei or 100wei")
    if len(shown) > MAX_TEXT:
        raise AmountError(f"{shown[:20]}… is not an amount: longer than {MAX_TEXT} characters")
    if shown.startswith("-"):
        raise AmountError(f"{shown!r}: an amount cannot be negative")
    found = _AMOUNT.fullmatch(shown.lower())
    if found is None or not (found["whole"] or found["fraction"]):
        raise AmountError(f"{shown!r} is not an amount: write a number and a unit, for example 0.01eth, 20gwei or 100wei")
    whole, fraction, unit = found["whole"] or "0", found["fraction"] or "", found["unit"]
    if not unit:
        if int(whole) == 0 and int(fraction or "0") == 0:
            return 0
        raise AmountError(f"{shown!r} has no unit: add eth, gwei or wei (for example {shown}eth, {shown}gwei or {shown}wei)")
    if unit not in UNITS:
        raise AmountError(f"{shown!r}: unknown unit {unit!r}; use eth, gwei or wei")
    decimals = UNITS[unit]
    significant = fraction.rstrip("0")  # 1.50eth is 1.5eth: trailing zeros add no precision
    if len(significant) > decimals:
        allowed = f"at most {decimals} decimals" if decimals else "no decimals"
        raise AmountError(f"{shown!r} is not a whole number of wei: {unit} takes {allowed}")
    wei = int(whole) * 10**decimals + (int(significant.ljust(decimals, "0")) if decimals else 0)
    if wei > MAX_WEI:
        raise AmountError(f"{shown!r} is too large: an amount must be below 2**256 wei")
    return wei


def eth_text(wei: int) -> str:
    """`0.01 ETH`: the exact amount in ether, without trailing zeros (parse_amount reads it back)."""
    if wei < 0:
        raise ValueError(f"{wei} wei: an amount cannot be negative")
    whole, rest = divmod(wei, WEI_PER_ETH)
    if not rest:
        return f"{whole} ETH"
    return f"{whole}.{str(rest).rjust(18, '0').rstrip('0')} ETH"


def format_wei(wei: int | str) -> str:
    """`0.01 ETH (10000000000000000 wei)`: for people, with the exact wei beside it."""
    value = int(wei)
    return f"{eth_text(value)} ({value} wei)"
