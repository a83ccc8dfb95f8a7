"""A merchant's installment checkout against the in-process sandbox insurer, told as a story.

Run it with ``make demo`` (or ``python examples/checkout.py``). Nothing leaves the process: the
sandbox insurer runs inside it, and its clock moves only when the story says so.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable
from typing import Any

import httpx

import yangguang_sdk as yg
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.webhooks import MemoryInbox, WebhookHandler

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)
FIRST_DUE = "2026-12-25"

BUYERS = [
    # (order id, name, resident ID, phone, credit score, price, annual rate, months)
    ("ORD-1001", "张三", "11010519491231002X", "13800138000", 720, "12999.00", "0.12", 12),
    ("ORD-1002", "李四", "110101199003074477", "13900139000", 575, "8999.00", "0.22", 12),
    ("ORD-1003", "王五", "440304198807150035", "13700137000", None, "3999.00", "0.10", 6),
]


def say(text: str = "") -> None:
    print(text)


def row(*cells: object) -> None:
    widths = (10, 10, 12, 14, 14, 34)
    say("  " + " ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)))


def pay_on_due_date(client: yg.Client, policy_id: str, inst: yg.types.Installment) -> None:
    """Move the clock to the installment's due date (09:00 UTC) and report it paid."""
    due = dt.datetime.combine(inst.due_date, dt.time(9), tzinfo=dt.timezone.utc)
    now = client.test_clock.retrieve().now
    if due > now:
        client.test_clock.advance(minutes=int((due - now).total_seconds() // 60))
    client.repayments.create(
        policy_id=policy_id, installment=inst.installment, amount=inst.amount, paid_at=due
    )
    say(f"  {due:%Y-%m-%d}: installment {inst.installment} paid, {inst.amount}")


class MerchantApp:
    """The merchant's web app, as far as webhooks go: a WSGI app serving a WebhookHandler. The
    sandbox delivers to it in-process (no network), signed exactly as it would over HTTP."""

    def __init__(self) -> None:
        self.handler: WebhookHandler | None = None
        self.received: list[str] = []

    def listen(self, handler: WebhookHandler) -> None:
        self.handler = handler

        @handler.on("installment.overdue", "loan.defaulted", "claim.opened", "claim.approved")
        def note(event: yg.types.BaseEvent) -> None:
            self.received.append(f"{event.timestamp:%Y-%m-%d} {event.type}")

        @handler.on("claim.paid")
        def paid(event: yg.types.ClaimEvent) -> None:
            claim = event.data
            self.received.append(
                f"{event.timestamp:%Y-%m-%d} claim.paid: {claim.amount} paid to the lender (代偿)"
            )

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.handler is not None
        return self.handler.wsgi_app(environ, start_response)


def main() -> int:
    merchant = MerchantApp()
    sb = Sandbox(now=START, webhook_transport=httpx.WSGITransport(app=merchant.wsgi))
    client = sb.client()
    endpoint = client.webhook_endpoints.create(
        url="https://merchant.example/webhooks/yangguang",
        events=["installment.overdue", "loan.defaulted", "claim.opened", "claim.approved", "claim.paid"],
    )
    assert endpoint.secret is not None  # shown once, at creation: a real merchant stores it now
    merchant.listen(WebhookHandler(sb.webhook(endpoint.secret), inbox=MemoryInbox()))
    say(f"A checkout at {START:%Y-%m-%d %H:%M} UTC. Three buyers choose to pay in installments.")
    say(f"(The merchant's webhook endpoint {endpoint.id} is registered, signed with {endpoint.signing}.)\n")

    quotes: dict[str, yg.types.Quote] = {}
    row("order", "buyer", "decision", "premium", "why")
    for order, name, id_number, phone, score, price, rate, months in BUYERS:
        borrower: dict[str, object] = {
            "type": "individual",
            "name": name,
            "id_number": id_number,
            "phone": phone,
        }
        if score is not None:
            borrower["credit_score"] = score
        quote = client.quotes.create(
            product="consumer_installment",
            merchant_order_id=order,
            borrower=borrower,
            loan={
                "principal": yg.Money.cny(price),
                "term_months": months,
                "annual_rate": rate,
                "first_due_date": FIRST_DUE,
            },
            metadata={"cart": "cart-" + order.removeprefix("ORD-")},  # the shop's own reference
        )
        quotes[order] = quote
        why = quote.decline_reason or (
            "no credit score: a person looks at it" if quote.decision == "referred" else ""
        )
        row(order, name, quote.decision, str(quote.premium or "-"), why)

    approved = quotes["ORD-1001"]
    declined = quotes["ORD-1002"]
    assert approved.decision == "approved", approved
    assert declined.decision == "declined" and declined.decline_reason == "financing_cost_cap_exceeded", (
        declined
    )
    cost = f"{declined.comprehensive_cost:.2%}" if declined.comprehensive_cost is not None else "?"
    say(f"\n{declined.merchant_order_id} would cost its buyer {cost} a year all in: above the 24% cap.")

    assert declined.premium is None and declined.disclosure is None  # no price that is not offered

    say("\nBefore the buyer of ORD-1001 confirms, the checkout shows the disclosure (承保可回溯):")
    disclosure = approved.disclosure
    assert disclosure is not None
    say(f"  {disclosure.key_facts}")
    wording = client.wordings.retrieve(disclosure.wording_version)
    assert wording.sha256 == disclosure.wording_sha256
    say(
        f"  wording {wording.version}: {len(wording.text)} characters, SHA-256 {wording.sha256[:16]}... matches"
    )
    say("The buyer ticks 'I have read the key facts'; the shop records consent CONSENT-1001 and binds,")
    say("using the order id as the idempotency key.")
    consent = yg.consent(client, reference="CONSENT-1001")  # now, on the sandbox's clock
    policy = client.policies.bind(quote_id=approved.id, consent=consent, idempotency_key="ORD-1001")
    assert policy.consent is not None and policy.consent.wording_sha256 == wording.sha256
    say(f"  policy {policy.id}: {policy.status}, premium {policy.premium}, sum insured {policy.sum_insured}")
    say(f"  cooling-off until {policy.cooling_off_until}; first installment {policy.installments[0].amount}")
    again = client.policies.bind(quote_id=approved.id, consent=consent, idempotency_key="ORD-1001")
    assert again.id == policy.id and again.last_response is not None and again.last_response.replayed
    say(
        f"  The network hiccups and the bind is sent again: same policy {again.id} (replayed), not a second one."
    )

    say("\nThirty minutes pass for the referred quote...")
    client.test_clock.advance(minutes=30)
    referred = client.quotes.retrieve(quotes["ORD-1003"].id)
    say(f"  ORD-1003 is now {referred.decision} (premium {referred.premium}); the merchant binds it.")
    assert referred.decision == "approved", referred
    p3 = client.policies.bind(
        quote_id=referred.id, consent=yg.consent(client, reference="CONSENT-1003"), idempotency_key="ORD-1003"
    )

    say("\nThe buyer of ORD-1001 returns the goods ten days later: inside cooling-off, a full refund.")
    client.test_clock.advance(days=10)
    cancelled = client.policies.cancel(policy.id, reason="order_refunded")
    say(f"  {cancelled.status}: refund {cancelled.refund} of {cancelled.premium}")
    assert cancelled.refund == cancelled.premium

    say("\nThe buyer of ORD-1003 pays two installments on time, then cancels: past cooling-off,")
    say("so the refund is the premium not yet earned. The merchant previews it first.")
    for inst in p3.installments[:2]:
        pay_on_due_date(client, p3.id, inst)
    client.test_clock.advance(days=5)
    preview = client.policies.cancel(p3.id, reason="customer_request", preview=True)
    say(f"  preview: refund would be {preview.refund} of {preview.premium}; status still {preview.status}")
    done = client.policies.cancel(p3.id, reason="customer_request")
    say(f"  {done.status}: refund {done.refund}")
    assert done.refund == preview.refund and done.refund is not None and done.refund < done.premium

    say("\nA fourth buyer pays three installments, returns one of two items (部分退货), then repays")
    say("the whole loan early (提前结清).")
    q4 = client.quotes.create(
        product="consumer_installment",
        merchant_order_id="ORD-1004",
        borrower={
            "type": "individual",
            "name": "赵六",
            "id_number": "310104198511201235",
            "credit_score": 700,
        },
        loan={
            "principal": yg.Money.cny("6000.00"),
            "term_months": 12,
            "annual_rate": "0.10",
            "first_due_date": "2027-02-05",
        },
    )
    p4 = client.policies.bind(
        quote_id=q4.id, consent=yg.consent(client, reference="CONSENT-1004"), idempotency_key="ORD-1004"
    )
    for inst in p4.installments[:3]:
        pay_on_due_date(client, p4.id, inst)
    returned = yg.Money.cny("1500.00")
    preview_end = client.policies.endorse(p4.id, principal_reduction=returned, preview=True)
    endorsement = client.policies.endorse(p4.id, principal_reduction=returned)
    assert endorsement.premium_refund == preview_end.premium_refund
    say(
        f"  partial return of {returned}: endorsement {endorsement.id}, premium refund "
        f"{endorsement.premium_refund}; installments now {endorsement.schedule[3].amount} "
        f"(were {p4.installments[3].amount}), sum insured {endorsement.sum_insured}"
    )
    client.test_clock.advance(days=10)
    settled = client.policies.settle(p4.id)
    say(
        f"  {settled.status}: refund {settled.refund} of {settled.premium} (refunded in all {settled.refunded_total})"
    )

    say("\nA fifth buyer pays the first installment, then stops paying. The merchant's webhook")
    say("endpoint hears about it as the sandbox clock runs on:")
    now = client.test_clock.retrieve().now
    first_due = (now + dt.timedelta(days=10)).date()
    q5 = client.quotes.create(
        product="consumer_installment",
        merchant_order_id="ORD-1005",
        borrower={
            "type": "individual",
            "name": "钱七",
            "id_number": "320502199306124563",
            "credit_score": 690,
        },
        loan={
            "principal": yg.Money.cny("4999.00"),
            "term_months": 6,
            "annual_rate": "0.08",
            "first_due_date": first_due.isoformat(),
        },
    )
    p5 = client.policies.bind(
        quote_id=q5.id, consent=yg.consent(client, reference="CONSENT-1005"), idempotency_key="ORD-1005"
    )
    pay_on_due_date(client, p5.id, p5.installments[0])
    client.test_clock.advance(days=120)
    for line in merchant.received:
        say(f"  webhook: {line}")
    assert any("claim.paid" in line for line in merchant.received), merchant.received
    claim = next(iter(client.claims.list(policy_id=p5.id)))
    say(
        f"  claim {claim.id}: {claim.status}, {claim.amount}; policy now {client.policies.retrieve(p5.id).status}"
    )

    say("\nWhat the merchant's books show:")
    row("policy", "order", "cart", "status", "premium", "refunded")
    for p in client.policies.list():
        cart = p.metadata.get("cart", "-")
        row(p.id[:10], p.merchant_order_id, cart, p.status, str(p.premium), str(p.refunded_total or "-"))
    [found] = client.policies.list(metadata={"cart": "cart-1001"})
    say(f"The shop finds the policy of cart-1001 by its own reference: {found.id} ({found.status}).")
    events = [e.type for e in client.events.list()]
    say(f"\n{len(events)} events were emitted: {', '.join(sorted(set(events)))}.")

    # The finance team closes the month of the partial return and the early repayment from the
    # insurer's statement (对账单). The clock is long past that month, so the statement is final.
    assert settled.completed_at is not None
    month = f"{settled.completed_at:%Y-%m}"
    statement = client.statements.retrieve(month)
    assert statement.status == "final"
    say(f"\nThe statement of {month} ({statement.status}), what the merchant settles with the insurer:")
    table = [("created", "type", "order", "source", "amount")]
    for line in statement.lines:
        table.append(
            (
                f"{line.created:%m-%d %H:%M}",
                line.type,
                line.merchant_order_id or "-",
                line.source_id[:10],
                str(line.amount),
            )
        )
    for name in ("premiums", "refunds", "commission", "claims_paid_to_merchant", "net_due"):
        table.append(("", "", "", name, str(getattr(statement, name))))
    for cells in table:
        say(
            "  "
            + " ".join(c.ljust(w) for c, w in zip(cells[:4], (12, 15, 10, 25), strict=True))
            + cells[4].rjust(14)
        )
    lines = sum((line.amount for line in statement.lines), yg.Money.cny(0))
    assert lines == statement.premiums - statement.refunds - statement.claims_paid_to_merchant
    say(
        f"  net due = premiums - refunds - commission - claims paid to the merchant; the lines sum to {lines}."
    )
    client.close()
    sb.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
