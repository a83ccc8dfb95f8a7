"""The typed dicts an editor completes (``borrower={...``) say what the request models check: the
same keys, the same required ones, and the documented call validates through both."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import yangguang_sdk as yg
import yangguang_sdk.types as t

PAIRS = [
    (t.IndividualBorrowerParam, t.IndividualBorrower),
    (t.EnterpriseBorrowerParam, t.EnterpriseBorrower),
    (t.LoanParam, t.LoanTerms),
]


@pytest.mark.parametrize(("typed", "model"), PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_typed_params_name_the_fields_of_their_request_model(typed: Any, model: type[BaseModel]) -> None:
    assert set(typed.__annotations__) == set(model.model_fields)
    assert typed.__required_keys__ == {name for name, f in model.model_fields.items() if f.is_required()}


def test_the_documented_quote_params_validate_as_typed_dicts_and_as_models() -> None:
    borrower: t.BorrowerParam = {
        "type": "individual",
        "name": "张三",
        "id_number": "11010519491231002X",
        "phone": "13800138000",
        "credit_score": 720,
    }
    loan: t.LoanParam = {
        "principal": yg.Money.cny("12999.00"),
        "term_months": 12,
        "annual_rate": "0.12",
        "first_due_date": "2026-12-25",
    }
    wire: t.LoanParam = {**loan, "principal": {"amount": 1299900, "currency": "CNY"}}
    for terms in (loan, wire):
        params = t.QuoteCreateParams.model_validate(
            {
                "product": "consumer_installment",
                "merchant_order_id": "ORD-1",
                "borrower": borrower,
                "loan": terms,
            }
        )
        assert params.loan.principal == yg.Money.cny("12999.00")
