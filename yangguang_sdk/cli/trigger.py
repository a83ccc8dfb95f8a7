"""``yangguang trigger EVENT_TYPE``: make a sandbox emit an event by doing what produces it.

Each trigger quotes a fresh loan (its own ``merchant_order_id``), binds it and takes it as far as
the event needs: a cancellation, a repayment, or a missed first installment and the sandbox clock
moved past the dates of DESIGN §4 (overdue the day after the due date, then the product's waiting
period to the default and claim, and the claim and recovery delays of the sandbox's ``PRICING``).

Moving the clock moves it for the whole sandbox: every other loan on it ages as well.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from .. import consent
from ..errors import APIStatusError
from ._common import (
    EXIT_ERROR,
    EXIT_USAGE,
    ApiKeyOption,
    BaseUrlOption,
    CLIError,
    closest,
    command,
    make_client,
    resolve_credentials,
)

if TYPE_CHECKING:
    from .. import Client
    from ..types.money import Money

__all__ = ["TRIGGERS", "TriggerResult", "run_trigger", "trigger", "EPILOG"]

PRODUCT: Final = "consumer_installment"
"""The product of every trigger's loan."""

# Step names, in the order a scenario runs them.
_REFER, _BIND, _CANCEL, _SETTLE, _REPAY = "refer", "bind", "cancel", "settle", "repay"
# How far past installment 1's due date a scenario moves the clock.
_OVERDUE, _DEFAULTED, _APPROVED, _PAID, _RECOVERED = "overdue", "defaulted", "approved", "paid", "recovered"


