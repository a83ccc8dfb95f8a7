"""The engine's core: the lock, store transactions, tenants' clocks and their timers, ids and the
event log, and the extension points the webhook delivery worker and the HTTP idempotency layer
build on.

One re-entrant lock serialises the engine's calls in a process; each public call is one store
transaction holding the tenant's lock (PostgreSQL: an advisory lock, so one tenant's calls are
serialised across processes too). Time (see also ``clock.py``): **each tenant has its own clock**,
the sandbox's base clock (frozen at ``now``, or following real time) plus the tenant's skew, which
only its own ``advance`` moves. Business dates are UTC dates and a transition tied to a date fires
at 00:00 UTC of that date. Transitions live in a persisted timer queue processed per tenant in
(due time, sequence) order; each runs with the clock set to its due time, so its events are stamped
with the scheduled time, not the time of the call that reached it. Advancing a year in one call or
in 365 steps gives the same events, ids and ledger. Ids are deterministic (``ids.py``): a persisted
counter per tenant.

Extension points:

- ``subscribe(callback)``: ``callback(tenant, event)`` for each event, in order, under the engine's
  lock and inside the event's transaction just before it commits (in a savepoint of its own), so
  what it writes commits with the event: keep it quick (schedule work); exceptions are logged and
  ignored.
- ``add_scheduled_hook(kind, handler)`` and ``schedule_hook(tenant, kind, at, payload, ref=None)``: a
  persisted timer on the tenant's clock; at ``at`` the engine calls ``handler(tenant, payload)`` in
  the clock's time order with the other transitions (``engine.now(tenant)`` is ``at`` during the
  call), inside a savepoint (an exception is logged and rolls back only what the handler wrote).
  Handlers are registered again after a reopen; a hook whose kind has no handler when it falls due
  is dropped. ``cancel_hooks(tenant, ref)`` drops the pending hooks scheduled with ``ref``.
- **Deferred work** (webhook attempts): ``add_deferred_hook(kind, runner)`` and ``schedule_hook(...,
  lane=...)``. Such a timer is never run under the lock. When it is due, a worker claims it (a
  lease; the earliest timer of each lane only, so a lane's work stays in order) and calls
  ``runner(claimed)`` *outside* the lock; the runner does its slow part (an HTTP request) and then
  ``complete(timer, fn)``, which runs ``fn(tenant, payload)`` under the lock with the clock at the
  timer's due time and deletes the timer. ``advance`` lives through transitions and deferred work
  in time order (waiting up to ``ADVANCE_WAIT`` for the work); ``run_deferred`` claims and runs
  whatever is due by the tenants' clocks (the delivery executor calls it); ``on_deferred(callback)``
  is told, after a call that scheduled deferred work for now, which tenant has some.
- ``record_event(tenant, type, data)`` emits an event of the extension's own (e.g.
  ``webhook_endpoint.disabled``) so that it is listed and published like the others.
- Records of the extension's own (``put_record``, ``get_record``, ``delete_record``,
  ``scan_records``, ``list_records``) live in tables of the store beside the engine's (whose names
  are refused), in the same transactions; keys starting with ``_`` are internal and never listed.
  ``atomic(tenant)`` groups several calls into one locked transaction (a savepoint when nested);
  ``new_id`` draws deterministic ids.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from ..._logs import get_logger
from ...types.event import EVENT_TYPES
from .. import clock as clock_module
from ..clock import LATEST, UTC, business_date, format_ts, from_micros, to_micros
from ..errors import Invalid, NotFound
from ..ids import make_id
from ..store import Store, Timer, open_store
from .records import EventRecord, Json
from .render import render

__all__ = [
    "ADVANCE_WAIT",
    "Core",
    "Callback",
    "DeferredRunner",
    "ENGINE_TABLES",
    "HookHandler",
    "LATEST",
    "MAX_LIMIT",
    "public",
]

logger = get_logger("yangguang_sdk.sandbox")

MAX_LIMIT = 100
ENGINE_TABLES = frozenset(
    {
        "quotes",
        "policies",
        "repayments",
        "claims",
        "events",
        "journal",
        "endorsements",
        "balance_transactions",
        "statements",
    }
)
"""The store tables the engine keeps; extensions' records go in tables of other names."""

