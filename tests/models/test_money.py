"""Money: integer minor units and a currency; floats never get in; currencies never mix."""

from __future__ import annotations

import copy
import operator
import pickle
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import yangguang_sdk as yg
from yangguang_sdk import Money
from yangguang_sdk.types.money import MAX_MINOR_UNITS

CURRENCIES = ["CNY", "USD", "EUR", "HKD", "JPY"]
amounts = st.integers(min_value=-(10**15), max_value=10**15)
monies = st.builds(Money, amounts, st.sampled_from(CURRENCIES))


class Priced(BaseModel):
    price: Money
    refund: Money | None = None


def test_cny_from_yuan() -> None:
    assert Money.cny("12999.00") == Money(1299900, "CNY")
    assert Money.cny("12,999.5") == Money(1299950)
    assert Money.cny(500) == Money(50000)
    assert Money.cny(Decimal("0.01")).amount == 1
    assert Money.of("1999", "JPY") == Money(1999, "JPY")


def test_str_and_repr() -> None:
    assert str(Money.cny("12999.00")) == "CNY 12,999.00"
    assert str(Money.cny("0.05")) == "CNY 0.05"
    assert str(-Money.cny("1234567.89")) == "CNY -1,234,567.89"
    assert str(Money(1999, "JPY")) == "JPY 1,999"
    assert repr(Money.cny("12999.00")) == "Money(amount=1299900, currency='CNY')"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Money(1.0),  # type: ignore[arg-type]
        lambda: Money(1299900.0, "CNY"),  # type: ignore[arg-type]
        lambda: Money.cny(1.5),  # type: ignore[arg-type]
        lambda: Money.cny(12999.0),  # type: ignore[arg-type]
        lambda: Money.of(1.5, "USD"),  # type: ignore[arg-type]
        lambda: Money.from_wire({"amount": 1.5}),
        lambda: Money.from_wire({"amount": 100.0, "currency": "CNY"}),
        lambda: Money.from_decimal(1.5),  # type: ignore[arg-type]
        lambda: Money(True),
        lambda: Money(Decimal("100")),  # type: ignore[arg-type]
        lambda: Money("100"),  # type: ignore[arg-type]
    ],
    ids=[
        "init",
        "init_whole_float",
        "cny",
        "cny_whole_float",
        "of",
        "from_wire",
        "from_wire_whole",
        "from_decimal",
        "bool",
        "decimal_amount",
        "str_amount",
    ],
)
def test_no_float_or_other_non_int_reaches_money(make: Callable[[], Money]) -> None:
    with pytest.raises(TypeError) as info:  # still a TypeError, for callers catching that
        make()
    assert isinstance(info.value, yg.ParameterError)  # and a YangguangError, like every other refusal
    assert "Money" in str(info.value) or "money" in str(info.value) or "Decimal" in str(info.value)


def test_float_messages_say_what_to_do() -> None:
    with pytest.raises(TypeError, match="floats are never accepted"):
        Money.cny(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floats are never accepted"):
        Money(1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "wire",
    [
        {"amount": 1.5},
        {"amount": 100.0, "currency": "CNY"},
        {"amount": "100"},
        12.5,
        "12.50",
        {"amount": True},
        {"currency": "CNY"},
        {"amount": 1, "currency": "XXX"},
        {"amount": 1, "currency": "CNY", "extra": 1},
    ],
)
def test_pydantic_refuses_anything_but_the_wire_object(wire: Any) -> None:
    with pytest.raises(ValidationError):
        Priced.model_validate({"price": wire})


@pytest.mark.parametrize(
    "text",
    [
        '{"price": {"amount": 1.5}}',
        '{"price": {"amount": 100.0}}',
        '{"price": {"amount": 1e2}}',
        '{"price": 12.5}',
    ],
)
def test_pydantic_json_refuses_float_amounts(text: str) -> None:
    with pytest.raises(ValidationError):
        Priced.model_validate_json(text)


@pytest.mark.parametrize("value", ["0.001", "1.005", "NaN", "Infinity", "abc", ""])
def test_bad_decimal_input_raises_instead_of_rounding(value: str) -> None:
    with pytest.raises(yg.ParameterError):  # a ValueError too
        Money.cny(value)


def test_from_decimal_rounds_half_up() -> None:
    assert Money.from_decimal(Decimal("0.005")) == Money(1)
    assert Money.from_decimal(Decimal("0.0049")) == Money(0)
    assert Money.from_decimal(Decimal("2.5"), "JPY") == Money(3, "JPY")
    with pytest.raises(ValueError):
        Money.from_decimal(Decimal("1"), "XXX")


@given(monies)
def test_round_trips_through_its_wire_form(m: Money) -> None:
    wire = m.to_wire()
    assert wire == {"amount": m.amount, "currency": m.currency}
    assert type(wire["amount"]) is int
    assert Money.from_wire(wire) == m


@given(monies, st.one_of(st.none(), monies))
def test_round_trips_through_pydantic_json(price: Money, refund: Money | None) -> None:
    model = Priced(price=price, refund=refund)
    text = model.model_dump_json()
    again = Priced.model_validate_json(text)
    assert again == model
    assert again.price.amount == price.amount and again.price.currency == price.currency
    assert Priced.model_validate(model.model_dump()) == model
    assert Priced.model_validate(model.model_dump(mode="json")) == model


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_cny_round_trips_through_its_decimal(amount: int) -> None:
    m = Money(amount)
    assert Money.cny(m.decimal) == m
    assert Money.cny(str(m.decimal)) == m
    assert Money.cny(f"{m.decimal:,}") == m


@given(monies, monies)
def test_arithmetic_within_a_currency(a: Money, b: Money) -> None:
    b = Money(b.amount, a.currency)
    assert (a + b).amount == a.amount + b.amount
    assert (a - b).amount == a.amount - b.amount
    assert (a * 3) == (3 * a) == a + a + a
    assert sum([a, b]) == a + b
    assert (a < b) == (a.amount < b.amount) and (a >= b) == (a.amount >= b.amount)


@pytest.mark.parametrize(
    "op", [operator.add, operator.sub, operator.lt, operator.le, operator.gt, operator.ge]
)
def test_mixing_currencies_raises(op: Callable[[Any, Any], Any]) -> None:
    with pytest.raises(ValueError, match="CNY"):
        op(Money.cny(1), Money(100, "USD"))


def test_sum_of_mixed_currencies_raises() -> None:
    with pytest.raises(ValueError):
        sum([Money.cny(1), Money(1, "USD")])


@pytest.mark.parametrize("other", [1, Decimal("1"), 1.0, "1"])
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.lt, operator.ge])
def test_combining_with_plain_numbers_raises(op: Callable[[Any, Any], Any], other: Any) -> None:
    with pytest.raises(TypeError):
        op(Money.cny(1), other)


