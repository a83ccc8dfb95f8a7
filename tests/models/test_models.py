"""Request models refuse unknown fields (a typo is caught before sending); response models accept them
(the insurer may add fields without breaking an old SDK)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import yangguang_sdk.types as t
from yangguang_sdk.types import _base
from yangguang_sdk.types._base import RequestModel

# response objects, and the parts nested in them (an installment line) where the SDK has a base for those
RESPONSE_BASES = tuple(getattr(_base, name) for name in ("APIObject", "NestedObject") if hasattr(_base, name))

REQUEST_MODELS = sorted(
    (cls for cls in vars(t).values() if isinstance(cls, type) and issubclass(cls, RequestModel)),
    key=lambda c: c.__name__,
)
RESPONSE_MODELS = sorted(
    (cls for cls in vars(t).values() if isinstance(cls, type) and issubclass(cls, RESPONSE_BASES)),
    key=lambda c: c.__name__,
)
MONEY = {"amount": 100, "currency": "CNY"}
NOW = "2026-11-25T02:00:00Z"

BANK = {"type": "bank", "name": "x", "uscc": "91110000MA01BANK02"}
VALID_REQUESTS: dict[str, dict[str, Any]] = {
    "BeneficiaryParams": BANK,
    "ContractParams": {"number": "HT-1"},
    "GuarantorParams": {"name": "x", "uscc": "91110000600037341L"},
    "VehicleParams": {"vin": "LSVAU218XN2183294"},
    "ExposureCheckParams": {
        "borrower": {"type": "individual", "name": "x", "id_number": "11010519491231002X"}
    },
    "EnterpriseBorrower": {"type": "enterprise", "name": "x", "uscc": "91110000600037341L"},
    "IndividualBorrower": {"type": "individual", "name": "x", "id_number": "11010519491231002X"},
    "LoanTerms": {
        "principal": MONEY,
        "term_months": 12,
        "annual_rate": "0.1",
        "first_due_date": "2026-12-25",
    },
    "PolicyBindParams": {"quote_id": "quo_1"},
    "ConsentParams": {"disclosure_acknowledged_at": NOW, "reference": "CR-1"},
    "EndorsementCreateParams": {"principal_reduction": MONEY},
    "PolicyCancelParams": {},
    "PolicySettleParams": {},
    "PolicyUpdateParams": {"metadata": {"cart": "c-77", "old": None}},
    "QuoteCreateParams": {
        "product": "consumer_installment",
        "merchant_order_id": "o",
        "borrower": {"type": "individual", "name": "x", "id_number": "11010519491231002X"},
        "loan": {"principal": MONEY, "term_months": 12, "annual_rate": "0.1", "first_due_date": "2026-12-25"},
    },
    "RepaymentCreateParams": {"policy_id": "pol_1", "installment": 1, "amount": MONEY, "paid_at": NOW},
    "WebhookEndpointCreateParams": {"url": "https://x.test/hook"},
    "WebhookEndpointRecoverParams": {"since": NOW},
}

INSTALLMENT = {
    "installment": 1,
    "due_date": "2026-12-25",
    "principal": MONEY,
    "interest": MONEY,
    "amount": MONEY,
}
POLICY = {
    "id": "pol_1",
    "quote_id": "quo_1",
    "merchant_order_id": "o",
    "product": "p",
    "status": "active",
    "premium": MONEY,
    "sum_insured": MONEY,
    "bound_at": NOW,
    "cooling_off_until": "2026-12-10",
}
BALANCE_TRANSACTION = {
    "id": "btx_1",
    "type": "premium_refund",
    "amount": {"amount": -4866, "currency": "CNY"},
    "policy_id": "pol_1",
    "merchant_order_id": "订单-1",
    "source_id": "end_1",
    "created": NOW,
}
STATEMENT = {
    "month": "2027-01",
    "status": "final",
    **{name: MONEY for name in ("premiums", "refunds", "claims_paid_to_merchant", "commission", "net_due")},
    "lines": [BALANCE_TRANSACTION],
}
VALID_RESPONSES: dict[str, dict[str, Any]] = {
    "Endorsement": {
        "id": "end_1",
        "policy_id": "pol_1",
        "amount": MONEY,
        "premium_refund": MONEY,
        "effective_date": "2026-12-25",
        "sum_insured": MONEY,
    },
    "Consent": {"disclosure_acknowledged_at": NOW, "reference": "CR-1"},
    "Disclosure": {
        "annual_cost_rate": "0.1234",
        "total_interest": MONEY,
        "total_cost": MONEY,
        "key_facts": "保险费",
        "wording_version": "2026-11-29",
        "wording_sha256": "0" * 64,
    },
    "Wording": {"version": "2026-11-29", "text": "条款", "sha256": "0" * 64},
    "Beneficiary": BANK,
    "Contract": {"number": "HT-1"},
    "Guarantor": {"name": "x", "uscc": "91110000600037341L"},
    "Vehicle": {"vin": "LSVAU218XN2183294"},
    "ExposureCheck": {"limit": MONEY, "used": MONEY, "available": MONEY},
    "Claim": {"id": "clm_1", "policy_id": "pol_1", "status": "open", "amount": MONEY, "opened_at": NOW},
    "DeliveryAttempt": {"event_id": "evt_1", "endpoint_id": "whe_1", "attempt": 1, "at": NOW},
    "Installment": INSTALLMENT,
    "Policy": POLICY,
    "Quote": {
        "id": "quo_1",
        "product": "p",
        "merchant_order_id": "o",
        "decision": "approved",
        "sum_insured": MONEY,
        "created_at": NOW,
        "schedule": [INSTALLMENT],
    },
    "Repayment": {"id": "rep_1", "policy_id": "pol_1", "installment": 1, "amount": MONEY, "paid_at": NOW},
    "TestClock": {"now": NOW},
    "BalanceTransaction": BALANCE_TRANSACTION,
    "Statement": STATEMENT,
    "StatementEvent": {"type": "statement.finalized", "timestamp": NOW, "data": STATEMENT},
    "WebhookEndpoint": {"id": "whe_1", "url": "https://x.test"},
    "WebhookRecovery": {"endpoint_id": "whe_1", "since": NOW, "recovered": 2},
    "EventType": {
        "id": "claim.paid",
        "type": "claim.paid",
        "description": "The claim was paid.",
        "data_object": "claim",
        "data_schema": {"type": "object"},
    },
    "BaseEvent": {"type": "x.y", "timestamp": NOW},
    "ClaimEvent": {
        "type": "claim.paid",
        "timestamp": NOW,
        "data": {"id": "clm_1", "policy_id": "pol_1", "status": "paid", "amount": MONEY, "opened_at": NOW},
    },
    "GenericEvent": {"type": "x.y", "timestamp": NOW, "data": {}},
    "InstallmentEvent": {"type": "installment.overdue", "timestamp": NOW, "data": POLICY, "installment": 1},
    "PolicyEvent": {"type": "policy.bound", "timestamp": NOW, "data": POLICY},
    "QuoteEvent": {
        "type": "quote.decided",
        "timestamp": NOW,
        "data": {
            "id": "quo_1",
            "product": "p",
            "merchant_order_id": "o",
            "decision": "declined",
            "sum_insured": MONEY,
            "created_at": NOW,
        },
    },
    "RepaymentEvent": {
        "type": "repayment.created",
        "timestamp": NOW,
        "data": {"id": "rep_1", "policy_id": "pol_1", "installment": 1, "amount": MONEY, "paid_at": NOW},
    },
    "WebhookEndpointEvent": {
        "type": "webhook_endpoint.disabled",
        "timestamp": NOW,
        "data": {"id": "whe_1", "url": "https://x.test"},
    },
}
VALID_REQUESTS["QuoteBatchCreateParams"] = {"items": [VALID_REQUESTS["QuoteCreateParams"]]}
BATCH_ERROR = {"index": 1, "type": "invalid_request_error", "code": "invalid_parameter", "message": "x"}
VALID_RESPONSES["QuoteBatchError"] = BATCH_ERROR
VALID_RESPONSES["QuoteBatch"] = {
    "data": [{"object": "quote", **VALID_RESPONSES["Quote"]}, {"object": "error", **BATCH_ERROR}]
}


def test_every_model_has_an_example_here() -> None:
    assert {c.__name__ for c in REQUEST_MODELS} == set(VALID_REQUESTS)
    assert {c.__name__ for c in RESPONSE_MODELS} == set(VALID_RESPONSES)


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda c: c.__name__)
def test_request_models_forbid_unknown_fields(model: type[BaseModel]) -> None:
    valid = VALID_REQUESTS[model.__name__]
    model.model_validate(valid)
    with pytest.raises(ValidationError) as info:
        model.model_validate({**valid, "colour": "blue"})
    (error,) = info.value.errors()
    assert error["type"] == "extra_forbidden" and error["loc"][-1] == "colour"


@pytest.mark.parametrize("model", RESPONSE_MODELS, ids=lambda c: c.__name__)
def test_response_models_ignore_unknown_fields(model: type[BaseModel]) -> None:
    valid = VALID_RESPONSES[model.__name__]
    plain = model.model_validate(valid)
    richer = model.model_validate({**valid, "colour": "blue", "nested": {"added": [1, 2]}})
    assert richer.model_dump(exclude={"colour", "nested"}) == plain.model_dump()
    assert model.model_validate_json(richer.model_dump_json()) == richer


@pytest.mark.parametrize("model", [*REQUEST_MODELS, *RESPONSE_MODELS], ids=lambda c: c.__name__)
def test_validation_errors_never_show_the_input(model: type[BaseModel]) -> None:
    assert model.model_config.get("hide_input_in_errors") is True


def test_nested_unknown_fields_are_refused_in_requests_too() -> None:
    data = {**VALID_REQUESTS["QuoteCreateParams"]}
    data["loan"] = {**data["loan"], "term_month": 12}
    with pytest.raises(ValidationError) as info:
        t.QuoteCreateParams.model_validate(data)
    assert info.value.errors()[0]["loc"] == ("loan", "term_month")


def test_parse_event_types_by_type_and_keeps_unknown_types() -> None:
    claim = t.parse_event(VALID_RESPONSES["ClaimEvent"])
    assert isinstance(claim, t.ClaimEvent) and claim.data.amount.amount == 100
    unknown = t.parse_event(
        b'{"type": "policy.renewed", "timestamp": "2026-11-25T02:00:00Z", "data": {"v": 1}}'
    )
    assert isinstance(unknown, t.GenericEvent) and unknown.data == {"v": 1}
    assert claim.timestamp == dt.datetime(2026, 11, 25, 2, tzinfo=dt.timezone.utc)
    assert set(t.EVENT_TYPES) >= {"claim.paid", "recovery.received", "loan.defaulted", "quote.decided"}


def test_object_version_reads_the_data_version() -> None:
    event = t.parse_event({**VALID_RESPONSES["PolicyEvent"], "data": {**POLICY, "version": 7}})
    assert event.object_version == 7


# -- the one converter: every problem, borrower kinds (issue 10) ----------------------------------


def _quote_errors(**changes: Any) -> ValidationError:
    data = {**VALID_REQUESTS["QuoteCreateParams"], **changes}
    with pytest.raises(ValidationError) as info:
        t.QuoteCreateParams.model_validate(data)
    return info.value


def test_validation_problems_lists_every_problem_typo_first() -> None:
    from yangguang_sdk.types._validation import validation_problems

    error = _quote_errors(
        merchant_order_id="",
        borrower={"type": "individual", "nmae": "张三", "id_number": "11010519491231002X", "credit_score": 1},
    )
    problems = validation_problems(error)
    assert [p.param for p in problems] == ["borrower.nmae", "merchant_order_id", "borrower.credit_score"]
    assert problems[0].message == "unknown field (did you mean 'name'?)"


def test_the_api_form_names_the_missing_field_first_and_keeps_the_typo() -> None:
    from yangguang_sdk.types._validation import describe_validation_error, validation_problems

    enterprise = {"type": "enterprise", "name": "阳光制造", "id_number": "91110000600037341L"}
    raw = [
        {**e, "loc": ("body", *e["loc"])}
        for e in _quote_errors(product="sme_loan", borrower=enterprise).errors()
    ]
    problems = validation_problems(raw, typo_first=False, skip=1)
    assert [p.param for p in problems] == ["borrower.uscc", "borrower.id_number"]
    assert "did you mean 'uscc'?" in problems[1].message
    problem = describe_validation_error(raw, typo_first=False, skip=1)
    assert problem.param == "borrower.uscc"
    assert str(problem) == f"borrower.uscc: is required; borrower.id_number: {problems[1].message}"
    assert "91110000600037341L" not in str(problem)


def test_describe_validation_error_shows_three_problems_then_counts_the_rest() -> None:
    from yangguang_sdk.types._validation import describe_validation_error, validation_problems

    error = _quote_errors(product="car_loan", merchant_order_id="", borrower={"type": "individual"}, loan={})
    problems = validation_problems(error)
    assert len(problems) == 8
    assert (
        str(describe_validation_error(error))
        == "; ".join(str(p) for p in problems[:3]) + "; and 5 more problems"
    )


@pytest.mark.parametrize(
    ("borrower", "unknown", "meant"),
    [
        ({"type": "enterprise", "name": "x", "id_number": "91110000600037341L"}, "id_number", "uscc"),
        ({"type": "individual", "name": "x", "uscc": "11010519491231002X"}, "uscc", "id_number"),
    ],
)
def test_an_identity_field_of_the_other_borrower_kind_points_to_the_right_one(
    borrower: dict[str, Any], unknown: str, meant: str
) -> None:
    from yangguang_sdk.types._validation import validation_problems

    problems = validation_problems(_quote_errors(borrower=borrower))
    assert [p.param for p in problems] == [f"borrower.{unknown}"]  # the missing one is the same mistake
    assert f"did you mean {meant!r}?" in problems[0].message and "typo" not in problems[0].message


def test_an_enterprise_given_a_phone_is_told_only_individuals_have_one() -> None:
    from yangguang_sdk.types._validation import validation_problems

    enterprise = {"type": "enterprise", "name": "x", "uscc": "91110000600037341L", "phone": "13800138000"}
    (problem,) = validation_problems(_quote_errors(product="sme_loan", borrower=enterprise))
    assert problem.param == "borrower.phone" and "only individual borrowers have a phone" in problem.message


@pytest.mark.parametrize("order_id", ["订单-2026-0001", "ORD-1001", "注文#42/α", "订" * 64])
def test_a_merchant_order_id_may_be_in_any_script(order_id: str) -> None:
    data = {**VALID_REQUESTS["QuoteCreateParams"], "merchant_order_id": order_id}
    assert t.QuoteCreateParams.model_validate(data).merchant_order_id == order_id


@pytest.mark.parametrize("value", [dt.datetime(2026, 12, 25), "2026-12-25T00:00:00", 1798156800])
def test_first_due_date_takes_no_datetime_in_the_model_the_sandbox_shares(value: object) -> None:
    data = {**VALID_REQUESTS["QuoteCreateParams"]}
    data["loan"] = {**data["loan"], "first_due_date": value}
    with pytest.raises(ValidationError) as info:
        t.QuoteCreateParams.model_validate(data)
    (error,) = info.value.errors()
    assert error["loc"] == ("loan", "first_due_date") and "YYYY-MM-DD" in error["msg"]