Callback = Callable[[str, Json], object]
HookHandler = Callable[[str, Json], object]
DeferredRunner = Callable[[list[Timer]], object]
"""Does claimed deferred work outside the lock, then ``Core.complete``s each timer."""

ADVANCE_WAIT = 30.0
"""Seconds (wall) an ``advance`` waits for the deferred work due in its window; work not started by
then stays due and the delivery executor does it right after, in the same order."""
LEASE = 60.0
"""Seconds a claim on deferred work lasts; a worker that died mid-work frees it after this."""

_C = TypeVar("_C", bound="Core")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def public(method: Callable[Concatenate[_C, str, _P], _R]) -> Callable[Concatenate[_C, str, _P], _R]:
    """Hold the engine lock and, at the outermost call, open the tenant's transaction and bring its
    clock up to date first (``Core._call``). Every public method takes the tenant first."""

    def wrapper(self: _C, tenant: str, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._call(tenant, savepoint=False):
            return method(self, tenant, *args, **kwargs)

    functools.update_wrapper(wrapper, method)
    return wrapper


class Core:
    """Lock, transactions, tenants' clocks, timers, ids, the event log and the extension points.

    ``db``: None keeps everything in memory; a path keeps it in SQLite, a ``postgresql://`` URL in
    PostgreSQL (reopening finds everything, including the clocks, the id counters and pending
    transitions; ``now`` is then ignored).
    ``now``: where the base clock starts, for every tenant (aware; default the current UTC time to
    the second). ``realtime``: the base clock follows real time from ``now``; due transitions run
    before each call.
    """

    def __init__(
        self, *, db: str | None = None, now: dt.datetime | None = None, realtime: bool = False
    ) -> None:
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware (e.g. datetime(2027, 1, 1, tzinfo=timezone.utc))")
        self._lock = threading.RLock()
        self._store: Store = open_store(db)
        self._depth = 0
        self._subscribers: list[Callback] = []
        self._hooks: dict[str, HookHandler] = {}
        self._runners: dict[str, DeferredRunner] = {}
        self._deferred_listeners: list[Callable[[str], object]] = []
        self._deferred_due: set[str] = set()
        self._pending: list[tuple[str, Json]] = []
        self._txn_depth = 0
        self._hooks_due = False
        self._realtime = realtime
        self._floors: dict[str, int] = {}
        self._current = dt.datetime(2000, 1, 1, tzinfo=UTC)
        with self._store.transaction():
            saved = self._store.get_meta("clock")
            if saved is None:
                start = (now or dt.datetime.now(UTC)).astimezone(UTC)
                if now is None:
                    start = start.replace(microsecond=0)
                saved = str(to_micros(start))
                self._store.set_meta("clock", saved)
                if realtime:
                    self._store.set_meta("clock_wall", str(_wall_micros()))
        self._start = int(saved)
        wall = self._store.get_meta("clock_wall")
        # a real-time clock runs from where it started at the wall time it started (every process
        # of a shared database agrees); one without a recorded start runs from its saved time now
        self._wall_anchor = int(wall) if wall is not None else _wall_micros()

    # --- lifecycle and plumbing -------------------------------------------------------------------

    def close(self) -> None:
        """Close the store; the engine cannot be used afterwards."""
        with self._lock:
            self._store.close()

    def _base_micros(self) -> int:
        """The base clock: frozen at its start, or its start plus the real time elapsed since."""
        if not self._realtime:
            return self._start
        return self._start + max(0, _wall_micros() - self._wall_anchor)

    def _tenant_micros(self, tenant: str) -> int:
        """The tenant's clock now (never backwards within a process, never past ``LATEST``)."""
        value = self._base_micros() + (self._store.get_skew(tenant) or 0)
        value = min(max(value, self._floors.get(tenant, value)), to_micros(LATEST))
        self._floors[tenant] = value
        return value

    def _set_clock(self, tenant: str, micros: int) -> None:
        """Move the tenant's clock forward to ``micros`` (persisted as its skew from the base)."""
        if micros > self._tenant_micros(tenant):
            self._store.set_skew(tenant, micros - self._base_micros())
            self._floors[tenant] = micros
        self._current = from_micros(micros)

    @contextmanager
    def _call(self, tenant: str, *, savepoint: bool) -> Iterator[None]:
        """One engine call under the lock. The outermost opens the tenant's transaction, runs the
        tenant's transitions due by its clock first and those the call scheduled for now after,
        and tells the deferred-work listeners once the lock is released. A nested call runs in
        the outer transaction, in a savepoint of its own when ``savepoint``."""
        with self._lock:
            outer = self._depth == 0
            self._depth += 1
            try:
                if outer:
                    with self._txn(tenant):
                        now = self._tenant_micros(tenant)
                        self._run_transitions(tenant, now)
                        yield
                        if self._hooks_due:
                            self._run_transitions(tenant, to_micros(self._current))
                elif savepoint:
                    with self._txn():
                        yield
                else:
                    yield
            finally:
                self._depth -= 1
        if outer:
            self._after_call()

    def _run_transitions(self, tenant: str, until: int) -> None:
        """Run the tenant's transitions (not deferred work) due by ``until``, in time order."""
        self._hooks_due = False
        while (timer := self._store.next_timer(tenant, until)) is not None:
            self._fire(timer)
        self._current = from_micros(until)

    def _after_call(self) -> None:
        """After an outermost call, outside the lock: tell the listeners which tenants have deferred
        work due now (the delivery worker makes it, inline or on its executor)."""
        if not self._deferred_due:
            return
        with self._lock:
            tenants, self._deferred_due = self._deferred_due, set()
        for tenant in sorted(tenants):
            for listener in list(self._deferred_listeners):
                try:
                    listener(tenant)
                except Exception:
                    logger.exception("sandbox deferred-work listener failed")

    @contextmanager
    def _txn(self, tenant: str | None = None) -> Iterator[None]:
        """A store transaction holding ``tenant``'s lock (a savepoint when nested). The events it
        emitted are published just before the outermost commit, so what the subscribers write
        (the first webhook attempts) commits with them; a rollback drops them unpublished."""
        mark = len(self._pending)
        self._txn_depth += 1
        try:
            with self._store.transaction(tenant):
                yield
                if self._txn_depth == 1:
                    self._publish()
        except BaseException:
            del self._pending[mark:]
            raise
        finally:
            self._txn_depth -= 1

    def _publish(self) -> None:
        """Hand the events emitted so far to the subscribers, in order (inside the transaction)."""
        while self._pending:
            published, self._pending = self._pending, []
            for tenant, event in published:
                for callback in list(self._subscribers):
                    try:
                        with self._txn():  # a savepoint: a failing subscriber undoes only its own writes
                            callback(tenant, event)
                    except Exception:
                        logger.exception("sandbox event subscriber failed on %s", event.get("id"))

    def _new_id(self, tenant: str, prefix: str) -> str:
        return make_id(prefix, tenant, self._store.counter(f"ids:{tenant}"))

    def _schedule(
        self, tenant: str, at: dt.datetime, data: Json, *, ref: str | None, lane: str | None = None
    ) -> None:
        self._store.add_timer(tenant, to_micros(at), ref, data, lane=lane)

    def _emit(self, tenant: str, type_: str, data: Json, **extra: Any) -> Json:
        event = EventRecord(self._new_id(tenant, "evt"), type_, self._current, data, extra).to_json()
        self._store.put("events", tenant, event["id"], event, ts=to_micros(self._current))
        self._pending.append((tenant, event))
        return event

    def _load(self, table: str, tenant: str, object_id: object, noun: str, param: str | None = None) -> Json:
        record = self._store.get(table, tenant, object_id) if isinstance(object_id, str) else None
        if record is None:
            raise NotFound(f"No such {noun}: {object_id!r}", param=param)
        return record

    def _today(self) -> dt.date:
        return business_date(self._current)

    def _fire(self, timer: Timer) -> None:
        self._current = from_micros(timer.due)
        with self._txn():
            self._store.delete_timer(timer.seq)
            kind = timer.data["kind"]
            if kind == "hook":
                self._fire_hook(timer)
            else:  # a transition of the domain: _on_overdue, _on_default, ...
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

    @staticmethod
    def _filters(
        allowed: Mapping[str, Sequence[str]] | None = None, **given: str | None
    ) -> dict[str, str | None]:
        """The equality filters of a list call: the ``given`` values that are set, each checked
        against its ``allowed`` values where there are some (``status`` of a policy, ...)."""
        for name, values in (allowed or {}).items():
            value = given.get(name)
            if value is not None and value not in values:
                raise Invalid("invalid_parameter", f"{name} must be one of {', '.join(values)}", param=name)
        return {name: value for name, value in given.items() if value is not None}

    def _list(
        self,
        table: str,
        tenant: str,
        view: Callable[[Json], Json],
        equals: Mapping[str, str | None],
        created_gte: dt.datetime | None,
        limit: int,
        starting_after: str | None,
        *,
        created_lt: dt.datetime | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Json:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise Invalid(
                "invalid_parameter", f"limit must be an integer from 1 to {MAX_LIMIT}", param="limit"
            )
        for name, bound in (("created_gte", created_gte), ("created_lt", created_lt)):
            if bound is not None and bound.tzinfo is None:
                raise Invalid("invalid_parameter", f"{name} must be timezone-aware", param=name)
        try:
            rows = self._store.scan(
                table,
                tenant,
                equals=equals,
                ts_gte=None if created_gte is None else to_micros(created_gte),
                ts_lt=None if created_lt is None else to_micros(created_lt),
                metadata=metadata,
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
        data = [view(row) for row in rows[:limit]]
        return {
            "object": "list",
            "data": data,
            "has_more": has_more,
            "next_cursor": data[-1]["id"] if has_more else None,
        }

    # --- the clock --------------------------------------------------------------------------------

    @public
    def now(self, tenant: str) -> dt.datetime:
        """The tenant's clock (during a transition: its scheduled time)."""
        return self._current

    @public
    def clock(self, tenant: str) -> Json:
        return {"object": "test_clock", "now": format_ts(self._current)}

    def advance(self, tenant: str, delta: dt.timedelta, *, wait: float = ADVANCE_WAIT) -> Json:
        """Move the tenant's clock forward by ``delta``, living through its transitions and its
        deferred work (webhook attempts) due in the window, in time order. Deferred work is done
        outside the lock; after ``wait`` seconds (wall) the rest of the window's transitions run
        and the deferred work still due is left to ``run_deferred``."""
        if not isinstance(delta, dt.timedelta) or delta < dt.timedelta(0):
            raise Invalid(
                "invalid_parameter", "the clock can only be advanced by a positive duration", param="delta"
            )
        with self._section(tenant):
            target = self._current + delta
            if target > LATEST:
                raise Invalid(
                    "invalid_parameter",
                    f"the clock cannot move past {format_ts(LATEST)} (it is {format_ts(self._current)})",
                    param="delta",
                )
        until = to_micros(target)
        give_up = time.monotonic() + wait
        while True:
            with self._section(tenant):
                waiting = self._live_until(tenant, until)
            if waiting is None:
                break
            if time.monotonic() > give_up:
                with self._section(tenant):
                    self._run_transitions(tenant, until)
                    self._set_clock(tenant, until)
                    self._deferred_due.add(tenant)  # what is still due is made right after
                break
            claimed = self.claim_deferred(tenant=tenant, until=waiting)
            if claimed:
                self._run_claimed(claimed)
            else:  # its lanes are leased by another worker: wait for it
                time.sleep(0.02)
        self._after_call()
        with self._section(tenant):
            return {"object": "test_clock", "now": format_ts(self._current)}

    def _live_until(self, tenant: str, until: int) -> int | None:
        """Run the tenant's transitions in time order up to ``until`` or to its first deferred work
        due by then, moving its clock along. Returns the time up to which deferred work is due
        before the next transition (None: the window is done, the clock at ``until``)."""
        while True:
            timer = self._store.next_timer(tenant, until, deferred=True)
            if timer is None:
                self._set_clock(tenant, until)
                return None
            if timer.lane is not None:
                self._set_clock(tenant, timer.due)
                following = self._store.next_timer(tenant, until)
                return until if following is None else following.due
            self._set_clock(tenant, timer.due)
            self._fire(timer)
            self._publish()  # its events' first attempts are scheduled now, at the events' time

    @contextmanager
    def _section(self, tenant: str) -> Iterator[None]:
        """An outermost locked transaction of ``tenant`` with its clock read (no transitions run)."""
        with self._lock:
            if self._depth:
                raise RuntimeError("advance cannot run inside another engine call or atomic()")
            self._depth = 1
            try:
                with self._txn(tenant):
                    self._current = from_micros(self._tenant_micros(tenant))
                    yield
            finally:
                self._depth = 0

    def run_due(self, tenant: str | None = None) -> None:
        """Run the transitions due by the clocks (of one tenant, or of every tenant that has some).
        A served real-time sandbox calls this periodically."""
        if tenant is not None:
            self.now(tenant)  # the public prologue runs them
            return
        with self._lock:
            tenants = self._store.due_tenants(self._base_micros())
        for name in tenants:
            self.now(name)

    # --- deferred work ------------------------------------------------------------------------------

    def add_deferred_hook(self, kind: str, runner: DeferredRunner) -> None:
        """Register the runner of deferred hook timers of ``kind`` (module docstring)."""
        with self._lock:
            self._runners[kind] = runner

    def on_deferred(self, listener: Callable[[str], object]) -> None:
        """Call ``listener(tenant)`` outside the lock after a call that scheduled deferred work due
        at once (an event's first webhook attempts)."""
        with self._lock:
            self._deferred_listeners.append(listener)

    def claim_deferred(
        self, *, tenant: str | None = None, until: int | None = None, limit: int = 64
    ) -> list[Timer]:
        """Lease deferred work that is due (module docstring): by ``until`` for ``tenant``, else by
        each tenant's clock. The caller runs it and ``complete``s each timer."""
        now = _wall_micros()
        with self._lock, self._store.transaction():
            return self._store.claim_timers(
                now=now,
                lease_until=now + int(LEASE * 1_000_000),
                limit=limit,
                tenant=tenant,
                until=until,
                base=None if until is not None else self._base_micros(),
            )

    def _run_claimed(self, claimed: list[Timer]) -> None:
        by_kind: dict[str, list[Timer]] = {}
        for timer in claimed:
            by_kind.setdefault(timer.data["hook"], []).append(timer)
        for kind, timers in by_kind.items():
            runner = self._runners.get(kind)
            if runner is None:
                logger.warning("sandbox deferred hook %r has no runner; dropped", kind)
                for timer in timers:
                    self.complete(timer, lambda tenant, payload: None)
                continue
            try:
                runner(timers)
            except Exception:
                logger.exception("sandbox deferred hook %r failed", kind)

    def run_deferred(self, tenant: str | None = None, *, limit: int = 64) -> int:
        """Claim the deferred work due by the clocks (of ``tenant``, or of every tenant) and run it,
        until none is left that this worker can claim; returns how many timers ran."""
        done = 0
        while True:
            if tenant is not None:
                with self._lock:
                    until = self._tenant_micros(tenant)
                claimed = self.claim_deferred(tenant=tenant, until=until, limit=limit)
            else:
                claimed = self.claim_deferred(limit=limit)
            if not claimed:
                return done
            self._run_claimed(claimed)
            done += len(claimed)

    def complete(self, timer: Timer, fn: HookHandler) -> None:
        """Finish claimed deferred work: under the lock, with the tenant's clock at the timer's due
        time, delete the timer and run ``fn(tenant, payload)`` (one transaction)."""
        with self._call(timer.tenant, savepoint=True):
            saved = self._current
            self._current = from_micros(timer.due)
            try:
                self._store.delete_timer(timer.seq)
                fn(timer.tenant, timer.data["payload"])
            finally:
                self._current = saved

    # --- the event log ----------------------------------------------------------------------------

    @public
    def get_event(self, tenant: str, event_id: str) -> Json:
        return self._load("events", tenant, event_id, "event")

    @public
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
            raise Invalid("invalid_parameter", f"unknown event type {type!r}", param="type")
        equals = {} if type is None else {"type": type}
        return self._list("events", tenant, dict, equals, created_gte, limit, starting_after)

    @public
    def record_event(self, tenant: str, type: str, data: Json, extra: Json | None = None) -> Json:
        """Emit an event of one of ``EVENT_TYPES`` (e.g. ``webhook_endpoint.disabled``) now;
        ``extra`` adds top-level fields to the event envelope."""
        if type not in EVENT_TYPES:
            raise Invalid("invalid_parameter", f"unknown event type {type!r}", param="type")
        with self._txn():
            return self._emit(tenant, type, data, **(extra or {}))

    # --- extension points -------------------------------------------------------------------------

    def subscribe(self, callback: Callback) -> None:
        """Call ``callback(tenant, event)`` after each event is committed (see the module docstring)."""
        with self._lock:
            self._subscribers.append(callback)

    def add_scheduled_hook(self, kind: str, handler: HookHandler) -> None:
        """Register the handler of hook timers of ``kind`` (see ``schedule_hook``)."""
        with self._lock:
            self._hooks[kind] = handler

    @public
    def schedule_hook(
        self,
        tenant: str,
        kind: str,
        at: dt.datetime,
        payload: Json,
        *,
        ref: str | None = None,
        lane: str | None = None,
    ) -> None:
        """Persist a timer that calls the ``kind`` handler with ``(tenant, payload)`` at ``at`` on the
        tenant's clock. ``ref`` tags it for ``cancel_hooks``. With a ``lane`` it is deferred work for
        the ``kind`` runner (module docstring); without, a transition run under the lock (one not in
        the future runs before the outermost public call returns)."""
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        with self._txn():
            # a transition never runs in the past; deferred work keeps its time (an event's first
            # attempt is due at the event's time, even when it is published later in the call)
            when = at if lane is not None else max(at, self._current)
            self._schedule(
                tenant, when, {"kind": "hook", "hook": kind, "payload": payload}, ref=ref, lane=lane
            )
            if when <= self._current:
                if lane is None:
                    self._hooks_due = True
                else:
                    self._deferred_due.add(tenant)

    @public
    def cancel_hooks(self, tenant: str, ref: str) -> None:
        """Drop every pending timer of ``tenant`` scheduled with ``ref`` (see ``schedule_hook``)."""
        with self._txn():
            self._store.delete_timers(tenant, ref)

    @contextmanager
    def atomic(self, tenant: str) -> Iterator[None]:
        """Hold the lock and make the calls inside one transaction of ``tenant`` (a savepoint when
        nested); due transitions run on exit."""
        with self._call(tenant, savepoint=True):
            yield

    def _ext_table(self, table: str) -> str:
        if table in ENGINE_TABLES or not table.isidentifier():
            raise ValueError(f"table {table!r} is the engine's own or not a valid name")
        return table

    @public
    def new_id(self, tenant: str, prefix: str, *, sequence: str | None = None) -> str:
        """A deterministic id ``prefix_...``. ``sequence`` names a counter of its own, so ids drawn
        from it do not shift the ids of the engine's objects."""
        if not (prefix.isalpha() and prefix.islower() and len(prefix) == 3):
            raise ValueError("prefix must be three lowercase letters")
        with self._txn():
            if sequence is None:
                return self._new_id(tenant, prefix)
            return make_id(prefix, f"{tenant}\x00{sequence}", self._store.counter(f"ids:{tenant}:{sequence}"))

    @public
    def put_record(self, table: str, tenant: str, key: str, data: Json) -> None:
        """Insert or replace an extension's record (listed in insertion order, stamped now)."""
        with self._txn():
            self._store.put(self._ext_table(table), tenant, key, data, ts=to_micros(self._current))

    @public
    def get_record(self, table: str, tenant: str, key: str) -> Json | None:
        """An extension's record as stored (internal ``_`` keys included), or None."""
        return self._store.get(self._ext_table(table), tenant, key)

    @public
    def delete_record(self, table: str, tenant: str, key: str) -> None:
        with self._txn():
            self._store.delete(self._ext_table(table), tenant, key)

    @public
    def scan_records(
        self, table: str, tenant: str, *, equals: Mapping[str, str | None] | None = None
    ) -> list[Json]:
        """Every record of ``table`` for ``tenant`` (internal keys included), in insertion order."""
        return self._store.scan(self._ext_table(table), tenant, equals=equals)

    @public
    def list_records(
        self,
        table: str,
        tenant: str,
        *,
        equals: Mapping[str, str | None] | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> Json:
        """A page of records in the API's list shape, internal keys left out (``render``)."""
        return self._list(self._ext_table(table), tenant, render, equals or {}, None, limit, starting_after)


def _wall_micros() -> int:
    """The machine's wall clock in epoch microseconds (``clock.wall``, which tests replace)."""
    return int(clock_module.wall() * 1_000_000)
