"""``yangguang_sdk.testing``: made-up identities and loans that the SDK and the sandbox accept, the
same ones for the same seed, from a module as light as the SDK itself."""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
from collections import Counter

import pytest

import yangguang_sdk as yg
from yangguang_sdk import testing
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types.identity import (
    PhoneNumber,
    resident_id_check_character,
    resident_id_problem,
    social_credit_code_check_character,
    social_credit_code_problem,
)
from yangguang_sdk.types.products import PRODUCTS

TODAY = dt.date(2026, 11, 25)


def test_every_generated_resident_id_number_validates() -> None:
    rng = random.Random(1)
    numbers = [testing.resident_id_number(rng) for _ in range(2000)]
    assert all(resident_id_problem(n) is None for n in numbers)
    assert len(set(numbers)) > 1990  # a Random draws a sequence, not one number again and again


def test_every_generated_social_credit_code_validates() -> None:
    rng = random.Random(2)
    codes = [testing.social_credit_code(rng) for _ in range(2000)]
    assert all(social_credit_code_problem(c) is None for c in codes)
    assert len(set(codes)) == 2000


def test_every_generated_phone_number_validates() -> None:
    rng = random.Random(3)
    assert all(PhoneNumber(testing.phone_number(rng)).value for _ in range(500))


def test_the_check_characters_are_the_standards() -> None:
    assert resident_id_check_character("11010519491231002") == "X"
    assert social_credit_code_check_character("91110000600037341") == "L"
    with pytest.raises(ValueError):
        resident_id_check_character("1101051949123100")
    with pytest.raises(ValueError):
        social_credit_code_check_character("9111000060003734I")


def test_the_same_seed_gives_the_same_data() -> None:
    assert testing.resident_id_number(7) == testing.resident_id_number(random.Random(7))
    assert testing.social_credit_code(7) == testing.social_credit_code(7)
    assert testing.borrower("sme_loan", 7) == testing.borrower("sme_loan", 7)
    first = list(testing.quote_requests(50, seed=11, today=TODAY))
    assert first == list(testing.quote_requests(50, seed=11, today=TODAY))
    assert first != list(testing.quote_requests(50, seed=12, today=TODAY))


def test_a_borrower_is_of_the_kind_its_product_insures() -> None:
    for name, product in PRODUCTS.items():
        made = testing.borrower(name, 5)
        assert made["type"] == product.borrower_types[0]
        assert ("uscc" in made) is (product.borrower_types[0] == "enterprise")
        assert made["credit_score"] == 720
    assert "credit_score" not in testing.borrower(credit_score=None)


def test_quote_requests_are_accepted_by_a_sandbox_and_give_every_decision() -> None:
    requests = list(testing.quote_requests(120, seed=4, today=TODAY))
    assert [r["merchant_order_id"] for r in requests[:2]] == ["GEN-00000001", "GEN-00000002"]
    assert all(TODAY < dt.date.fromisoformat(r["loan"]["first_due_date"]) for r in requests)
    now = dt.datetime.combine(TODAY, dt.time(2), tzinfo=dt.timezone.utc)
    with Sandbox(now=now) as sb, sb.client() as client:
        decisions = Counter(client.quotes.create(**request).decision for request in requests)
    assert set(decisions) == {"approved", "declined", "referred"}
    assert sum(decisions.values()) == 120


def test_the_module_loads_no_sandbox_web_stack_or_cli() -> None:
    code = (
        "import sys, yangguang_sdk.testing as t; list(t.quote_requests(3));"
        "heavy = ('fastapi', 'uvicorn', 'starlette', 'typer', 'yangguang_sdk.sandbox', 'yangguang_sdk.cli');"
        "print([m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


def test_an_unknown_product_is_a_parameter_error_that_lists_the_products() -> None:
    with pytest.raises(yg.ParameterError) as info:
        testing.borrower("sme")
    assert info.value.param == "product" and "sme_loan" in str(info.value)
