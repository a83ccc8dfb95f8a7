"""``yangguang trigger EVENT_TYPE``: make a sandbox emit an event by doing what produces it.

Each trigger quotes a fresh loan (its own ``merchant_order_id``), binds it and takes it as far as
the event needs: a cancellation, a repayment, or a missed first installment and the sandbox clock
moved past the dates of DESIGN §4 (overdue the day after the due date, default and claim 80 days
after it, approval 1 day and payment 4 days after the default, recovery 30 days after payment).

Moving the clock moves it for the whole sandbox: every other loan on it ages as well.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._cli_common import EXIT_ERROR, EXIT_USAGE, CLIError
from .errors import APIStatusError
from .types.money import Money

if TYPE_CHECKING:
    from ._client import Client

__all__ = ["TRIGGERS", "TriggerResult", "run_trigger"]

# Step names, in the order a scenario runs them.
_QUOTE, _REFER, _BIND, _CANCEL, _SETTLE, _REPAY = "quote", "refer", "bind", "cancel", "settle", "repay"

# Clock offsets after the first due date (DESIGN §4, consumer_installment).
_OVERDUE_AFTER = 1
_DEFAULT_AFTER = 80
_APPROVED_AFTER = _DEFAULT_AFTER + 1
_PAID_AFTER = _DEFAULT_AFTER + 4
_RECOVERED_AFTER = _PAID_AFTER + 30
_REFERRAL_MINUTES = 31  # a referred quote is decided 30 clock-minutes after it was made


@dataclass(frozen=True)
class _Scenario:
    description: str
    steps: tuple[str, ...] = ()
    days_after_due: int | None = None  # leave installment 1 unpaid and move the clock this far past it
    repay_after: bool = False  # then report installment 1 paid (late)


TRIGGERS: dict[str, _Scenario] = {
    "quote.decided": _Scenario(
        "a quote with no credit score is referred; the clock moves 31 minutes and it is decided", (_REFER,)
    ),
    "policy.bound": _Scenario("a quote is approved and bound", (_BIND,)),
    "policy.cancelled": _Scenario(
        "a policy is bound and cancelled in its cooling-off period", (_BIND, _CANCEL)
    ),
    "policy.completed": _Scenario("a policy is bound and settled early (提前结清)", (_BIND, _SETTLE)),
    "repayment.created": _Scenario(
        "a policy is bound and its first installment reported paid", (_BIND, _REPAY)
    ),
    "installment.overdue": _Scenario(
        "installment 1 is not paid; the clock moves to the day after its due date",
        (_BIND,),
        days_after_due=_OVERDUE_AFTER,
    ),
    "installment.cured": _Scenario(
        "installment 1 goes overdue, then is reported paid late", (_BIND,), _OVERDUE_AFTER, repay_after=True
    ),
    "loan.defaulted": _Scenario(
        "installment 1 is never paid; the clock moves 80 days past its due date", (_BIND,), _DEFAULT_AFTER
    ),
    "claim.opened": _Scenario(
        "as loan.defaulted: a claim opens on the day of the default", (_BIND,), _DEFAULT_AFTER
    ),
    "claim.approved": _Scenario(
        "as loan.defaulted, and one more day: the claim is approved", (_BIND,), _APPROVED_AFTER
    ),
    "claim.paid": _Scenario(
        "as loan.defaulted, and four more days: the claim is paid (代偿)", (_BIND,), _PAID_AFTER
    ),
    "recovery.received": _Scenario(
        "as claim.paid, and 30 more days: the insurer recovers part of it (追偿)", (_BIND,), _RECOVERED_AFTER
    ),
}

_BORROWER = {
    "type": "individual",
    "name": "测试用户",
    "id_number": "11010519491231002X",
    "phone": "13800138000",
    "credit_score": 720,
}


@dataclass
class TriggerResult:
    """What a trigger did and the events it produced (the related ones, oldest first)."""

    event_type: str
    merchant_order_id: str
    object_ids: set[str] = field(default_factory=set)
    events: list[Any] = field(default_factory=list)

    @property
    def matching(self) -> list[Any]:
        return [e for e in self.events if e.type == self.event_type]


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _span(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def _advance_to(client: Client, target: dt.datetime, say: Callable[[str], None], why: str) -> None:
    now = client.test_clock.retrieve().now
    if target <= now:
        return
    delta = target - now
    minutes = -(-int(delta.total_seconds()) // 60)  # whole minutes, rounded up
    days, minutes = divmod(minutes, 24 * 60)
    after = client.test_clock.advance(days=days, minutes=minutes).now
    say(f"  clock     moved {_span(after - now)} forward to {_stamp(after)} ({why})")


def run_trigger(client: Client, event_type: str, say: Callable[[str], None]) -> TriggerResult:
    """Produce ``event_type`` on the sandbox behind ``client``; ``say`` reports each step."""
    scenario = TRIGGERS.get(event_type)
    if scenario is None:
        raise CLIError(
            f"cannot trigger {event_type!r}; `yangguang trigger --list` shows the events it can make",
            EXIT_USAGE,
        )
    try:
        start = client.test_clock.retrieve().now
    except APIStatusError as exc:
        if exc.status_code in (403, 404):
            raise CLIError(
                f"{client.base_url} has no test clock: trigger works against a sandbox only", EXIT_USAGE
            ) from None
        raise
    order = f"trigger-{event_type.replace('.', '-')}-{secrets.token_hex(4)}"
    result = TriggerResult(event_type, order)
    first_due = start.date() + dt.timedelta(days=1)
    referred = _REFER in scenario.steps
    borrower = {k: v for k, v in _BORROWER.items() if not (referred and k == "credit_score")}
    quote = client.quotes.create(
        product="consumer_installment",
        merchant_order_id=order,
        borrower=borrower,
        loan={
            "principal": Money.cny("12999.00"),
            "term_months": 12,
            "annual_rate": "0.12",
            "first_due_date": first_due.isoformat(),
        },
    )
    result.object_ids.add(quote.id)
    premium = f", premium {quote.premium}" if quote.premium else ""
    say(f"  quote     {quote.id} {quote.decision}{premium} (order {order})")
    if referred:
        _advance_to(
            client, start + dt.timedelta(minutes=_REFERRAL_MINUTES), say, "referrals are decided after 30 min"
        )
    if _BIND in scenario.steps:
        if quote.decision != "approved":
            raise CLIError(
                f"the sandbox did not approve the trigger's quote ({quote.decline_reason})", EXIT_ERROR
            )
        policy = client.policies.bind(quote_id=quote.id)
        result.object_ids.add(policy.id)
        say(
            f"  policy    {policy.id} bound; installment 1 of {policy.installments[0].amount} due {first_due}"
        )
        if _CANCEL in scenario.steps:
            cancelled = client.policies.cancel(policy.id, reason="yangguang_trigger")
            say(f"  policy    {policy.id} cancelled, refund {cancelled.refund}")
        if _SETTLE in scenario.steps:
            settled = client.policies.settle(policy.id)
            say(f"  policy    {policy.id} settled early, refund {settled.refund}")
        if _REPAY in scenario.steps:
            _repay_first(client, policy.id, policy.installments[0].amount, result, say)
        if scenario.days_after_due is not None:
            target = dt.datetime.combine(
                first_due + dt.timedelta(days=scenario.days_after_due), dt.time(0, 1), tzinfo=dt.timezone.utc
            )
            _advance_to(client, target, say, f"installment 1 left unpaid, due {first_due}")
            if scenario.repay_after:
                _repay_first(client, policy.id, policy.installments[0].amount, result, say)
    result.events = _related_events(client, start, result.object_ids)
    if not result.matching:
        raise CLIError(
            f"the sandbox did not emit {event_type} (events seen: "
            f"{', '.join(e.type for e in result.events) or 'none'}); is its clock unusual?",
            EXIT_ERROR,
        )
    return result


def _repay_first(
    client: Client, policy_id: str, amount: Money, result: TriggerResult, say: Callable[[str], None]
) -> None:
    now = client.test_clock.retrieve().now
    repayment = client.repayments.create(policy_id=policy_id, installment=1, amount=amount, paid_at=now)
    result.object_ids.add(repayment.id)
    say(f"  repayment {repayment.id} installment 1, {amount}")


def _related_events(client: Client, since: dt.datetime, ids: set[str]) -> list[Any]:
    """Events since ``since`` about the trigger's own objects: the quote, the policy, a repayment,
    or a claim (which names its policy)."""
    related = []
    for event in client.events.list(created_gte=since, limit=100):
        data = event.data
        own = data.get("id") if isinstance(data, dict) else getattr(data, "id", None)
        parent = data.get("policy_id") if isinstance(data, dict) else getattr(data, "policy_id", None)
        if own in ids or parent in ids:
            related.append(event)
    return related
