"""Amounts as people type them: units, exact decimals, and what is refused; and wei written back for people."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from plugyard_cli.amounts import MAX_WEI, AmountError, eth_text, format_wei, parse_amount


@pytest.mark.parametrize(("text", "wei"), [
    ("0.01eth", 10**16),
    ("1.5 eth", 15 * 10**17),
    ("20gwei", 20 * 10**9),
    ("100wei", 100),
    ("0", 0),
    ("0.0", 0),
    ("0eth", 0),
    ("0 wei", 0),
    ("1ETH", 10**18),
    ("2 GWei", 2 * 10**9),
    ("  3 Wei  ", 3),
    (".5eth", 5 * 10**17),
    ("1.50eth", 15 * 10**17),  # trailing zeros add no precision
    ("100.0wei", 100),
    ("1.000000001gwei", 10**9 + 1),  # 9 decimals: the last wei of a gwei
    ("0.000000000000000001eth", 1),
    (f"{MAX_WEI}wei", MAX_WEI),
    ("115792089237316195423570985008687907853269984665640564039457.584007913129639935eth", MAX_WEI),
])
def test_amounts_in_wei(text: str, wei: int) -> None:
    assert parse_amount(text) == wei


@pytest.mark.parametrize(("text", "says"), [
    ("5", "add eth, gwei or wei"),
    ("0.5", "add eth, gwei or wei"),
    ("0.5wei", "not a whole number of wei: wei takes no decimals"),
    ("1.0000000001gwei", "gwei takes at most 9 decimals"),
    ("0.0000000000000000001eth", "eth takes at most 18 decimals"),
    ("-1eth", "cannot be negative"),
    ("-0", "cannot be negative"),
    (f"{2**256}wei", "below 2**256"),
    ("115792089237316195423570985008687907853269984665640564039457.584007913129639936eth", "below 2**256"),
    ("abc", "not an amount"),
    ("", "empty amount"),
    ("   ", "empty amount"),
    ("eth", "not an amount"),
    (".", "not an amount"),
    ("1e18wei", "not an amount"),
    ("0x10wei", "not an amount"),
    ("1,5eth", "not an amount"),
    ("1_000wei", "not an amount"),
    ("+1eth", "not an amount"),
    ("1 e t h", "not an amount"),
    ("1.2.3eth", "not an amount"),
    ("1btc", "unknown unit 'btc'"),
    ("1ether", "unknown unit 'ether'"),
    ("9" * 101 + "wei", "longer than 100 characters"),
    ("1٢eth", "not an amount"),  # digits other than ASCII
])
def test_refused_amounts_say_why(text: str, says: str) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(text)
    assert says in str(refused.value)


def test_not_a_string_is_refused() -> None:
    with pytest.raises(AmountError):
        parse_amount(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("wei", "text"), [
    (10**16, "0.01 ETH (10000000000000000 wei)"),
    (0, "0 ETH (0 wei)"),
    (1, "0.000000000000000001 ETH (1 wei)"),
    (10**18, "1 ETH (1000000000000000000 wei)"),
    (15 * 10**17, "1.5 ETH (1500000000000000000 wei)"),
    (12 * 10**18 + 3, "12.000000000000000003 ETH (12000000000000000003 wei)"),
    ("20000000000", "0.00000002 ETH (20000000000 wei)"),
])
def test_format_wei_for_people(wei, text: str) -> None:
    assert format_wei(wei) == text


def test_negative_wei_cannot_be_written() -> None:
    with pytest.raises(ValueError):
        eth_text(-1)


@given(st.integers(min_value=0, max_value=MAX_WEI))
def test_round_trips(wei: int) -> None:
    assert parse_amount(eth_text(wei)) == wei
    assert parse_amount(eth_text(wei).lower().replace(" ", "")) == wei
    assert parse_amount(f"{wei}wei") == wei
    whole, rest = divmod(wei, 10**9)
    assert parse_amount(f"{whole}.{rest:09d}gwei") == wei


@pytest.mark.parametrize("wei", [0, 1, 10**9 - 1, 10**9, 10**18 - 1, 10**18, 10**18 + 1, MAX_WEI])
def test_round_trips_at_the_edges(wei: int) -> None:
    assert parse_amount(eth_text(wei)) == wei
