"""Money as integer minor units (fen for CNY) plus an ISO 4217 currency; floats are refused."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = ["Money", "to_decimal"]

_MINOR_DIGITS: dict[str, int] = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}
_WIRE_HINT = (
    'money must be {"amount": <integer minor units: 1299900 for CNY 12,999.00>, "currency": "CNY"}; '
    "floats are never accepted"
)
_FLOAT_HINT = "floats are never accepted as money; pass a str or Decimal such as '12999.00'"


def to_decimal(value: object, *, what: str = "value") -> Decimal:
    """A Decimal from str, int or Decimal; floats and bools raise TypeError with a clear message."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a str, int or Decimal, not bool")
    if isinstance(value, float):
        raise TypeError(f"{what}: {_FLOAT_HINT}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"{what}: {value!r} is not a decimal number") from None
    else:
        raise TypeError(f"{what} must be a str, int or Decimal, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{what} must be a finite number")
    return result


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
        if isinstance(amount, bool) or not isinstance(amount, int):
            if isinstance(amount, float):
                raise TypeError(f"Money.amount: {_FLOAT_HINT}")
            raise TypeError(f"Money.amount is integer minor units, not {type(amount).__name__}")
        if not isinstance(currency, str) or currency not in _MINOR_DIGITS:
            raise ValueError(f"Money.currency must be one of {sorted(_MINOR_DIGITS)}, got {currency!r}")
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
        raise rather than round."""
        digits = _MINOR_DIGITS.get(currency)
        if digits is None:
            raise ValueError(f"unknown currency {currency!r}")
        major = to_decimal(value, what="money")
        minor = major.scaleb(digits)
        if minor != minor.to_integral_value():
            raise ValueError(f"money: {value!r} has more than {digits} decimal places for {currency}")
        return cls(int(minor), currency)

    @classmethod
    def cny(cls, value: str | int | Decimal) -> Money:
        """Renminbi from yuan: ``Money.cny("12999.00")``, ``Money.cny(500)``."""
        return cls.of(value, "CNY")

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str = "CNY") -> Money:
        """Money from a Decimal of major units, rounded half-up to the minor unit."""
        if not isinstance(value, Decimal):
            raise TypeError(f"from_decimal takes a Decimal, not {type(value).__name__}; {_FLOAT_HINT}")
        digits = _MINOR_DIGITS.get(currency)
        if digits is None:
            raise ValueError(f"unknown currency {currency!r}")
        minor = value.scaleb(digits).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return cls(int(minor), currency)

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
        if isinstance(value, Money):
            return value
        if not isinstance(value, dict):
            raise TypeError('money must be an object {"amount": <int minor units>, "currency": "CNY"}')
        extra = set(value) - {"amount", "currency"}
        if extra:
            raise ValueError(f"unknown money field(s): {', '.join(sorted(extra))}")
        if "amount" not in value:
            raise ValueError("money.amount is required (integer minor units)")
        amount, currency = value["amount"], value.get("currency", "CNY")
        if isinstance(amount, float):
            raise TypeError(f"money.amount: {_FLOAT_HINT} (amount is integer minor units)")
        return cls(amount, currency)

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
    def _from_checked(cls, value: dict[str, Any]) -> Money:
        """Money from a wire dict pydantic-core has already checked (the fast path)."""
        money = object.__new__(cls)
        object.__setattr__(money, "amount", value["amount"])
        object.__setattr__(money, "currency", value.get("currency", "CNY"))
        return money

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        wire = core_schema.typed_dict_schema(
            {
                "amount": core_schema.typed_dict_field(core_schema.int_schema(strict=True)),
                "currency": core_schema.typed_dict_field(
                    core_schema.literal_schema(list(_MINOR_DIGITS)), required=False
                ),
            },
            extra_behavior="forbid",
        )
        checked = core_schema.custom_error_schema(
            core_schema.no_info_after_validator_function(cls._from_checked, wire),
            custom_error_type="money",
            custom_error_message=_WIRE_HINT,
        )
        return core_schema.json_or_python_schema(
            json_schema=checked,
            python_schema=core_schema.union_schema(
                [
                    core_schema.is_instance_schema(cls),
                    checked,
                ],
                custom_error_type="money",
                custom_error_message=_WIRE_HINT,
            ),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda m: m.to_wire(), when_used="always", return_schema=wire
            ),
        )
