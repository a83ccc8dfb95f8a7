"""The sandbox insurer's engine: underwriting, policies, servicing, claims, the ledger and the clock.

The engine knows nothing of HTTP. Every public method takes the tenant (the API key) first, returns
JSON-ready dicts in the wire shape of ``yangguang_sdk.types`` and raises ``SandboxError`` subclasses
that carry the HTTP status the app should answer with. One re-entrant lock serialises every public
method; each mutating operation, and each clock transition, is one store transaction.

Time (see also ``clock.py``): business dates are UTC dates and a transition tied to a date fires at
00:00 UTC of that date. For installment t due on ``due_t``:

- ``due_t + 1`` 00:00: still unpaid → status ``overdue``, event ``installment.overdue``;
- ``due_t + waiting period`` 00:00 (day D; 80 or 90 days): still unpaid → ``loan.defaulted`` and
  ``claim.opened`` for the amount of DESIGN §4 (the earliest unpaid installment reaches its D first);
- D + 1 00:00 ``claim.approved``; D + 4 00:00 ``claim.paid`` (代偿, the policy becomes ``claimed``);
  30 days after the payment ``recovery.received`` (追偿).

A repayment is accepted while the policy is active and has no claim; it emits ``repayment.created``,
then ``installment.cured`` if the installment was overdue, then ``policy.completed`` if it was the
last one. ``days_past_due`` is computed against the clock's date when read (against the event's time
in an event) and stops growing once the loan has defaulted. The policy stays ``active`` (with
``claim_id`` set) from D until the claim is paid at D + 4; it can then be neither cancelled, settled
nor repaid (409).

A referred quote is decided 30 minutes after it was created (``quote.decided``); an approved quote
can be bound until 30 minutes after its decision (``expires_at`` itself is too late).

Transitions live in a persisted timer queue processed in (due time, sequence) order; each runs with
the clock set to its due time, so its events are stamped with the scheduled time, not the time of
the call that reached it. Advancing a year in one call or in 365 steps gives the same events, ids
and ledger. Ids are deterministic (``ids.py``): a persisted counter per tenant.

Ledger (DESIGN §4): every money movement is a balanced journal entry in integer fen. Accounts, per
tenant, with balance = debits − credits:

- ``cash``: the insurer's bank account, i.e. the insurer's balance;
- ``premium_income`` (credited with each premium when a policy is bound);
- ``premium_refunds`` (debited with each refund on cancel or settle);
- ``claims_paid`` (debited when a claim is paid, D + 4);
- ``recoveries`` (credited when money is recovered).

Hence Σ balances = 0 and premium − refunds − claims paid + recoveries = the ``cash`` balance; the
``totals`` of ``ledger()`` show both sides.

Extension points for the webhook delivery worker:

- ``subscribe(callback)``: ``callback(tenant, event)`` after each event is committed, in order,
  still under the engine's lock: keep it quick (enqueue work), exceptions are logged and ignored.
- ``add_scheduled_hook(kind, handler)`` and ``schedule_hook(tenant, kind, at, payload, ref=None)``: a
  persisted timer on the sandbox clock; at ``at`` the engine calls ``handler(tenant, payload)`` in the
  clock's time order with the other transitions (``engine.now()`` is ``at`` during the call), inside a
  savepoint (an exception is logged and rolls back only what the handler wrote). Handlers are
  registered again after a reopen; a hook whose kind has no handler when it falls due is dropped.
  A hook scheduled for the current time runs before the public call that scheduled it returns (so an
  event's first webhook delivery is made by the call that emitted it). ``cancel_hooks(tenant, ref)``
  drops the pending hooks scheduled with ``ref``. ``run_due()`` runs whatever is due by the clock
  (a served real-time sandbox calls it periodically).
- ``record_event(tenant, type, data)`` emits an event of the worker's own (e.g.
  ``webhook_endpoint.disabled``) so that it is listed and published like the others.
- Records of the extension's own (``put_record``, ``get_record``, ``delete_record``,
  ``scan_records``, ``list_records``) live in tables of the store beside the engine's (whose names
  are refused), in the same transactions; keys starting with ``_`` are internal and never listed.
  ``atomic()`` groups several calls into one locked transaction; ``new_id`` draws deterministic ids.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Concatenate, ParamSpec, TypeVar

from .._logs import get_logger
from ..types.event import EVENT_TYPES
from ..types.identity import resident_id_problem, social_credit_code_problem
from ..types.money import Money
from ..types.policy import RepaymentCreateParams
from ..types.quote import QuoteCreateParams
from . import pricing
from .clock import UTC, Clock, business_date, format_ts, from_micros, midnight, parse_ts, to_micros
from .errors import Conflict, Invalid, NotFound, SandboxError, validated
from .ids import make_id
from .products import PRICING, PRODUCTS
from .store import MemoryStore, SQLiteStore, Store, Timer

__all__ = ["Engine", "ACCOUNTS"]

logger = get_logger("yangguang_sdk.sandbox")

ACCOUNTS = ("cash", "premium_income", "premium_refunds", "claims_paid", "recoveries")
POLICY_STATUSES = ("active", "cancelled", "completed", "claimed")
CLAIM_STATUSES = ("open", "approved", "paid", "rejected")
MAX_LIMIT = 100
# Sanity bounds far beyond every product's limits: past them the request is invalid (422) rather
# than priced and declined, as the schedule arithmetic (28-digit decimals, dates up to year 9999)
# would fail on them.
MAX_PRINCIPAL_FEN = 10**14  # CNY 1,000,000,000,000.00
MAX_FIRST_DUE_AHEAD = dt.timedelta(days=3660)

Json = dict[str, Any]
Callback = Callable[[str, Json], object]
HookHandler = Callable[[str, Json], object]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _public(method: Callable[Concatenate[Engine, _P], _R]) -> Callable[Concatenate[Engine, _P], _R]:
    """Hold the engine lock and, at the outermost call, bring the clock up to date first."""

    def wrapper(self: Engine, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock:
            self._depth += 1
            try:
                if self._depth == 1:
                    self._sync()
                result = method(self, *args, **kwargs)
                if self._depth == 1 and self._hooks_due:
                    self._sync()  # hooks this call scheduled for now (webhook deliveries) run before it returns
                return result
            finally:
                self._depth -= 1

    functools.update_wrapper(wrapper, method)
    return wrapper


def _money(fen: int) -> Json:
    return {"amount": fen, "currency": "CNY"}


def _fen(money: Json) -> int:
    return int(money["amount"])


def _strip(record: Json) -> Json:
    """The wire view of a stored record: internal keys start with an underscore."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


