"""One description of a failed request model: the fields it names and what is wrong with each.

The SDK (``ParameterError`` before sending), the sandbox app (422 ``invalid_parameter``) and the
sandbox engine (``Invalid``) all turn a pydantic ``ValidationError`` into our error shape here:
``validation_problems`` lists every problem, ``describe_validation_error`` makes the one-line
``Problem`` an error body carries (the first problem's field, the first few problems' text). A
message never repeats the input value (it may be an ID number or a phone number).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..errors import ParameterProblem, describe_problems
from ._base import error_param

__all__ = ["Problem", "describe_validation_error", "validation_problems", "error_param"]

# A field of one kind of borrower given to the other: (kind, field) -> the field meant, and why.
_OTHER_KIND_FIELDS: dict[tuple[str, str], tuple[str | None, str]] = {
    ("enterprise", "id_number"): (
        "uscc",
        "an enterprise is identified by its unified social credit code, a person is type "
        "'individual' with an id_number",
    ),
    ("individual", "uscc"): (
        "id_number",
        "a person is identified by a resident ID number, a company is type 'enterprise' with a uscc",
    ),
    ("enterprise", "phone"): (None, "only individual borrowers have a phone"),
}
# pydantic's prefix for a validator's ValueError; the text after it is ours and reads alone
_VALUE_ERROR_PREFIX = "Value error, "


@dataclass(frozen=True)
class Problem:
    """The field a validation error names (dotted, or None) and what is wrong with it."""

    param: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.param}: {self.message}" if self.param else self.message

    def as_dict(self) -> ParameterProblem:
        """The problem as an entry of ``ParameterError.errors``."""
        return {"param": self.param, "message": self.message}


def validation_problems(
    error: ValidationError | Sequence[Any], *, typo_first: bool = True, skip: int = 0
) -> list[Problem]:
    """Every problem of ``error`` (a ``ValidationError`` or its ``errors()`` list), the one to name
    first at the head.

    ``typo_first``: a misspelt required field is both unknown and missing; True names the typo
    first (with a suggestion) and drops the missing field it stands for, False keeps both and names
    the missing one first (the API's choice: the body it got lacks that field). ``skip``: leading
    location parts that are not field names (FastAPI's ``body`` / ``query`` / ``header``); a
    location of only those names itself.
    """
    raw: Sequence[Any] = (
        error.errors(include_input=False, include_url=False) if isinstance(error, ValidationError) else error
    )
    if not raw:
        return [Problem(None, "invalid request")]
    explained: set[tuple[Any, ...]] = set()  # missing fields a typo's suggestion stands for
    typos: list[Problem] = []
    others: list[tuple[tuple[Any, ...], Problem]] = []
    for e in raw:
        loc = tuple(e.get("loc", ()))
        param = error_param(list(loc[skip:]))
        if param is None and skip and loc:
            param = str(loc[0])
        kind = e.get("type", "")
        if kind == "extra_forbidden" and loc:
            suggestion, message = _unknown_field(loc, raw)
            if suggestion is not None:
                explained.add((*loc[:-1], suggestion))
            typos.append(Problem(param, message))
        elif kind == "missing":
            others.append((loc, Problem(param, "is required")))
        else:
            message = _in_words(kind, e.get("ctx") or {}, str(e.get("msg", "invalid value")))
            others.append((loc, Problem(param, message)))
    if typo_first:
        return typos + [p for loc, p in others if loc not in explained]
    return [p for _, p in others] + typos


def describe_validation_error(
    error: ValidationError | Sequence[Any], *, typo_first: bool = True, skip: int = 0
) -> Problem:
    """The one-line problem to report for ``error``: the first problem's field, and as message the
    first few problems (``str()`` reads ``a.b: ...; c: ...; and 2 more problems``). Arguments as for
    ``validation_problems``."""
    problems = validation_problems(error, typo_first=typo_first, skip=skip)
    first, rest = problems[0], problems[1:]
    message = describe_problems([{"param": None, "message": first.message}, *(p.as_dict() for p in rest)])
    return Problem(first.param, message)


def _in_words(kind: str, ctx: dict[str, Any], message: str) -> str:
    """pydantic's message for an error of type ``kind``, said as what to pass instead where
    pydantic's own words describe its internals (tags, "dictionary or object", "timezone info")."""
    if kind == "value_error":
        return message.removeprefix(_VALUE_ERROR_PREFIX)
    if kind == "union_tag_not_found":
        return f"has no {ctx.get('discriminator', 'type')}: say which kind of object it is"
    if kind == "union_tag_invalid":
        return f"its {ctx.get('discriminator', 'type')} must be one of {ctx.get('expected_tags', '')}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number (an int such as 12)"
    if kind in ("decimal_parsing", "decimal_type"):
        return 'must be a decimal number, such as "0.12" (a str, so no float rounding)'
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return "must be an object (a dict of its fields)"
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        why = f" ({ctx['error']})" if ctx.get("error") else ""
        return f'must be a real date, a datetime.date or "YYYY-MM-DD"{why}'
    if kind == "timezone_aware":
        return "must be a timezone-aware datetime, such as datetime.now(timezone.utc)"
    return message


def _unknown_field(loc: tuple[Any, ...], raw: Sequence[Any]) -> tuple[str | None, str]:
    """(the field probably meant, or None; the message) for the unknown field at ``loc``."""
    name = str(loc[-1])
    missing = [
        str(e["loc"][-1])
        for e in raw
        if e.get("type") == "missing" and tuple(e.get("loc", ()))[:-1] == loc[:-1]
    ]
    kind = str(loc[-2]) if len(loc) >= 2 else ""
    other = _OTHER_KIND_FIELDS.get((kind, name))
    if other is not None:
        meant, why = other
        if meant is None:
            return None, f"not a field of an {kind} borrower: {why}"
        return meant, f"not a field of an {kind} borrower (did you mean {meant!r}? {why})"
    import difflib  # only on the error path

    close = difflib.get_close_matches(name, missing, n=1)
    if close:
        return close[0], f"unknown field (did you mean {close[0]!r}?)"
    return None, "unknown field (a typo?)"
