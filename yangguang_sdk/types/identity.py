"""Chinese identity numbers, checked exactly and masked wherever they are shown.

Resident ID numbers follow GB 11643 (18 characters, ISO 7064 MOD 11-2 check character, a real
birth date); Unified Social Credit Codes follow GB 32100 (18 characters, MOD 31 check); vehicle
identification numbers follow ISO 3779 / GB 16735 (17 characters, check digit in position 9). All
are personal or business data: ``repr`` and ``str`` show ``110105********002X`` (a VIN
``LSV**********3294``), and error messages never repeat the value.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "ResidentIdNumber",
    "SocialCreditCode",
    "PhoneNumber",
    "VehicleIdentificationNumber",
    "vin_check_character",
    "vin_problem",
    "resident_id_check_character",
    "social_credit_code_check_character",
    "resident_id_problem",
    "social_credit_code_problem",
    "mask",
]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def mask(value: str, keep_start: int = 6, keep_end: int = 4) -> str:
    """``110105********002X``: the region and the check digits, never the birth date."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def resident_id_check_character(first17: str) -> str:
    """The 18th character (ISO 7064 MOD 11-2, ``0``-``9`` or ``X``) of the resident ID number that
    begins with the 17 digits ``first17``; ValueError when they are not 17 ASCII digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("a resident ID number begins with 17 digits")
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def social_credit_code_check_character(first17: str) -> str:
    """The 18th character (GB 32100 MOD 31) of the unified social credit code that begins with
    ``first17``; ValueError when they are not 17 characters of the code's upper-case alphabet."""
    if len(first17) != 17 or any(c not in _USCC_ALPHABET for c in first17):
        raise ValueError(
            "a unified social credit code begins with 17 characters of 0-9 A-Y (no I, O, S, V, Z)"
        )
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def resident_id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid GB 11643 resident ID number, or None when it is."""
    if len(value) != 18:
        return "must be 18 characters"
    body, check = value[:17], value[17].upper()
    if not body.isascii() or not body.isdigit():
        return "the first 17 characters must be digits"
    try:
        _dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return "the birth date part is not a real date"
    if resident_id_check_character(body) != check:
        return "the check character does not match (a typo?)"
    return None


def social_credit_code_problem(value: str) -> str | None:
    """Why ``value`` is not a valid GB 32100 unified social credit code, or None when it is."""
    value = value.upper()  # before the length check: "ﬂ".upper() is two characters
    if len(value) != 18:
        return "must be 18 characters"
    if any(c not in _USCC_ALPHABET for c in value):
        return "contains a character outside the code's alphabet (no I, O, S, V, Z)"
    if social_credit_code_check_character(value[:17]) != value[17]:
        return "the check character does not match (a typo?)"
    return None


_VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q
_VIN_VALUES = {
    **{d: int(d) for d in "0123456789"},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_character(vin: str) -> str:
    """The check digit (position 9, ``0``-``9`` or ``X``) of a 17-character VIN by ISO 3779 /
    GB 16735: each character transliterated (A-H 1-8, J-N 1-5, P 7, R 9, S-Z 2-9), weighted
    8 7 6 5 4 3 2 10 0 9 8 7 6 5 4 3 2, summed mod 11, 10 written ``X``. Position 9 itself is
    ignored (its weight is 0). ValueError when ``vin`` is not 17 characters of the VIN alphabet."""
    if len(vin) != 17 or any(c not in _VIN_ALPHABET for c in vin[:8] + vin[9:]):
        raise ValueError("a VIN is 17 characters of 0-9 and A-Z without I, O and Q")
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True) if w)
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_problem(value: str) -> str | None:
    """Why ``value`` is not a valid VIN (ISO 3779 / GB 16735), or None when it is."""
    if len(value) != 17:
        return "must be 17 characters"
    if any(c not in _VIN_ALPHABET for c in value):
        return "contains a character outside 0-9 and A-Z without I, O and Q"
    if vin_check_character(value) != value[8]:
        return "the check digit (position 9) does not match (a typo?)"
    return None


def _phone_problem(value: str) -> str | None:
    if len(value) != 11 or not value.isascii() or not value.isdigit() or value[0] != "1":
        return "must be an 11-digit mainland mobile number starting with 1"
    return None


class _Sensitive:
    """A string-like value that shows itself only masked. ``.value`` is the real one."""

    __slots__ = ("_value",)
    _problem = staticmethod(resident_id_problem)
    _label = "identity number"
    _error_type = "identity_number"
    _keep = (6, 4)

    def __init__(self, value: str) -> None:
        if isinstance(value, type(self)):
            value = value.value
        if not isinstance(value, str):
            raise TypeError(f"{self._label} must be a string")
        value = value.strip().upper()
        problem = type(self)._problem(value)
        if problem:
            raise ValueError(f"{self._label} {problem}")
        self._value = value

    @property
    def value(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value, *self._keep)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.masked!r})"

    def __str__(self) -> str:
        return self.masked

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Sensitive):
            return type(self) is type(other) and self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._value))

    @classmethod
    def _validate(cls, value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, str):
            raise PydanticCustomError(cls._error_type, f"{cls._label} must be a string")
        value = value.strip().upper()
        problem = cls._problem(value)
        if problem:
            # The message never contains the value itself.
            raise PydanticCustomError(cls._error_type, problem)
        checked = object.__new__(cls)  # not cls(value), whose __init__ would check it again
        checked._value = value
        return checked

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            json_schema_input_schema=core_schema.str_schema(min_length=11, max_length=18),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: v.value, when_used="always", return_schema=core_schema.str_schema()
            ),
        )


class ResidentIdNumber(_Sensitive):
    """An 18-character PRC resident ID number (GB 11643), masked when shown."""

    __slots__ = ()
    _problem = staticmethod(resident_id_problem)
    _label = "id_number"
    _error_type = "id_number"


class SocialCreditCode(_Sensitive):
    """An 18-character Unified Social Credit Code (GB 32100), masked when shown."""

    __slots__ = ()
    _problem = staticmethod(social_credit_code_problem)
    _label = "uscc"
    _error_type = "uscc"


class PhoneNumber(_Sensitive):
    """An 11-digit mainland mobile number, masked when shown (``138****8000``)."""

    __slots__ = ()
    _problem = staticmethod(_phone_problem)
    _label = "phone"
    _error_type = "phone"
    _keep = (3, 4)


class VehicleIdentificationNumber(_Sensitive):
    """A 17-character vehicle identification number (ISO 3779 / GB 16735), checked by its check
    digit and masked when shown (``LSV**********3294``): tied to a named borrower it identifies a
    person, so it is treated like the other identifiers."""

    __slots__ = ()
    _problem = staticmethod(vin_problem)
    _label = "vin"
    _error_type = "vin"
    _keep = (3, 4)