def test_multiplying_by_anything_but_an_int_raises() -> None:
    for factor in (1.5, Decimal("2"), True):
        with pytest.raises(TypeError):
            Money.cny(1) * factor  # type: ignore[operator]


def test_equality_across_currencies_is_false_not_an_error() -> None:
    assert Money(100, "CNY") != Money(100, "USD")
    assert Money(100) != 100
    assert len({Money(100), Money(100, "CNY"), Money(100, "USD")}) == 2


def test_money_is_immutable_yet_copies_and_pickles() -> None:
    m = Money.cny("12.34")
    with pytest.raises(AttributeError):
        m.amount = 1
    assert copy.copy(m) == m and copy.deepcopy(m) == m
    assert pickle.loads(pickle.dumps(m)) == m
    model = Priced(price=m)
    assert model.model_copy(deep=True) == model


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(ValueError):
        Money(100, "cny")
    with pytest.raises(ValueError):
        Money.of("1", "GBP")


# --- every refusal is a ParameterError that shows the right call ----------------------------------

RIGHT_CALLS = (
    'Money.cny("12999.00")',
    'Money.of("12999',
    'Money(1299900, "CNY")',
    "Money.from_decimal(Decimal(",
)
Untyped: Any = Money  # the calls below are wrong on purpose; mypy would refuse them
BAD = [
    # (id, make, also a TypeError)
    ("cny-float", lambda: Untyped.cny(12999.0), True),
    ("cny-nan-float", lambda: Untyped.cny(float("nan")), True),
    ("cny-inf-float", lambda: Untyped.cny(float("inf")), True),
    ("cny-bool", lambda: Untyped.cny(True), True),
    ("cny-none", lambda: Untyped.cny(None), True),
    ("cny-list", lambda: Untyped.cny([1]), True),
    ("cny-abc", lambda: Untyped.cny("abc"), False),
    ("cny-empty", lambda: Untyped.cny(""), False),
    ("cny-3-decimals", lambda: Untyped.cny("12999.001"), False),
    ("cny-decimal-3-decimals", lambda: Untyped.cny(Decimal("0.001")), False),
    ("cny-nan-str", lambda: Untyped.cny("NaN"), False),
    ("cny-inf-str", lambda: Untyped.cny("-Infinity"), False),
    ("cny-nan-decimal", lambda: Untyped.cny(Decimal("NaN")), False),
    ("cny-snan-decimal", lambda: Untyped.cny(Decimal("sNaN")), False),
    ("cny-huge-exponent", lambda: Untyped.cny("1e999999999"), False),
    ("cny-huge-int", lambda: Untyped.cny(10**20), False),
    ("cny-above-max", lambda: Untyped.cny(Decimal(MAX_MINOR_UNITS + 1).scaleb(-2)), False),
    ("cny-below-min", lambda: Untyped.cny(-(10**14)), False),
    ("of-float", lambda: Untyped.of(1.5, "USD"), True),
    ("of-unknown-currency", lambda: Untyped.of("1", "GBP"), False),
    ("of-lowercase-currency", lambda: Untyped.of("1", "cny"), False),
    ("of-currency-not-a-str", lambda: Untyped.of("1", 156), False),
    ("of-jpy-decimals", lambda: Untyped.of("1.5", "JPY"), False),
    ("init-float", lambda: Untyped(1299900.0), True),
    ("init-str", lambda: Untyped("1299900"), True),
    ("init-decimal", lambda: Untyped(Decimal(1)), True),
    ("init-bool", lambda: Untyped(False), True),
    ("init-none", lambda: Untyped(None), True),
    ("init-unknown-currency", lambda: Untyped(1, "XXX"), False),
    ("init-unhashable-currency", lambda: Untyped(1, ["CNY"]), False),
    ("from_decimal-float", lambda: Untyped.from_decimal(1.5), True),
    ("from_decimal-str", lambda: Untyped.from_decimal("1.5"), True),
    ("from_decimal-nan", lambda: Untyped.from_decimal(Decimal("NaN")), False),
    ("from_decimal-inf", lambda: Untyped.from_decimal(Decimal("Infinity")), False),
    ("from_decimal-huge", lambda: Untyped.from_decimal(Decimal("1e30")), False),
    ("from_decimal-unknown-currency", lambda: Untyped.from_decimal(Decimal(1), "GBP"), False),
    ("from_wire-str", lambda: Untyped.from_wire("12999.00"), True),
    ("from_wire-float-amount", lambda: Untyped.from_wire({"amount": 1.5}), True),
    ("from_wire-str-amount", lambda: Untyped.from_wire({"amount": "100"}), True),
    ("from_wire-missing-amount", lambda: Untyped.from_wire({"currency": "CNY"}), False),
    ("from_wire-extra-field", lambda: Untyped.from_wire({"amount": 1, "yuan": 1}), False),
    ("from_wire-unknown-currency", lambda: Untyped.from_wire({"amount": 1, "currency": "BTC"}), False),
    ("zero-unknown-currency", lambda: Untyped.zero("RMB"), False),
]


