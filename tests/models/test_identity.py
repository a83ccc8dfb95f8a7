"""Resident ID numbers (GB 11643) and Unified Social Credit Codes (GB 32100): exact checks, masked shows.

A single substituted character always changes the weighted sum, modulo 11 (resident IDs) or 31
(USCCs), because every weight is non-zero modulo that prime and so is the difference of two
distinct characters' values: so no single substitution can yield another valid number. The
tests below verify that claim for every position and every ASCII character, and with hypothesis
for arbitrary Unicode.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import yangguang_sdk as yg
from yangguang_sdk.resources._resource import validate_params
from yangguang_sdk.types import (
    EnterpriseBorrower,
    IndividualBorrower,
    PhoneNumber,
    QuoteCreateParams,
    ResidentIdNumber,
    SocialCreditCode,
)
from yangguang_sdk.types.identity import resident_id_problem, social_credit_code_problem

RESIDENT_ID = "11010519491231002X"
USCC = "91110000600037341L"
PHONE = "13800138000"

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_resident_id(body17: str) -> str:
    """An independent implementation of the check character, to test against."""
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def substitutions(value: str, alphabet: str) -> list[str]:
    """Every string that differs from ``value`` in exactly one place (case-only changes excluded:
    the SDK reads ``...002x`` as ``...002X``)."""
    out = []
    for i, old in enumerate(value):
        for new in alphabet:
            if new.upper() != old.upper():
                out.append(value[:i] + new + value[i + 1 :])
    return out


def test_the_examples_are_valid() -> None:
    assert resident_id_problem(RESIDENT_ID) is None
    assert social_credit_code_problem(USCC) is None
    assert make_resident_id(RESIDENT_ID[:17]) == RESIDENT_ID
    assert ResidentIdNumber("11010519491231002x").value == RESIDENT_ID
    assert SocialCreditCode(" 91110000600037341l ").value == USCC


def test_every_single_ascii_substitution_of_a_resident_id_is_rejected() -> None:
    candidates = substitutions(RESIDENT_ID, string.printable)
    assert len(candidates) > 1500
    for candidate in candidates:
        assert resident_id_problem(candidate.upper()) is not None, candidate
        with pytest.raises(ValueError):
            ResidentIdNumber(candidate)


def test_every_single_ascii_substitution_of_a_uscc_is_rejected() -> None:
    candidates = substitutions(USCC, string.printable)
    for candidate in candidates:
        assert social_credit_code_problem(candidate) is not None, candidate
        with pytest.raises(ValueError):
            SocialCreditCode(candidate)


def test_birth_date_digit_changes_fail_the_checksum_even_when_the_date_is_real() -> None:
    """Substitutions in places 7-14 that keep a real birth date are caught by the check alone."""
    real_dates = []
    for candidate in substitutions(RESIDENT_ID[:17], string.digits):
        with_old_check = candidate + RESIDENT_ID[17]
        if resident_id_problem(make_resident_id(candidate)) is None and candidate[6:14] != RESIDENT_ID[6:14]:
            real_dates.append(with_old_check)
    assert len(real_dates) > 10
    for candidate in real_dates:
        assert resident_id_problem(candidate) == "the check character does not match (a typo?)"


def position_and_char(length: int) -> st.SearchStrategy[tuple[int, str]]:
    return st.tuples(st.integers(min_value=0, max_value=length - 1), st.characters())


@given(position_and_char(18))
def test_any_single_character_change_to_a_resident_id_is_rejected(change: tuple[int, str]) -> None:
    i, char = change
    candidate = RESIDENT_ID[:i] + char + RESIDENT_ID[i + 1 :]
    if candidate.strip().upper() == RESIDENT_ID:
        return  # the same number, written in lower case
    with pytest.raises(ValueError):
        ResidentIdNumber(candidate)
    assert resident_id_problem(candidate) is not None


@given(position_and_char(18))
def test_any_single_character_change_to_a_uscc_is_rejected(change: tuple[int, str]) -> None:
    i, char = change
    candidate = USCC[:i] + char + USCC[i + 1 :]
    if candidate.strip().upper() == USCC:
        return
    with pytest.raises(ValueError):
        SocialCreditCode(candidate)
    assert social_credit_code_problem(candidate) is not None


@pytest.mark.parametrize("i", [6, 11])
def test_a_ligature_that_uppercases_to_two_letters_is_not_a_valid_uscc(i: int) -> None:
    # "ﬂ".upper() == "FL": checked after upper-casing, the code has 19 characters
    candidate = USCC[:i] + "\ufb02" + USCC[i + 1 :]
    assert social_credit_code_problem(candidate) is not None
    with pytest.raises(ValueError):
        SocialCreditCode(candidate)


@given(st.text(st.sampled_from(string.digits), min_size=17, max_size=17))
def test_generated_resident_ids_validate_when_the_date_is_real(body: str) -> None:
    number = make_resident_id(body)
    problem = resident_id_problem(number)
    assert problem is None or problem == "the birth date part is not a real date"


@pytest.mark.parametrize(
    "value", ["", "1101051949123100", "110105194912310021X", "1101051949123100２X", "11010519490229002X", 18]
)
def test_malformed_resident_ids(value: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        ResidentIdNumber(value)


@pytest.mark.parametrize(
    "value", ["1380013800", "138001380001", "23800138000", "1380013800a", "１３８００１３８０００"]
)
def test_malformed_phones(value: str) -> None:
    with pytest.raises(ValueError):
        PhoneNumber(value)


# -- masking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (ResidentIdNumber(RESIDENT_ID), "110105********002X"),
        (SocialCreditCode(USCC), "911100********341L"),
        (PhoneNumber(PHONE), "138****8000"),
    ],
)
def test_repr_and_str_are_masked(value: Any, masked: str) -> None:
    assert str(value) == masked == value.masked
    assert f"{value}" == masked
    assert repr(value) == f"{type(value).__name__}({masked!r})"
    assert value.value not in repr(value) + str(value)


class Person(BaseModel):
    id_number: ResidentIdNumber
    phone: PhoneNumber
    uscc: SocialCreditCode | None = None


def test_models_show_masked_values_but_send_real_ones() -> None:
    person = Person(id_number=RESIDENT_ID, phone=PHONE, uscc=USCC)
    shown = repr(person) + str(person)
    for raw in (RESIDENT_ID, PHONE, USCC):
        assert raw not in shown
    assert person.model_dump() == {"id_number": RESIDENT_ID, "phone": PHONE, "uscc": USCC}
    assert Person.model_validate_json(person.model_dump_json()) == person


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("id_number", "11010519491231002Y"),
        ("id_number", "11010519491331002X"),
        ("phone", "2380013800"),
        ("uscc", "91110000600037341X"),
    ],
)
def test_the_sdks_models_never_repeat_the_value_in_validation_errors(field: str, bad: str) -> None:
    if field == "uscc":
        model: type[BaseModel] = EnterpriseBorrower
        data = {"type": "enterprise", "name": "x", "uscc": bad}
    else:
        model = IndividualBorrower
        data = {"type": "individual", "name": "x", "id_number": RESIDENT_ID, "phone": PHONE, field: bad}
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    assert bad not in str(info.value) and bad not in repr(info.value)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("id_number", "11010519491231002Y"),
        ("id_number", "11010519491231002X "),
        ("phone", "13800138000x"),
        ("phone", "23800138000"),
    ],
)
def test_parameter_errors_never_repeat_the_value(field: str, bad: str) -> None:
    borrower = {"type": "individual", "name": "张三", "id_number": RESIDENT_ID, "phone": PHONE, field: bad}
    data = {
        "product": "consumer_installment",
        "merchant_order_id": "ORD-1",
        "borrower": borrower,
        "loan": {
            "principal": yg.Money.cny(1000),
            "term_months": 12,
            "annual_rate": "0.1",
            "first_due_date": "2026-12-25",
        },
    }
    try:
        validate_params(QuoteCreateParams, data)
    except yg.ParameterError as exc:
        assert exc.param == f"borrower.{field}"
        for text in (str(exc), repr(exc)):
            assert bad.strip() not in text and bad.strip()[:17] not in text
    else:
        assert bad.strip() == RESIDENT_ID  # trailing spaces are stripped: still the valid number


def test_quote_params_repr_is_masked() -> None:
    borrower = {"type": "individual", "name": "张三", "id_number": RESIDENT_ID, "phone": PHONE}
    data = {
        "product": "consumer_installment",
        "merchant_order_id": "ORD-1",
        "borrower": borrower,
        "loan": {
            "principal": yg.Money.cny(1000),
            "term_months": 12,
            "annual_rate": "0.1",
            "first_due_date": "2026-12-25",
        },
    }
    params = validate_params(QuoteCreateParams, data)
    assert RESIDENT_ID not in repr(params) and PHONE not in repr(params)
    assert "110105********002X" in repr(params)


def test_equality_and_hashing_use_the_real_value() -> None:
    assert ResidentIdNumber(RESIDENT_ID) == ResidentIdNumber("11010519491231002x")
    assert len({ResidentIdNumber(RESIDENT_ID), ResidentIdNumber(RESIDENT_ID)}) == 1
    assert ResidentIdNumber(RESIDENT_ID) != RESIDENT_ID  # not a str: cannot leak by comparison in logs
    assert PhoneNumber(PHONE) != ResidentIdNumber(RESIDENT_ID)
