"""One description of a failed request model: the field it names and what is wrong with it.

The SDK (``ParameterError`` before sending), the sandbox app (422 ``invalid_parameter``) and the
sandbox engine (``Invalid``) all turn a pydantic ``ValidationError`` into our error shape with
``describe_validation_error``; each only wraps the ``Problem`` in its own error. The message never
repeats the input value (it may be an ID number or a phone number).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ._base import error_param

__all__ = ["Problem", "describe_validation_error", "error_param"]


@dataclass(frozen=True)
class Problem:
    """The field a validation error names (dotted, or None) and what is wrong with it."""

    param: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.param}: {self.message}" if self.param else self.message


def describe_validation_error(
    error: ValidationError | Sequence[Any], *, typo_first: bool = True, skip: int = 0
) -> Problem:
    """The problem to report for ``error`` (a ``ValidationError`` or its ``errors()`` list).

    ``typo_first``: a misspelt required field is both unknown and missing; True names the typo
    (with a suggestion), False the missing field. ``skip``: leading location parts that are not
    field names (FastAPI's ``body`` / ``query`` / ``header``); a location of only those names itself.
    Further problems are counted in the message: ``(and 2 more problems)``.
    """
    problems: Sequence[Any] = (
        error.errors(include_input=False, include_url=False) if isinstance(error, ValidationError) else error
    )
    if not problems:
        return Problem(None, "invalid request")
    first = problems[0]
    if typo_first:
        first = next((e for e in problems if e.get("type") == "extra_forbidden"), first)
    loc = tuple(first.get("loc", ()))
    param = error_param(list(loc[skip:]))
    if param is None and skip and loc:
        param = str(loc[0])
    kind = first.get("type", "")
    message = str(first.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        siblings = [
            str(e["loc"][-1])
            for e in problems
            if e.get("type") == "missing" and tuple(e.get("loc", ()))[:-1] == loc[:-1]
        ]
        import difflib  # only on the error path

        close = difflib.get_close_matches(str(loc[-1]), siblings, n=1) if loc else []
        message = f"unknown field (did you mean {close[0]!r}?)" if close else "unknown field (a typo?)"
    elif kind == "missing":
        message = "is required"
    more = len(problems) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return Problem(param, message)
