"""Money as integer minor units (fen for CNY) plus an ISO 4217 currency; floats are refused."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from ..errors import ParameterError, ParameterTypeError

__all__ = ["MAX_MINOR_UNITS", "Money", "to_decimal"]

_MINOR_DIGITS: dict[str, int] = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}
# The most the constructors that read human amounts (cny, of, from_decimal) accept, either way: the
# largest integer every JSON parser carries exactly (JavaScript's Number.MAX_SAFE_INTEGER), CNY
# 90,071,992,547,409.91, far above any price. It also keeps "1e999999999" from becoming a huge int.
# Money(amount, currency) takes any integer, as the wire does; the insurer judges its limits.
MAX_MINOR_UNITS = 2**53 - 1
_WIRE_HINT = (
    'money must be {"amount": <integer minor units: 1299900 for CNY 12,999.00>, "currency": "CNY"}; '
    "floats are never accepted"
)
_FROM_YUAN = 'from yuan use Money.cny("12999.00")'
_SUGGEST = 'pass yg.Money.cny("12999.00") (yuan) or {"amount": 1299900, "currency": "CNY"} (integer fen)'


def _a(value: object) -> str:
    """'a str', 'an int', ...: what was given, never the value itself."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _example(currency: str) -> str:
    """The right call for major units, e.g. ``Money.cny("12999.00")`` or ``Money.of("12999", "JPY")``."""
    digits = _MINOR_DIGITS.get(currency, 2)
    amount = "12999" + ("." + "0" * digits if digits else "")
    return f'Money.cny("{amount}")' if currency == "CNY" else f'Money.of("{amount}", "{currency}")'


def _check_currency(currency: object, where: str) -> str:
    if isinstance(currency, str) and currency in _MINOR_DIGITS:
        return currency
    given = repr(currency) if isinstance(currency, str) and len(currency) <= 8 else _a(currency)
    raise ParameterError(
        f"{where}: unknown currency {given}; use one of {', '.join(sorted(_MINOR_DIGITS))} "
        'in capitals, e.g. Money.cny("12999.00") or Money.of("12999.00", "USD")'
    )


def _check_range(amount: int, where: str, example: str) -> int:
    if -MAX_MINOR_UNITS <= amount <= MAX_MINOR_UNITS:
        return amount
    raise ParameterError(
        f"{where}: the amount is out of range (at most {MAX_MINOR_UNITS:,} minor units either way), "
        f"e.g. {example}"
    )