@pytest.mark.parametrize(("make", "type_error"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_every_way_of_building_money_from_bad_input_raises_parameter_error(
    make: Callable[[], Money], type_error: bool
) -> None:
    with pytest.raises(yg.ParameterError) as info:
        make()
    error = info.value
    assert isinstance(error, yg.YangguangError) and isinstance(error, ValueError)
    assert isinstance(error, TypeError) == type_error
    assert isinstance(error, yg.errors.ParameterTypeError) == type_error
    message = str(error)
    assert any(call in message for call in RIGHT_CALLS), message
    assert len(message) < 300


def test_the_reported_bad_prices_say_what_to_call() -> None:
    with pytest.raises(yg.YangguangError, match=r'floats are never accepted.*Money\.cny\("12999\.00"\)'):
        Money.cny(12999.0)  # type: ignore[arg-type]
    with pytest.raises(yg.YangguangError, match=r'not a decimal number.*Money\.cny\("12999\.00"\)'):
        Money.cny("abc")
    with pytest.raises(yg.YangguangError, match=r'more than 2 decimal places.*Money\.cny\("12999\.00"\)'):
        Money.cny("12999.001")


def test_a_long_bad_string_is_not_echoed() -> None:
    with pytest.raises(yg.ParameterError) as info:
        Money.cny("1234567" * 10_000 + "x")
    assert "1234567" not in str(info.value)


def test_a_huge_exponent_is_refused_without_building_the_number() -> None:
    for text in ("1e999999999", "-1E+999999999", "0.1e999999998"):
        with pytest.raises(yg.ParameterError, match="out of range"):
            Money.cny(text)


def test_the_largest_amount_is_accepted_and_one_more_is_not() -> None:
    most = Decimal(MAX_MINOR_UNITS).scaleb(-2)
    assert Money.cny(most).amount == MAX_MINOR_UNITS
    assert Money.cny(-most).amount == -MAX_MINOR_UNITS
    assert Money.from_decimal(most).amount == MAX_MINOR_UNITS
    with pytest.raises(yg.ParameterError):
        Money.cny(most + Decimal("0.01"))
    assert Money(10**300).amount == 10**300  # minor units as on the wire: the insurer judges limits


def test_more_digits_than_the_decimal_context_holds_never_round_silently() -> None:
    # 37 significant digits: a 28-digit context would round this to 1.00 and accept it.
    with pytest.raises(yg.ParameterError, match="decimal places"):
        Money.cny("1.000000000000000000000000000000000001")
    assert Money.cny("1.000000000000000000000000000000000000") == Money(100)
    assert Money.cny("0e999999999") == Money(0)


def test_from_decimal_rounds_the_exact_value_once() -> None:
    assert Money.from_decimal(Decimal("0.0049999999999999999999999999999")) == Money(0)
    assert Money.from_decimal(Decimal("0.0050000000000000000000000000001")) == Money(1)
    assert Money.from_decimal(Decimal("-0.005")) == Money(-1)
    assert Money.from_decimal(Decimal("0E+100")) == Money(0)