class Engine:
    """The sandbox insurer. See the module docstring for time, ledger and extension conventions.

    ``db``: None keeps everything in memory; a path keeps it in SQLite (reopening finds everything,
    including the clock, the id counters and pending transitions; ``now`` is then ignored).
    ``now``: where a new clock starts (aware; default the current UTC time to the second).
    ``realtime``: the clock follows real time from ``now``; due transitions run before each call.
    """

    def __init__(
        self, *, db: str | None = None, now: dt.datetime | None = None, realtime: bool = False
    ) -> None:
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware (e.g. datetime(2027, 1, 1, tzinfo=timezone.utc))")
        self._lock = threading.RLock()
        self._inflight: set[tuple[str, str]] = set()
        self._inflight_lock = threading.Lock()
        self._store: Store = SQLiteStore(db) if db is not None else MemoryStore()
        self._depth = 0
        self._subscribers: list[Callback] = []
        self._hooks: dict[str, HookHandler] = {}
        self._pending: list[tuple[str, Json]] = []
        self._txn_depth = 0
        self._hooks_due = False
        saved = self._store.get_meta("clock")
        if saved is not None:
            start = from_micros(int(saved))
        else:
            start = (now or dt.datetime.now(UTC)).astimezone(UTC)
            if now is None:
                start = start.replace(microsecond=0)
            with self._store.transaction():
                self._store.set_meta("clock", str(to_micros(start)))
        self._clock = Clock(start, realtime=realtime)
        self._current = start
        self._saved_clock = to_micros(start)

    # --- lifecycle and plumbing -------------------------------------------------------------------

    def close(self) -> None:
        """Close the store; the engine cannot be used afterwards."""
        with self._lock:
            self._store.close()

    def _sync(self) -> None:
        """Run every transition due by the clock's time, then persist that time."""
        target = self._clock.now()
        until = to_micros(target)
        self._hooks_due = False
        while True:
            timer = self._store.next_timer(until)
            if timer is None:
                break
            self._fire(timer)
        self._current = target
        if until != self._saved_clock:
            with self._txn():
                self._store.set_meta("clock", str(until))
            self._saved_clock = until

    @contextmanager
    def _txn(self) -> Iterator[None]:
        """A store transaction (savepoint when nested); events are published after the outermost
        commit and dropped with a rollback."""
        mark = len(self._pending)
        self._txn_depth += 1
        try:
            with self._store.transaction():
                yield
        except BaseException:
            del self._pending[mark:]
            raise
        finally:
            self._txn_depth -= 1
        if self._txn_depth == 0 and self._pending:
            published, self._pending = self._pending, []
            for tenant, event in published:
                for callback in list(self._subscribers):
                    try:
                        callback(tenant, event)
                    except Exception:
                        logger.exception("sandbox event subscriber failed on %s", event.get("id"))

    def _new_id(self, tenant: str, prefix: str) -> str:
        return make_id(prefix, tenant, self._store.counter(f"ids:{tenant}"))

    def _schedule(self, tenant: str, at: dt.datetime, data: Json, *, ref: str | None) -> None:
        seq = self._store.counter("timer_seq")
        self._store.add_timer(Timer(seq, to_micros(at), tenant, ref, data))

    def _emit(self, tenant: str, type_: str, data: Json, **extra: Any) -> Json:
        event_id = self._new_id(tenant, "evt")
        event: Json = {
            "object": "event",
            "id": event_id,
            "type": type_,
            "timestamp": format_ts(self._current),
            "data": data,
            **extra,
        }
        self._store.put("events", tenant, event_id, event, ts=to_micros(self._current))
        self._pending.append((tenant, event))
        return event

    def _post(self, tenant: str, kind: str, debit: str, credit: str, fen: int, **refs: str) -> None:
        """One balanced journal entry moving ``fen`` from ``credit`` to ``debit``."""
        if fen <= 0:
            return
        entry_id = self._new_id(tenant, "jnl")
        entry: Json = {
            "object": "journal_entry",
            "id": entry_id,
            "kind": kind,
            "timestamp": format_ts(self._current),
            "currency": "CNY",
            "lines": [
                {"account": debit, "debit": fen, "credit": 0},
                {"account": credit, "debit": 0, "credit": fen},
            ],
            **refs,
        }
        self._store.put("journal", tenant, entry_id, entry, ts=to_micros(self._current))

    def _load(self, table: str, tenant: str, object_id: object, noun: str, param: str | None = None) -> Json:
        record = self._store.get(table, tenant, object_id) if isinstance(object_id, str) else None
        if record is None:
            raise NotFound(f"No such {noun}: {object_id!r}", param=param)
        return record

    def _today(self) -> dt.date:
        return business_date(self._current)

    # --- extension points -------------------------------------------------------------------------

    def subscribe(self, callback: Callback) -> None:
        """Call ``callback(tenant, event)`` after each event is committed (see the module docstring)."""
        with self._lock:
            self._subscribers.append(callback)

    def add_scheduled_hook(self, kind: str, handler: HookHandler) -> None:
        """Register the handler of hook timers of ``kind`` (see ``schedule_hook``)."""
        with self._lock:
            self._hooks[kind] = handler

    @_public
    def schedule_hook(
        self, tenant: str, kind: str, at: dt.datetime, payload: Json, *, ref: str | None = None
    ) -> None:
        """Persist a timer that calls the ``kind`` handler with ``(tenant, payload)`` at ``at`` on the
        sandbox clock. One not in the future runs before the outermost public call returns.
        ``ref`` tags it for ``cancel_hooks``."""
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        with self._txn():
            when = max(at, self._current)
            self._schedule(tenant, when, {"kind": "hook", "hook": kind, "payload": payload}, ref=ref)
            if when <= self._current:
                self._hooks_due = True

    @_public
    def cancel_hooks(self, tenant: str, ref: str) -> None:
        """Drop every pending timer of ``tenant`` scheduled with ``ref`` (see ``schedule_hook``)."""
        with self._txn():
            self._store.delete_timers(tenant, ref)

    @_public
    def run_due(self) -> dt.datetime:
        """Run every transition and hook due by the clock's time (the public-call prologue does it);
        returns the time. A served real-time sandbox calls this periodically."""
        return self._current

    def peek_now(self) -> dt.datetime:
        """The sandbox time without taking the lock: for code running on another thread while the
        engine is busy (a webhook receiver checking a delivery's timestamp, say)."""
        return self._current

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Hold the lock and make the calls inside one transaction; due hooks run on exit."""
        with self._lock:
            self._depth += 1
            try:
                if self._depth == 1:
                    self._sync()
                with self._txn():
                    yield
                if self._depth == 1 and self._hooks_due:
                    self._sync()
            finally:
                self._depth -= 1

    # --- records of extensions --------------------------------------------------------------------

    _ENGINE_TABLES = frozenset(
        {"quotes", "policies", "repayments", "claims", "events", "journal", "idempotency"}
    )

    def _ext_table(self, table: str) -> str:
        if table in self._ENGINE_TABLES or not table.isidentifier():
            raise ValueError(f"table {table!r} is the engine's own or not a valid name")
        return table

    @_public
    def new_id(self, tenant: str, prefix: str, *, sequence: str | None = None) -> str:
        """A deterministic id ``prefix_...``. ``sequence`` names a counter of its own, so ids drawn
        from it do not shift the ids of the engine's objects."""
        if not (prefix.isalpha() and prefix.islower() and len(prefix) == 3):
            raise ValueError("prefix must be three lowercase letters")
        with self._txn():
            if sequence is None:
                return self._new_id(tenant, prefix)
            return make_id(prefix, f"{tenant}\x00{sequence}", self._store.counter(f"ids:{tenant}:{sequence}"))

    @_public
    def put_record(self, table: str, tenant: str, key: str, data: Json) -> None:
        """Insert or replace an extension's record (listed in insertion order, stamped now)."""
        with self._txn():
            self._store.put(self._ext_table(table), tenant, key, data, ts=to_micros(self._current))

    @_public
    def get_record(self, table: str, tenant: str, key: str) -> Json | None:
        """An extension's record as stored (internal ``_`` keys included), or None."""
        return self._store.get(self._ext_table(table), tenant, key)

    @_public
    def delete_record(self, table: str, tenant: str, key: str) -> None:
        with self._txn():
            self._store.delete(self._ext_table(table), tenant, key)

    @_public
    def scan_records(
        self, table: str, tenant: str, *, equals: Mapping[str, str | None] | None = None
    ) -> list[Json]:
        """Every record of ``table`` for ``tenant`` (internal keys included), in insertion order."""
        return self._store.scan(self._ext_table(table), tenant, equals=equals)

    @_public
    def list_records(
        self,
        table: str,
        tenant: str,
        *,
        equals: Mapping[str, str | None] | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> Json:
        """A page of records in the API's list shape, internal keys stripped."""
        return self._list(self._ext_table(table), tenant, _strip, equals or {}, None, limit, starting_after)

    @_public
    def record_event(self, tenant: str, type: str, data: Json, extra: Json | None = None) -> Json:
        """Emit an event of one of ``EVENT_TYPES`` (e.g. ``webhook_endpoint.disabled``) now;
        ``extra`` adds top-level fields to the event envelope."""
        if type not in EVENT_TYPES:
            raise Invalid("invalid_request", f"unknown event type {type!r}", param="type")
        with self._txn():
            return self._emit(tenant, type, data, **(extra or {}))

    # --- idempotency ------------------------------------------------------------------------------

    def run_idempotent(
        self, tenant: str, key: str, fingerprint: str, op: Callable[[], tuple[int, Json]]
    ) -> tuple[int, Json, bool]:
        """Run ``op`` once per (tenant, key); see DESIGN §3. Returns ``(status, body, replayed)``.

        The op's writes and the idempotency record commit in one transaction. An op that raises a
        ``SandboxError`` has its writes rolled back and ``(error.status, error.body())`` stored as the
        outcome, then the error is raised again; a replay returns that stored error outcome like any
        other (``(409, {"error": ...}, True)``). A first request still running → 409
        ``idempotency_request_in_progress`` (never stored).
        """
        slot = (tenant, key)
        with self._inflight_lock:
            if slot in self._inflight:
                raise Conflict(
                    "idempotency_request_in_progress",
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                )
            self._inflight.add(slot)
        try:
            return self._run_idempotent(tenant, key, fingerprint, op)
        finally:
            with self._inflight_lock:
                self._inflight.discard(slot)

    @_public
    def _run_idempotent(
        self, tenant: str, key: str, fingerprint: str, op: Callable[[], tuple[int, Json]]
    ) -> tuple[int, Json, bool]:
        record = self._store.get("idempotency", tenant, key)
        if record is not None and parse_ts(record["expires_at"]) > self._current:
            if record["fingerprint"] != fingerprint:
                raise Invalid(
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used with a different request; use a new key.",
                    param="Idempotency-Key",
                )
            return int(record["status"]), record["body"], True
        error: SandboxError | None = None
        with self._txn():
            try:
                with self._txn():
                    status, body = op()
            except SandboxError as exc:
                if exc.code == "idempotency_request_in_progress":
                    raise
                error, status, body = exc, exc.status, exc.body()
            self._store.put(
                "idempotency",
                tenant,
                key,
                {
                    "key": key,
                    "fingerprint": fingerprint,
                    "status": status,
                    "body": body,
                    "created_at": format_ts(self._current),
                    "expires_at": format_ts(self._current + PRICING.idempotency_ttl),
                },
            )
        if error is not None:
            raise error
        return status, body, False

    # --- the clock --------------------------------------------------------------------------------

    @_public
    def now(self) -> dt.datetime:
        """The sandbox's current time (during a transition: its scheduled time)."""
        return self._current

    @_public
    def clock(self, tenant: str) -> Json:
        return {"object": "test_clock", "now": format_ts(self._current)}

    @_public
    def advance(self, tenant: str, delta: dt.timedelta) -> Json:
        """Move the clock forward by ``delta``, running every due transition in time order."""
        if not isinstance(delta, dt.timedelta) or delta < dt.timedelta(0):
            raise Invalid(
                "invalid_request", "the clock can only be advanced by a positive duration", param="delta"
            )
        self._clock.advance(delta)
        self._sync()
        return {"object": "test_clock", "now": format_ts(self._current)}

    def _fire(self, timer: Timer) -> None:
        self._current = from_micros(timer.due)
        with self._txn():
            self._store.delete_timer(timer.seq)
            self._store.set_meta("clock", str(timer.due))
            self._saved_clock = timer.due
            kind = timer.data["kind"]
            if kind == "hook":
                self._fire_hook(timer)
            else:
                getattr(self, f"_on_{kind}")(timer.tenant, timer.data)

    def _fire_hook(self, timer: Timer) -> None:
        handler = self._hooks.get(timer.data["hook"])
        if handler is None:
            logger.warning("sandbox hook %r has no handler; dropped", timer.data["hook"])
            return
        try:
            with self._txn():
                handler(timer.tenant, timer.data["payload"])
        except Exception:
            logger.exception("sandbox hook %r failed", timer.data["hook"])

    # --- quotes -----------------------------------------------------------------------------------

    @_public
    def create_quote(self, tenant: str, params: QuoteCreateParams | Json) -> Json:
        """Underwrite and price a loan: decision approved, declined or referred (DESIGN §4)."""
        p = validated(QuoteCreateParams, params)
        product = PRODUCTS[p.product]
        borrower = p.borrower
        if borrower.type != product.borrower_type:
            raise Invalid(
                "borrower_type_mismatch",
                f"{product.name} insures {product.borrower_type} borrowers; "
                f"borrower.type must be {product.borrower_type!r}",
                param="borrower.type",
            )
        if borrower.type == "individual":
            problem = resident_id_problem(borrower.id_number.value)
            if problem:
                raise Invalid(
                    "invalid_id_number", f"borrower.id_number {problem}", param="borrower.id_number"
                )
        else:
            problem = social_credit_code_problem(borrower.uscc.value)
            if problem:
                raise Invalid("invalid_uscc", f"borrower.uscc {problem}", param="borrower.uscc")
        score = borrower.credit_score
        if score is not None and not 300 <= score <= 850:
            raise Invalid(
                "invalid_credit_score",
                "credit_score must be an integer 300–850",
                param="borrower.credit_score",
            )
        loan = p.loan
        if loan.principal.currency != "CNY":
            raise Invalid(
                "currency_not_supported", "the sandbox insures CNY loans only", param="loan.principal"
            )
        if not 0 <= loan.annual_rate <= 1:
            raise Invalid("invalid_request", "annual_rate must be between 0 and 1", param="loan.annual_rate")
        if loan.first_due_date <= self._today():
            raise Invalid(
                "invalid_first_due_date",
                f"first_due_date must be after today ({self._today().isoformat()} on the sandbox clock)",
                param="loan.first_due_date",
            )
        if loan.first_due_date > self._today() + MAX_FIRST_DUE_AHEAD:
            raise Invalid(
                "invalid_first_due_date",
                "first_due_date must be within 10 years of today on the sandbox clock",
                param="loan.first_due_date",
            )
        if loan.principal.amount > MAX_PRINCIPAL_FEN:
            raise Invalid(
                "invalid_request",
                "principal is beyond any product's limits (at most CNY 1,000,000,000,000.00)",
                param="loan.principal",
            )
        principal_fen = loan.principal.amount
        principal = pricing.fen_to_yuan(principal_fen)
        rate, term = loan.annual_rate, loan.term_months

        decision, reason = "approved", None
        if not product.within_limits(principal, term):
            priced = pricing.price_loan(product, principal_fen, rate, term, loan.first_due_date, None)
            decision, reason = "declined", "outside_product_limits"
        else:
            priced = pricing.price_loan(
                product,
                principal_fen,
                rate,
                term,
                loan.first_due_date,
                PRICING.referral_score if score is None else score,
            )
            assert priced.comprehensive_cost is not None
            if score is not None and score < PRICING.min_credit_score:
                decision, reason = "declined", "credit_score_below_threshold"
            elif priced.comprehensive_cost > PRICING.financing_cost_cap:
                decision, reason = "declined", "financing_cost_cap_exceeded"
            elif score is None:
                decision = "referred"

        now = self._current
        with self._txn():
            quote_id = self._new_id(tenant, "quo")
            cost = priced.comprehensive_cost
            record: Json = {
                "object": "quote",
                "id": quote_id,
                "product": product.name,
                "merchant_order_id": p.merchant_order_id,
                "decision": decision,
                "decline_reason": reason,
                "premium": None if priced.premium is None else _money(priced.premium),
                "sum_insured": _money(priced.sum_insured),
                "comprehensive_cost": None
                if cost is None
                else str(cost.quantize(Decimal("0.000001"), ROUND_HALF_UP)),
                "created_at": format_ts(now),
                "decided_at": None if decision == "referred" else format_ts(now),
                "expires_at": format_ts(now + PRICING.quote_validity) if decision == "approved" else None,
                "schedule": [_installment(line) for line in priced.schedule],
                "policy_id": None,
                "loan": {
                    "principal": _money(principal_fen),
                    "term_months": term,
                    "annual_rate": str(rate),
                    "first_due_date": loan.first_due_date.isoformat(),
                },
                "borrower_type": borrower.type,
                "credit_score_used": priced.score_used,
                "version": 1,
                "_expected_losses": [str(x) for x in priced.expected_losses],
            }
            self._store.put("quotes", tenant, quote_id, record, ts=to_micros(now))
            if decision == "referred":
                self._schedule(
                    tenant,
                    now + PRICING.referral_delay,
                    {"kind": "quote_decision", "quote": quote_id},
                    ref=quote_id,
                )
        return _strip(record)

    def _on_quote_decision(self, tenant: str, data: Json) -> None:
        record = self._store.get("quotes", tenant, data["quote"])
        if record is None or record["decision"] != "referred":
            return
        principal = pricing.fen_to_yuan(_fen(record["loan"]["principal"]))
        if principal <= PRICING.referral_max_principal:
            record["decision"] = "approved"
            record["expires_at"] = format_ts(self._current + PRICING.quote_validity)
        else:
            record["decision"], record["decline_reason"] = "declined", "referral_declined"
        record["decided_at"] = format_ts(self._current)
        record["version"] += 1
        self._store.put("quotes", tenant, record["id"], record)
        self._emit(tenant, "quote.decided", _strip(record))

    @_public
    def get_quote(self, tenant: str, quote_id: str) -> Json:
        return _strip(self._load("quotes", tenant, quote_id, "quote"))

    # --- policies ---------------------------------------------------------------------------------

    @_public
    def bind_policy(self, tenant: str, quote_id: str) -> Json:
        """Bind an approved, unexpired quote: the policy is active and its premium is due to us."""
        quote = self._load("quotes", tenant, quote_id, "quote", param="quote_id")
        if quote["policy_id"] is not None:
            raise Conflict(
                "quote_already_bound", f"Quote {quote_id} is already bound to policy {quote['policy_id']}."
            )
        if quote["decision"] == "referred":
            raise Conflict(
                "quote_not_bindable",
                f"Quote {quote_id} is referred and not decided yet; bind it once approved.",
            )
        if quote["decision"] != "approved":
            raise Conflict(
                "quote_not_bindable",
                f"Quote {quote_id} was declined ({quote['decline_reason']}) and cannot be bound.",
            )
        if self._current >= parse_ts(quote["expires_at"]):
            raise Conflict(
                "quote_expired", f"Quote {quote_id} expired at {quote['expires_at']}; create a new quote."
            )
        product = PRODUCTS[quote["product"]]
        now = self._current
        today = self._today()
        with self._txn():
            policy_id = self._new_id(tenant, "pol")
            record: Json = {
                "object": "policy",
                "id": policy_id,
                "quote_id": quote_id,
                "merchant_order_id": quote["merchant_order_id"],
                "product": product.name,
                "status": "active",
                "premium": quote["premium"],
                "sum_insured": quote["sum_insured"],
                "bound_at": format_ts(now),
                "created_at": format_ts(now),
                "cooling_off_until": (today + dt.timedelta(days=product.cooling_off_days)).isoformat(),
                "refund": None,
                "cancelled_at": None,
                "cancel_reason": None,
                "completed_at": None,
                "settled_on": None,
                "claim_id": None,
                "defaulted_at": None,
                "installments": [dict(line) for line in quote["schedule"]],
                "version": 1,
                "preview": False,
                "_expected_losses": quote["_expected_losses"],
            }
            self._store.put("policies", tenant, policy_id, record, ts=to_micros(now))
            quote["policy_id"] = policy_id
            quote["version"] += 1
            self._store.put("quotes", tenant, quote_id, quote)
            self._post(
                tenant, "premium", "cash", "premium_income", _fen(record["premium"]), policy_id=policy_id
            )
            for line in record["installments"]:
                due = dt.date.fromisoformat(line["due_date"])
                self._schedule(
                    tenant,
                    midnight(due + dt.timedelta(days=1)),
                    {"kind": "overdue", "policy": policy_id, "installment": line["installment"]},
                    ref=policy_id,
                )
            self._emit(tenant, "policy.bound", self._render_policy(record))
        return self._render_policy(record)

    @_public
    def get_policy(self, tenant: str, policy_id: str) -> Json:
        return self._render_policy(self._load("policies", tenant, policy_id, "policy"))

    @_public
    def list_policies(
        self,
        tenant: str,
        *,
        status: str | None = None,
        merchant_order_id: str | None = None,
        created_gte: dt.datetime | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> Json:
        """Policies oldest first; ``next_cursor`` is the last id of the page."""
        if status is not None and status not in POLICY_STATUSES:
            raise Invalid(
                "invalid_request", f"status must be one of {', '.join(POLICY_STATUSES)}", param="status"
            )
        equals: dict[str, str | None] = {}
        if status is not None:
            equals["status"] = status
        if merchant_order_id is not None:
            equals["merchant_order_id"] = merchant_order_id
        return self._list("policies", tenant, self._render_policy, equals, created_gte, limit, starting_after)

    def _render_policy(self, record: Json) -> Json:
        policy = _strip(record)
        # days past due run with the clock until a default; then they stay as on day D
        today = (
            self._today()
            if record["defaulted_at"] is None
            else business_date(parse_ts(record["defaulted_at"]))
        )
        installments = []
        for line in record["installments"]:
            line = dict(line)
            due = dt.date.fromisoformat(line["due_date"])
            line["days_past_due"] = (today - due).days if line["status"] == "overdue" else 0
            installments.append(line)
        policy["installments"] = installments
        return policy

    def _check_cancellable(self, record: Json, action: str) -> None:
        if record["status"] != "active":
            raise Conflict(
                "policy_not_cancellable", f"Policy {record['id']} is {record['status']}; cannot {action} it."
            )
        if record["claim_id"] is not None:
            raise Conflict(
                "policy_not_cancellable",
                f"Policy {record['id']} has a claim ({record['claim_id']}); cannot {action} it.",
            )
        overdue = [str(i["installment"]) for i in record["installments"] if i["status"] == "overdue"]
        if overdue:
            raise Conflict(
                "policy_not_cancellable",
                f"Policy {record['id']} has overdue installment(s) {', '.join(overdue)}; cannot {action} it.",
            )

    def _earned_refund(self, record: Json, on: dt.date) -> int:
        share = pricing.earned_share(
            business_date(parse_ts(record["bound_at"])),
            [dt.date.fromisoformat(i["due_date"]) for i in record["installments"]],
            [Decimal(x) for x in record["_expected_losses"]],
            on,
        )
        return pricing.unearned_refund(_fen(record["premium"]), share)

    @_public
    def cancel_policy(self, tenant: str, policy_id: str, *, reason: str, preview: bool = False) -> Json:
        """Cancel: full refund within the cooling-off period, else the unearned premium (DESIGN §4)."""
        record = self._load("policies", tenant, policy_id, "policy")
        if not isinstance(reason, str) or not 1 <= len(reason) <= 200:
            raise Invalid("invalid_request", "reason must be 1–200 characters", param="reason")
        self._check_cancellable(record, "cancel")
        today = self._today()
        if today <= dt.date.fromisoformat(record["cooling_off_until"]):
            refund = _fen(record["premium"])
        else:
            refund = self._earned_refund(record, today)
        if preview:
            return self._preview(record, refund)
        with self._txn():
            record.update(
                status="cancelled",
                refund=_money(refund),
                cancelled_at=format_ts(self._current),
                cancel_reason=reason,
                version=record["version"] + 1,
            )
            self._store.put("policies", tenant, policy_id, record)
            self._post(tenant, "refund", "premium_refunds", "cash", refund, policy_id=policy_id)
            self._store.delete_timers(tenant, policy_id)
            self._emit(tenant, "policy.cancelled", self._render_policy(record))
        return self._render_policy(record)

    @_public
    def settle_policy(
        self, tenant: str, policy_id: str, *, settled_on: dt.date | None = None, preview: bool = False
    ) -> Json:
        """Early full repayment (提前结清): refund of the unearned premium, never the cooling-off rule."""
        record = self._load("policies", tenant, policy_id, "policy")
        today = self._today()
        bind_date = business_date(parse_ts(record["bound_at"]))
        if settled_on is None:
            settled_on = today
        elif not isinstance(settled_on, dt.date) or isinstance(settled_on, dt.datetime):
            raise Invalid("invalid_request", "settled_on must be a date (YYYY-MM-DD)", param="settled_on")
        elif not bind_date <= settled_on <= today:
            raise Invalid(
                "invalid_settlement_date",
                f"settled_on must be between the bind date ({bind_date}) and today ({today})",
                param="settled_on",
            )
        self._check_cancellable(record, "settle")
        refund = self._earned_refund(record, settled_on)
        if preview:
            return self._preview(record, refund)
        with self._txn():
            now = format_ts(self._current)
            for line in record["installments"]:
                if line["status"] != "paid":
                    line["status"], line["paid_at"] = "paid", now
            record.update(
                status="completed",
                refund=_money(refund),
                completed_at=now,
                settled_on=settled_on.isoformat(),
                version=record["version"] + 1,
            )
            self._store.put("policies", tenant, policy_id, record)
            self._post(tenant, "refund", "premium_refunds", "cash", refund, policy_id=policy_id)
            self._store.delete_timers(tenant, policy_id)
            self._emit(tenant, "policy.completed", self._render_policy(record))
        return self._render_policy(record)

    def _preview(self, record: Json, refund: int) -> Json:
        policy = self._render_policy(record)
        policy["refund"] = _money(refund)
        policy["preview"] = True
        return policy

    # --- servicing --------------------------------------------------------------------------------

    @_public
    def create_repayment(self, tenant: str, params: RepaymentCreateParams | Json) -> Json:
        """Report installment n paid. A late one cures the overdue status; the last one completes."""
        p = validated(RepaymentCreateParams, params)
        record = self._load("policies", tenant, p.policy_id, "policy", param="policy_id")
        if record["status"] != "active":
            raise Conflict(
                "policy_not_active", f"Policy {p.policy_id} is {record['status']}; no repayments are taken."
            )
        if record["claim_id"] is not None:
            raise Conflict(
                "policy_not_active",
                f"Policy {p.policy_id} has defaulted (claim {record['claim_id']}); repayments now go to the insurer.",
            )
        lines = record["installments"]
        if not 1 <= p.installment <= len(lines):
            raise Invalid(
                "installment_not_found",
                f"Policy {p.policy_id} has installments 1 to {len(lines)}; there is no installment {p.installment}.",
                param="installment",
            )
        line = lines[p.installment - 1]
        if line["status"] == "paid":
            raise Conflict(
                "installment_already_paid", f"Installment {p.installment} of {p.policy_id} is already paid."
            )
        expected = line["amount"]
        if p.amount.currency != "CNY" or p.amount.amount != expected["amount"]:
            raise Invalid(
                "amount_mismatch",
                f"Installment {p.installment} is {Money(expected['amount'])}; amount must equal it exactly "
                f"(got {p.amount}).",
                param="amount",
            )
        try:
            paid_at = format_ts(p.paid_at)
        except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC time
            raise Invalid("invalid_request", "paid_at is out of range", param="paid_at") from None
        with self._txn():
            repayment_id = self._new_id(tenant, "rep")
            repayment: Json = {
                "object": "repayment",
                "id": repayment_id,
                "policy_id": p.policy_id,
                "installment": p.installment,
                "amount": _money(p.amount.amount),
                "paid_at": paid_at,
                "created_at": format_ts(self._current),
                "version": 1,
            }
            self._store.put("repayments", tenant, repayment_id, repayment, ts=to_micros(self._current))
            was_overdue = line["status"] == "overdue"
            line["status"], line["paid_at"] = "paid", repayment["paid_at"]
            record["version"] += 1
            self._emit(tenant, "repayment.created", repayment)
            if was_overdue:
                self._emit(
                    tenant, "installment.cured", self._render_policy(record), installment=p.installment
                )
            if all(i["status"] == "paid" for i in lines):
                record.update(
                    status="completed", completed_at=format_ts(self._current), version=record["version"] + 1
                )
                self._store.delete_timers(tenant, p.policy_id)
                self._emit(tenant, "policy.completed", self._render_policy(record))
            self._store.put("policies", tenant, p.policy_id, record)
        return repayment

    @_public
    def list_repayments(
        self, tenant: str, *, policy_id: str | None = None, limit: int = 20, starting_after: str | None = None
    ) -> Json:
        equals = {} if policy_id is None else {"policy_id": policy_id}
        return self._list("repayments", tenant, dict, equals, None, limit, starting_after)

    def _on_overdue(self, tenant: str, data: Json) -> None:
        record = self._store.get("policies", tenant, data["policy"])
        if record is None or record["status"] != "active" or record["claim_id"] is not None:
            return
        n = data["installment"]
        line = record["installments"][n - 1]
        if line["status"] != "scheduled":
            return
        line["status"] = "overdue"
        record["version"] += 1
        self._store.put("policies", tenant, record["id"], record)
        self._emit(tenant, "installment.overdue", self._render_policy(record), installment=n)
        product = PRODUCTS[record["product"]]
        default_day = dt.date.fromisoformat(line["due_date"]) + dt.timedelta(days=product.waiting_period_days)
        self._schedule(
            tenant,
            midnight(default_day),
            {"kind": "default", "policy": record["id"], "installment": n},
            ref=record["id"],
        )

    def _on_default(self, tenant: str, data: Json) -> None:
        record = self._store.get("policies", tenant, data["policy"])
        if record is None or record["status"] != "active" or record["claim_id"] is not None:
            return
        n = data["installment"]
        if record["installments"][n - 1]["status"] != "overdue":
            return
        product = PRODUCTS[record["product"]]
        day = self._today()
        claim_id = self._new_id(tenant, "clm")
        record.update(claim_id=claim_id, defaulted_at=format_ts(self._current), version=record["version"] + 1)
        self._store.put("policies", tenant, record["id"], record)
        self._store.delete_timers(tenant, record["id"])
        self._emit(tenant, "loan.defaulted", self._render_policy(record), installment=n)
        schedule = [_line(i) for i in record["installments"]]
        paid = {i["installment"] for i in record["installments"] if i["status"] == "paid"}
        amount = pricing.claim_amount(schedule, paid, day, product.deductible, _fen(record["sum_insured"]))
        claim: Json = {
            "object": "claim",
            "id": claim_id,
            "policy_id": record["id"],
            "status": "open",
            "amount": _money(amount),
            "default_date": day.isoformat(),
            "installment": n,
            "opened_at": format_ts(self._current),
            "approved_at": None,
            "paid_at": None,
            "recovered": None,
            "recovered_at": None,
            "version": 1,
        }
        self._store.put("claims", tenant, claim_id, claim, ts=to_micros(self._current))
        self._emit(tenant, "claim.opened", dict(claim))
        self._schedule(
            tenant,
            self._current + PRICING.claim_approval_delay,
            {"kind": "claim_approval", "claim": claim_id},
            ref=claim_id,
        )
        self._schedule(
            tenant,
            self._current + PRICING.claim_payment_delay,
            {"kind": "claim_payment", "claim": claim_id},
            ref=claim_id,
        )

    def _on_claim_approval(self, tenant: str, data: Json) -> None:
        claim = self._store.get("claims", tenant, data["claim"])
        if claim is None or claim["status"] != "open":
            return
        claim.update(status="approved", approved_at=format_ts(self._current), version=claim["version"] + 1)
        self._store.put("claims", tenant, claim["id"], claim)
        self._emit(tenant, "claim.approved", dict(claim))

    def _on_claim_payment(self, tenant: str, data: Json) -> None:
        claim = self._store.get("claims", tenant, data["claim"])
        if claim is None or claim["status"] not in ("open", "approved"):
            return
        claim.update(status="paid", paid_at=format_ts(self._current), version=claim["version"] + 1)
        self._store.put("claims", tenant, claim["id"], claim)
        self._post(
            tenant,
            "claim_payment",
            "claims_paid",
            "cash",
            _fen(claim["amount"]),
            policy_id=claim["policy_id"],
            claim_id=claim["id"],
        )
        policy = self._store.get("policies", tenant, claim["policy_id"])
        if policy is not None:
            policy.update(status="claimed", version=policy["version"] + 1)
            self._store.put("policies", tenant, policy["id"], policy)
        self._emit(tenant, "claim.paid", dict(claim))
        self._schedule(
            tenant,
            self._current + PRICING.recovery_delay,
            {"kind": "recovery", "claim": claim["id"]},
            ref=claim["id"],
        )

    def _on_recovery(self, tenant: str, data: Json) -> None:
        claim = self._store.get("claims", tenant, data["claim"])
        if claim is None or claim["status"] != "paid" or claim["recovered"] is not None:
            return
        policy = self._load("policies", tenant, claim["policy_id"], "policy")
        amount = pricing.recovery_amount(_fen(claim["amount"]), PRODUCTS[policy["product"]].lgd)
        claim.update(
            recovered=_money(amount), recovered_at=format_ts(self._current), version=claim["version"] + 1
        )
        self._store.put("claims", tenant, claim["id"], claim)
        self._post(
            tenant,
            "recovery",
            "cash",
            "recoveries",
            amount,
            policy_id=claim["policy_id"],
            claim_id=claim["id"],
        )
        self._emit(tenant, "recovery.received", dict(claim))

    # --- claims and events ------------------------------------------------------------------------

    @_public
    def get_claim(self, tenant: str, claim_id: str) -> Json:
        return self._load("claims", tenant, claim_id, "claim")

    @_public
    def list_claims(
        self,
        tenant: str,
        *,
        policy_id: str | None = None,
        status: str | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> Json:
        if status is not None and status not in CLAIM_STATUSES:
            raise Invalid(
                "invalid_request", f"status must be one of {', '.join(CLAIM_STATUSES)}", param="status"
            )
        equals: dict[str, str | None] = {}
        if policy_id is not None:
            equals["policy_id"] = policy_id
        if status is not None:
            equals["status"] = status
        return self._list("claims", tenant, dict, equals, None, limit, starting_after)

    @_public
    def get_event(self, tenant: str, event_id: str) -> Json:
        return self._load("events", tenant, event_id, "event")

    @_public
    def list_events(
        self,
        tenant: str,
        *,
        type: str | None = None,
        created_gte: dt.datetime | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> Json:
        """Events in the order they happened."""
        if type is not None and type not in EVENT_TYPES:
            raise Invalid("invalid_request", f"unknown event type {type!r}", param="type")
        equals = {} if type is None else {"type": type}
        return self._list("events", tenant, dict, equals, created_gte, limit, starting_after)

    def _list(
        self,
        table: str,
        tenant: str,
        render: Callable[[Json], Json],
        equals: Mapping[str, str | None],
        created_gte: dt.datetime | None,
        limit: int,
        starting_after: str | None,
    ) -> Json:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise Invalid("invalid_request", f"limit must be an integer from 1 to {MAX_LIMIT}", param="limit")
        if created_gte is not None and created_gte.tzinfo is None:
            raise Invalid("invalid_request", "created_gte must be timezone-aware", param="created_gte")
        try:
            rows = self._store.scan(
                table,
                tenant,
                equals=equals,
                ts_gte=None if created_gte is None else to_micros(created_gte),
                after=starting_after,
                limit=limit + 1,
            )
        except KeyError:
            raise Invalid(
                "invalid_cursor",
                f"starting_after {starting_after!r} is not an object of this list",
                param="starting_after",
            ) from None
        has_more = len(rows) > limit
        data = [render(row) for row in rows[:limit]]
        return {
            "object": "list",
            "data": data,
            "has_more": has_more,
            "next_cursor": data[-1]["id"] if has_more else None,
        }

    # --- the ledger -------------------------------------------------------------------------------

    @_public
    def ledger(self, tenant: str) -> Json:
        """Journal entries in order, balances per account (debits − credits, fen) and the totals that
        must agree: premium − refunds − claims paid + recoveries = insurer balance (``cash``)."""
        entries = self._store.scan("journal", tenant)
        balances = dict.fromkeys(ACCOUNTS, 0)
        for entry in entries:
            for line in entry["lines"]:
                balances[line["account"]] = balances.get(line["account"], 0) + line["debit"] - line["credit"]
        return {
            "object": "ledger",
            "entries": entries,
            "balances": balances,
            "totals": {
                "premium": -balances["premium_income"],
                "refunds": balances["premium_refunds"],
                "claims_paid": balances["claims_paid"],
                "recoveries": -balances["recoveries"],
                "insurer_balance": balances["cash"],
            },
        }


def _installment(line: pricing.ScheduleLine) -> Json:
    return {
        "installment": line.installment,
        "due_date": line.due_date.isoformat(),
        "principal": _money(line.principal),
        "interest": _money(line.interest),
        "amount": _money(line.amount),
        "status": "scheduled",
        "days_past_due": 0,
        "paid_at": None,
    }


def _line(installment: Json) -> pricing.ScheduleLine:
    return pricing.ScheduleLine(
        installment["installment"],
        dt.date.fromisoformat(installment["due_date"]),
        _fen(installment["principal"]),
        _fen(installment["interest"]),
    )
