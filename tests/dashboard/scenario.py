"""A tenant with something to see: a bound policy and a webhook endpoint (for the dashboard tests)."""

from __future__ import annotations

import datetime as dt

import yangguang_sdk as yg

KEY_A = "yg_test_dashboard_tenant_a"
KEY_B = "yg_test_dashboard_tenant_b"
WEBHOOK_EVENTS = ["policy.bound", "claim.paid", "webhook_endpoint.test", "webhook_endpoint.enabled"]


def bind_policy(client: yg.Client, order: str = "ORD-DASH-1") -> yg.types.Policy:
    """A consumer installment policy on 12,999.00 yuan, first due a month after the tenant's now."""
    first_due = (client.test_clock.retrieve().now + dt.timedelta(days=30)).date()
    quote = client.quotes.create(
        product="consumer_installment",
        merchant_order_id=order,
        borrower={
            "type": "individual",
            "name": "张三",
            "id_number": "11010519491231002X",
            "credit_score": 720,
        },
        loan={
            "principal": yg.Money.cny("12999.00"),
            "term_months": 12,
            "annual_rate": "0.12",
            "first_due_date": first_due,
        },
    )
    return client.policies.bind(quote_id=quote.id, consent=yg.consent(client, reference=f"C-{order}"))
