"""The engine's core: the lock, store transactions, the clock and its timers, ids and the event log,
and the extension points the webhook delivery worker and the HTTP idempotency layer build on.

One re-entrant lock serialises every public method (``public``); each mutating operation, and each
clock transition, is one store transaction. Time (see also ``clock.py``): business dates are UTC
dates and a transition tied to a date fires at 00:00 UTC of that date. Transitions live in a
persisted timer queue processed in (due time, sequence) order; each runs with the clock set to its
due time, so its events are stamped with the scheduled time, not the time of the call that reached
it. Advancing a year in one call or in 365 steps gives the same events, ids and ledger. Ids are
deterministic (``ids.py``): a persisted counter per tenant.

Extension points:

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
- ``record_event(tenant, type, data)`` emits an event of the extension's own (e.g.
  ``webhook_endpoint.disabled``) so that it is listed and published like the others.
- Records of the extension's own (``put_record``, ``get_record``, ``delete_record``,
  ``scan_records``, ``list_records``) live in tables of the store beside the engine's (whose names
  are refused), in the same transactions; keys starting with ``_`` are internal and never listed.
  ``atomic()`` groups several calls into one locked transaction (a savepoint when nested);
  ``new_id`` draws deterministic ids.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from ..._logs import get_logger
from ...types.event import EVENT_TYPES
from ..clock import UTC, Clock, business_date, format_ts, from_micros, to_micros
from ..errors import Invalid, NotFound
from ..ids import make_id
from ..store import MemoryStore, SQLiteStore, Store, Timer
from .records import EventRecord, Json
from .render import render

__all__ = ["Core", "MAX_LIMIT", "ENGINE_TABLES", "Callback", "HookHandler", "public"]

logger = get_logger("yangguang_sdk.sandbox")

MAX_LIMIT = 100
ENGINE_TABLES = frozenset({"quotes", "policies", "repayments", "claims", "events", "journal"})
"""The store tables the engine keeps; extensions' records go in tables of other names."""

Callback = Callable[[str, Json], object]
HookHandler = Callable[[str, Json], object]

_C = TypeVar("_C", bound="Core")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def public(method: Callable[Concatenate[_C, _P], _R]) -> Callable[Concatenate[_C, _P], _R]:
    """Hold the engine lock and, at the outermost call, bring the clock up to date first."""

    def wrapper(self: _C, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
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


class Core:
    """Lock, transactions, clock, timers, ids, the event log and the extension points.

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
            self._store.set_meta("clock", str(timer.due))
            self._saved_clock = timer.due
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
                raise Invalid("invalid_request", f"{name} must be one of {', '.join(values)}", param=name)
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
        data = [view(row) for row in rows[:limit]]
        return {
            "object": "list",
            "data": data,
            "has_more": has_more,
            "next_cursor": data[-1]["id"] if has_more else None,
        }

    # --- the clock --------------------------------------------------------------------------------

    @public
    def now(self) -> dt.datetime:
        """The sandbox's current time (during a transition: its scheduled time)."""
        return self._current

    def peek_now(self) -> dt.datetime:
        """The sandbox time without taking the lock: for code running on another thread while the
        engine is busy (a webhook receiver checking a delivery's timestamp, say)."""
        return self._current

    @public
    def clock(self, tenant: str) -> Json:
        return {"object": "test_clock", "now": format_ts(self._current)}

    @public
    def advance(self, tenant: str, delta: dt.timedelta) -> Json:
        """Move the clock forward by ``delta``, running every due transition in time order."""
        if not isinstance(delta, dt.timedelta) or delta < dt.timedelta(0):
            raise Invalid(
                "invalid_request", "the clock can only be advanced by a positive duration", param="delta"
            )
        self._clock.advance(delta)
        self._sync()
        return {"object": "test_clock", "now": format_ts(self._current)}

    @public
    def run_due(self) -> dt.datetime:
        """Run every transition and hook due by the clock's time (the public-call prologue does it);
        returns the time. A served real-time sandbox calls this periodically."""
        return self._current

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
            raise Invalid("invalid_request", f"unknown event type {type!r}", param="type")
        equals = {} if type is None else {"type": type}
        return self._list("events", tenant, dict, equals, created_gte, limit, starting_after)

    @public
    def record_event(self, tenant: str, type: str, data: Json, extra: Json | None = None) -> Json:
        """Emit an event of one of ``EVENT_TYPES`` (e.g. ``webhook_endpoint.disabled``) now;
        ``extra`` adds top-level fields to the event envelope."""
        if type not in EVENT_TYPES:
            raise Invalid("invalid_request", f"unknown event type {type!r}", param="type")
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

    @public
    def cancel_hooks(self, tenant: str, ref: str) -> None:
        """Drop every pending timer of ``tenant`` scheduled with ``ref`` (see ``schedule_hook``)."""
        with self._txn():
            self._store.delete_timers(tenant, ref)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Hold the lock and make the calls inside one transaction (a savepoint when nested); due
        hooks run on exit."""
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
