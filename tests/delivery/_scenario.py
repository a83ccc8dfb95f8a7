"""A year in the life of a loan book: the scenario of the webhook chaos tests
(``tests/delivery/test_chaos.py`` in process, ``tests/reliability/test_webhook_chaos_postgres.py``
across receiver processes on a PostgreSQL inbox)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import yangguang_sdk as yg
from yangguang_sdk import Client, testing
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types import Policy

FIRST_DUE = dt.date(2026, 12, 25)
"""The first due date of every loan of the book; the sandbox clock starts a month before it."""


def live_a_year(
    sb: Sandbox, client: Client, policies: int, seed: int, *, on_month: Callable[[int], object] | None = None
) -> None:
    """Bind ``policies`` loans and live through their year: most repay on time, some late (overdue,
    then cured), some default (claim opened, approved, paid, recovered), some are cancelled in the
    cooling-off period or settled early. ``on_month(n)`` runs on the n-th due date, before the
    repayments of that month."""
    rng = random.Random(seed)
    book: list[tuple[Policy, str, int]] = []
    for n in range(policies):
        quote = client.quotes.create(
            product="consumer_installment",
            merchant_order_id=f"CHAOS-{n}",
            borrower={
                "type": "individual",
                "name": "张三",
                # a borrower per loan: one person's loans would reach the exposure limit (¥500,000)
                "id_number": testing.resident_id_number(n),
                "credit_score": rng.choice([650, 700, 720, 780]),
            },
            loan={
                "principal": yg.Money.cny(f"{rng.randint(10, 300) * 100}.00"),
                "term_months": rng.choice([3, 6, 12]),
                "annual_rate": "0.12",
                "first_due_date": FIRST_DUE.isoformat(),
            },
        )
        behaviour = rng.choices(["pays", "late", "defaults", "cancels", "settles"], [80, 8, 6, 3, 3])[0]
        book.append(
            (
                client.policies.bind(consent=yg.consent(client, reference="CR-test"), quote_id=quote.id),
                behaviour,
                rng.randint(2, 3),
            )
        )

    client.test_clock.advance(days=5)
    for policy, behaviour, _ in book:
        if behaviour == "cancels":
            client.policies.cancel(policy.id, reason="order_refunded")

    for month in range(1, 13):
        day = add_months(FIRST_DUE, month - 1)
        client.test_clock.advance(days=(day - sb.now.date()).days)
        if on_month is not None:
            on_month(month)
        for policy, behaviour, stop in book:
            lines = policy.installments
            if month > len(lines) or behaviour == "cancels":
                continue
            if behaviour == "settles" and month == 3:
                client.policies.settle(policy.id)
                continue
            if behaviour == "settles" and month > 3:
                continue
            if behaviour == "defaults" and month >= stop:
                continue
            if behaviour == "late" and month == 2:
                continue  # installment 2 goes overdue; paid with installment 3
            paying = [2, 3] if behaviour == "late" and month == 3 else [month]
            for number in paying:
                client.repayments.create(
                    policy_id=policy.id,
                    installment=number,
                    amount=lines[number - 1].amount,
                    paid_at=sb.now,
                )
    client.test_clock.advance(days=200)  # defaults, claims, recoveries, and the last retries


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)


def all_event_ids(client: Client, since: dt.datetime | None = None) -> list[str]:
    """Every event id of the client's tenant (all pages), oldest first."""
    return [e.id for e in client.events.list(created_gte=since, limit=100)]