def to_decimal(value: object, *, what: str = "value", example: str = 'Decimal("12999.00")') -> Decimal:
    """A finite Decimal from str, int or Decimal; anything else raises ``ParameterError``
    (``ParameterTypeError``, also a TypeError, for a float, a bool or another type)."""
    if isinstance(value, bool):
        raise ParameterTypeError(f"{what}: a bool is not an amount; pass a str such as {example}")
    if isinstance(value, float):
        raise ParameterTypeError(
            f"{what}: floats are never accepted as money (a float cannot hold most amounts exactly); "
            f"pass a str such as {example}"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ParameterError(
                f"{what}: the str given is not a decimal number; pass digits such as {example}"
            ) from None
    else:
        raise ParameterTypeError(f"{what}: {_a(value)} is not an amount; pass a str such as {example}")
    if not result.is_finite():
        raise ParameterError(f"{what}: NaN and infinity are not amounts; pass a number such as {example}")
    return result


def _to_minor(major: Decimal, currency: str, where: str, example: str) -> int:
    """``major`` in minor units, exactly: no context rounding, no huge intermediate for 1e999999999."""
    digits = _MINOR_DIGITS[currency]
    sign, coefficient_digits, exponent = major.as_tuple()
    assert isinstance(exponent, int)  # finite: checked by to_decimal
    coefficient = "".join(map(str, coefficient_digits)).lstrip("0")
    if not coefficient:
        return 0
    stripped = coefficient.rstrip("0")
    shift = exponent + digits + (len(coefficient) - len(stripped))  # minor = stripped × 10^shift
    if shift < 0:
        raise ParameterError(
            f"{where}: more than {digits} decimal places for {currency} (Money never rounds a price); "
            f"round it first, e.g. {example}, or use Money.from_decimal to round half-up"
        )
    if len(stripped) + shift > len(str(MAX_MINOR_UNITS)):
        _check_range(MAX_MINOR_UNITS + 1, where, example)
    minor = int(stripped) * 10**shift
    return _check_range(-minor if sign else minor, where, example)


def _refusal(value: object) -> str:
    """What is wrong with a value given where money is expected, and the right call."""
    if isinstance(value, float):
        return f"floats are never accepted as money; {_SUGGEST}"
    if isinstance(value, dict):
        amount = value.get("amount")
        if isinstance(amount, float):
            return f"amount: floats are never accepted; {_SUGGEST}"
        if "amount" in value and (isinstance(amount, bool) or not isinstance(amount, int)):
            return f"amount is integer minor units, not {_a(amount)}; {_SUGGEST}"
        currency = value.get("currency", "CNY")
        if not isinstance(currency, str) or currency not in _MINOR_DIGITS:
            return f"currency must be one of {', '.join(sorted(_MINOR_DIGITS))}; {_SUGGEST}"
        return f'{_WIRE_HINT}; or pass yg.Money.cny("12999.00")'
    return f"{_a(value)} was given where money is expected; {_SUGGEST}"


class Money:
    """An amount of money: ``amount`` in integer minor units and a ``currency`` code.

    >>> Money.cny("12999.00")
    Money(amount=1299900, currency='CNY')
    >>> str(Money.cny("12999.00"))
    'CNY 12,999.00'
    """

    __slots__ = ("amount", "currency")
    amount: int
    currency: str

    def __init__(self, amount: int, currency: str = "CNY") -> None:
        if not isinstance(currency, str) or currency not in _MINOR_DIGITS:
            _check_currency(currency, "Money")
        if isinstance(amount, bool) or not isinstance(amount, int):
            never = "; floats are never accepted" if isinstance(amount, float) else ""
            raise ParameterTypeError(
                f"Money(amount, currency) takes integer minor units, not {_a(amount)}{never}: "
                f'Money(1299900, "CNY") is CNY 12,999.00; from yuan use {_example(currency)}'
            )
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "currency", currency)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Money is immutable")

    def __reduce__(self) -> tuple[type[Money], tuple[int, str]]:
        # copy, deepcopy (model_copy(deep=True)) and pickle rebuild through __init__, as the
        # default slot-by-slot restore would trip over __setattr__.
        return (type(self), (self.amount, self.currency))

    # construction -------------------------------------------------------------------------
    @classmethod
    def of(cls, value: str | int | Decimal, currency: str) -> Money:
        """Money from major units ("12999.00", 12999 or Decimal); more decimals than the currency has
        raise rather than round. Bad input raises ``ParameterError`` (``ParameterTypeError`` for a
        float)."""
        return cls._major(value, _check_currency(currency, "Money.of"), "Money.of")

    @classmethod
    def cny(cls, value: str | int | Decimal) -> Money:
        """Renminbi from yuan: ``Money.cny("12999.00")``, ``Money.cny(500)``."""
        return cls._major(value, "CNY", "Money.cny")

    @classmethod
    def _major(cls, value: object, currency: str, where: str) -> Money:
        example = _example(currency)
        if isinstance(value, int) and not isinstance(value, bool):
            minor = _check_range(value * 10 ** _MINOR_DIGITS[currency], where, example)
        else:
            major = to_decimal(value, what=where, example=example)
            minor = _to_minor(major, currency, where, example)
        return cls(minor, currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str = "CNY") -> Money:
        """Money from a Decimal of major units, rounded half-up to the minor unit."""
        currency = _check_currency(currency, "Money.from_decimal")
        example = 'Money.from_decimal(Decimal("12999.005"))'
        if not isinstance(value, Decimal):
            raise ParameterTypeError(
                f"Money.from_decimal takes a Decimal, not {_a(value)} (floats are never accepted), "
                f"e.g. {example}; from a str use {_example(currency)}"
            )
        if not value.is_finite():
            raise ParameterError(f"Money.from_decimal: NaN and infinity are not amounts, e.g. {example}")
        digits = _MINOR_DIGITS[currency]
        if value and value.adjusted() + digits >= len(str(MAX_MINOR_UNITS)):
            _check_range(MAX_MINOR_UNITS + 1, "Money.from_decimal", example)
        with localcontext() as ctx:  # quantize rounds the exact value once; the result fits
            ctx.prec = len(str(MAX_MINOR_UNITS)) + 2
            minor = int(value.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP).scaleb(digits))
        return cls(_check_range(minor, "Money.from_decimal", example), currency)

    @classmethod
    def zero(cls, currency: str = "CNY") -> Money:
        return cls(0, currency)

    # views ---------------------------------------------------------------------------------
    @property
    def decimal(self) -> Decimal:
        """The amount in major units as an exact Decimal."""
        return Decimal(self.amount).scaleb(-_MINOR_DIGITS[self.currency])

    def to_wire(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency}

    @classmethod
    def from_wire(cls, value: object) -> Money:
        """Money from its wire form ``{"amount": 1299900, "currency": "CNY"}``."""
        if isinstance(value, Money):
            return value
        if not isinstance(value, dict):
            raise ParameterTypeError(f"Money.from_wire: {_a(value)} was given; {_WIRE_HINT}; {_FROM_YUAN}")
        extra = set(value) - {"amount", "currency"}
        if extra:
            names = ", ".join(sorted(repr(k) for k in extra if isinstance(k, str) and len(k) <= 20)[:3])
            raise ParameterError(
                f"Money.from_wire: unknown field(s) {names or '(long names)'}; {_WIRE_HINT}; {_FROM_YUAN}"
            )
        if "amount" not in value:
            raise ParameterError(f"Money.from_wire: amount is required; {_WIRE_HINT}; {_FROM_YUAN}")
        return cls(value["amount"], value.get("currency", "CNY"))

    # arithmetic ----------------------------------------------------------------------------
    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money can only be multiplied by an int; use Decimal math and from_decimal")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __radd__(self, other: object) -> Money:
        if other == 0:  # lets sum() start from 0
            return self
        return self._same(other) + self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.amount == other.amount and self.currency == other.currency

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def __bool__(self) -> bool:
        return self.amount != 0

    def __repr__(self) -> str:
        return f"Money(amount={self.amount}, currency={self.currency!r})"

    def __str__(self) -> str:
        digits = _MINOR_DIGITS[self.currency]
        return f"{self.currency} {self.decimal:,.{digits}f}"

    # pydantic ------------------------------------------------------------------------------
    @classmethod
    def _validate_python(cls, value: Any) -> Money:
        """Money from Python input: a Money, or a wire dict checked as the JSON schema checks it
        (one Python call)."""
        if isinstance(value, Money):
            return value
        if not isinstance(value, dict) and isinstance(value, Mapping):
            value = dict(value)
        if isinstance(value, dict) and "amount" in value and len(value) <= 2:
            amount, currency = value["amount"], value.get("currency", "CNY")
            if (
                isinstance(amount, int)
                and not isinstance(amount, bool)
                and isinstance(currency, str)
                and currency in _MINOR_DIGITS
                and (len(value) == 1 or "currency" in value)
            ):
                money = object.__new__(cls)
                object.__setattr__(money, "amount", int(amount))
                object.__setattr__(money, "currency", str(currency))
                return money
        raise PydanticCustomError("money", _refusal(value))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        wire = _wire_schema()
        # JSON input is checked and built in pydantic-core, no Python call per amount: the wire
        # shape as a slotted "dataclass" whose fields are set directly (Money's own __setattr__,
        # which refuses changes, is bypassed).
        built = core_schema.dataclass_schema(
            cls,
            core_schema.dataclass_args_schema(
                cls.__name__,
                [
                    core_schema.dataclass_field("amount", core_schema.int_schema(strict=True)),
                    core_schema.dataclass_field(
                        "currency",
                        core_schema.with_default_schema(
                            core_schema.literal_schema(list(_MINOR_DIGITS)), default="CNY"
                        ),
                    ),
                ],
                extra_behavior="forbid",
            ),
            ["amount", "currency"],
            slots=True,
        )
        checked = core_schema.custom_error_schema(
            built, custom_error_type="money", custom_error_message=_WIRE_HINT
        )
        # A refused Python value (the SDK's request params, the sandbox app's parsed JSON) gets a
        # message that says what was given; JSON keeps the one fixed message.
        schema = core_schema.json_or_python_schema(
            json_schema=checked,
            python_schema=core_schema.no_info_plain_validator_function(cls._validate_python),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda m: m.to_wire(), when_used="always", return_schema=wire
            ),
        )
        return schema

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The JSON Schema of the wire shape, ``{"amount", "currency"}``, in both modes."""
        return handler(_wire_schema())


def _wire_schema() -> core_schema.TypedDictSchema:
    """Money on the wire: ``{"amount": <int>, "currency": <code, default CNY>}``, nothing else."""
    return core_schema.typed_dict_schema(
        {
            "amount": core_schema.typed_dict_field(core_schema.int_schema(strict=True)),
            "currency": core_schema.typed_dict_field(
                core_schema.literal_schema(list(_MINOR_DIGITS)), required=False
            ),
        },
        extra_behavior="forbid",
    )