def _whole(delta: dt.timedelta, unit: dt.timedelta) -> int:
    """``delta`` in whole ``unit``s, rounded up."""
    return -(-delta // unit)


def _more_days(days: int) -> str:
    """``one more day``, ``four more days``, ``30 more days``."""
    words = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    count = words[days - 1] if 1 <= days <= len(words) else str(days)
    return f"{count} more day{'' if days == 1 else 's'}"


@dataclass(frozen=True)
class _Timings:
    """The sandbox's timings a trigger waits out (DESIGN §4): the product's waiting period from the
    product table, the referral, claim and recovery delays from the sandbox's ``PRICING``."""

    referral_minutes: int  # a referred quote is decided this long after it was made
    default_days: int  # from the unpaid due date to the default (day D) and the claim
    approval_days: int  # from D to the claim's approval
    payment_days: int  # from D to the claim's payment (代偿)
    recovery_days: int  # from the payment to the recovery (追偿)

    @property
    def referral_wait_minutes(self) -> int:
        """How far the trigger moves the clock for a referral: one minute past its decision."""
        return self.referral_minutes + 1

    def days_after_due(self, milestone: str) -> int:
        return {
            _OVERDUE: 1,
            _DEFAULTED: self.default_days,
            _APPROVED: self.default_days + self.approval_days,
            _PAID: self.default_days + self.payment_days,
            _RECOVERED: self.default_days + self.payment_days + self.recovery_days,
        }[milestone]


@functools.cache
def _timings() -> _Timings:
    # Imported here, not at the top: ``yangguang --help`` must not load the sandbox package.
    from ..sandbox.products import PRICING
    from ..types.products import PRODUCTS

    day = dt.timedelta(days=1)
    return _Timings(
        referral_minutes=_whole(PRICING.referral_delay, dt.timedelta(minutes=1)),
        default_days=PRODUCTS[PRODUCT].waiting_period_days,
        approval_days=_whole(PRICING.claim_approval_delay, day),
        payment_days=_whole(PRICING.claim_payment_delay, day),
        recovery_days=_whole(PRICING.recovery_delay, day),
    )


@dataclass(frozen=True)
class _Scenario:
    summary: str  # may name {referral}, {default}, {approval}, {payment}, {recovery}
    steps: tuple[str, ...] = ()
    until: str | None = None  # leave installment 1 unpaid and move the clock this far past its due date
    repay_after: bool = False  # then report installment 1 paid (late)

    @property
    def description(self) -> str:
        t = _timings()
        return self.summary.format(
            referral=t.referral_wait_minutes,
            default=t.default_days,
            approval=_more_days(t.approval_days),
            payment=_more_days(t.payment_days),
            recovery=_more_days(t.recovery_days),
        )

    @property
    def days_after_due(self) -> int | None:
        return None if self.until is None else _timings().days_after_due(self.until)


TRIGGERS: dict[str, _Scenario] = {
    "quote.decided": _Scenario(
        "a quote with no credit score is referred; the clock moves {referral} minutes and it is decided",
        (_REFER,),
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
        "installment 1 is not paid; the clock moves to the day after its due date", (_BIND,), _OVERDUE
    ),
    "installment.cured": _Scenario(
        "installment 1 goes overdue, then is reported paid late", (_BIND,), _OVERDUE, repay_after=True
    ),
    "loan.defaulted": _Scenario(
        "installment 1 is never paid; the clock moves {default} days past its due date", (_BIND,), _DEFAULTED
    ),
    "claim.opened": _Scenario(
        "as loan.defaulted: a claim opens on the day of the default", (_BIND,), _DEFAULTED
    ),
    "claim.approved": _Scenario(
        "as loan.defaulted, and {approval}: the claim is approved", (_BIND,), _APPROVED
    ),
    "claim.paid": _Scenario("as loan.defaulted, and {payment}: the claim is paid (代偿)", (_BIND,), _PAID),
    "recovery.received": _Scenario(
        "as claim.paid, and {recovery}: the insurer recovers part of it (追偿)", (_BIND,), _RECOVERED
    ),
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
    from ..testing import borrower
    from ..types.money import Money

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
    quote = client.quotes.create(
        product=PRODUCT,
        merchant_order_id=order,
        borrower=borrower(PRODUCT, credit_score=None if referred else 720),
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
        timings = _timings()
        _advance_to(
            client,
            start + dt.timedelta(minutes=timings.referral_wait_minutes),
            say,
            f"referrals are decided after {timings.referral_minutes} min",
        )
    if _BIND in scenario.steps:
        if quote.decision != "approved":
            raise CLIError(
                f"the sandbox did not approve the trigger's quote ({quote.decline_reason})", EXIT_ERROR
            )
        # the trigger's borrower is a person: bind with consent acknowledged now on the sandbox clock
        policy = client.policies.bind(
            quote_id=quote.id, consent=consent(client, reference=f"CONSENT-{order}")
        )
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
        days_after_due = scenario.days_after_due
        if days_after_due is not None:
            target = dt.datetime.combine(
                first_due + dt.timedelta(days=days_after_due), dt.time(0, 1), tzinfo=dt.timezone.utc
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


# -- the command -----------------------------------------------------------------------------------
def _unknown_event(event_type: str) -> str:
    """Why ``event_type`` cannot be triggered: a real event type that no trigger makes, or a typo
    (with the closest triggerable type, as ``git`` does: ``claim.payed`` -> ``claim.paid``)."""
    from ..types.event import EVENT_TYPES

    if event_type in EVENT_TYPES:
        return (
            f"cannot trigger {event_type!r}: {event_type} is an event type, but it cannot be triggered; "
            f"it can trigger: {', '.join(TRIGGERS)}"
        )
    meant = closest(event_type, list(TRIGGERS))
    if meant:
        return f"cannot trigger {event_type!r}: did you mean {meant}? It can trigger: {', '.join(TRIGGERS)}"
    return f"cannot trigger {event_type!r}; it can trigger: {', '.join(TRIGGERS)}"


EPILOG = (
    "Examples:\n\n"
    "  yangguang trigger --list\n"
    "  yangguang trigger policy.bound\n"
    "  yangguang trigger claim.paid --api-key yg_test_mine\n\n"
    "Exit codes: 0 ok, 1 API or runtime error, 2 usage error, 3 partial failure."
)


@command
def trigger(
    event_type: Annotated[
        str | None, typer.Argument(metavar="EVENT_TYPE", help="The event to produce (see --list).")
    ] = None,
    list_events: Annotated[bool, typer.Option("--list", help="List the events it can trigger.")] = False,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Make a sandbox emit EVENT_TYPE by doing what produces it (like `stripe trigger`).

    Quotes a fresh test loan, binds it and takes it as far as the event needs: a cancellation, a repayment, or an unpaid installment and the sandbox clock moved forward (overdue the day after the due date, default and claim 80 days after it, approval 1 day and payment 4 days after the default, recovery 30 days after payment).

    Moving the clock ages every loan of this key (each key has its own clock; other keys' loans are untouched). Test keys only: a live key is refused. Prints each step and the ids of the events produced.
    """
    if list_events:
        for name, scenario in TRIGGERS.items():
            typer.echo(f"{name:<20} {scenario.description}")
        return
    if not event_type:
        raise CLIError("give an EVENT_TYPE, or --list to see the ones it can trigger", EXIT_USAGE)
    if event_type not in TRIGGERS:
        raise CLIError(_unknown_event(event_type), EXIT_USAGE)
    creds = resolve_credentials(api_key, base_url)
    if creds.api_key.startswith("yg_live_"):
        raise CLIError(
            "trigger creates test loans and moves the clock: it runs against a sandbox with a yg_test_ key "
            "only; refusing a live key",
            EXIT_USAGE,
        )
    scenario = TRIGGERS[event_type]
    moves = scenario.until is not None or event_type == "quote.decided"
    typer.echo(
        f"Triggering {event_type} on {creds.base_url}"
        + (
            ": this moves this key's clock forward, for every loan of this key (other keys have clocks of their own)"
            if moves
            else ""
        )
    )
    with make_client(creds) as client:
        result = run_trigger(client, event_type, typer.echo)
    typer.echo("Events:")
    for event in result.events:
        mark = "   <- triggered" if event.type == event_type else ""
        typer.echo(f"  {event.id}  {event.type}{mark}")
