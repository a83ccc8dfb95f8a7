"""What the merchant settles with the insurer (DESIGN §7.6): balance transactions and monthly statements.

Every journal entry that concerns the merchant (a premium at bind, a premium refund at cancel,
settle or endorsement, a claim paid to the merchant itself) is also a **balance transaction**,
written by ``Ledger._post`` in the same transaction as the entry and dated by the tenant's clock
when the operation ran. Their amounts are signed: + owed to the insurer, − owed to the merchant.

A **statement** is the balance transactions of a UTC calendar month of the tenant's clock with their
totals. It is ``open`` until the clock reaches the first instant of the next month; the first line
of a month schedules a transition at that instant, which stores the statement as it stands
(``final``) and emits ``statement.finalized``. A final statement is served from that snapshot and
never changes: the clock never goes back, transitions run in time order, and a line dated into a
finalized month is refused (it would be a bug, so the operation fails and rolls back whole).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ...types.statement import BALANCE_TRANSACTION_TYPES, BalanceTransactionType, month_problem
from ..clock import UTC, format_ts, to_micros
from ..errors import Invalid
from ..ids import make_id
from ..products import PRICING
from ._core import Core, public
from .records import BalanceTransactionRecord, Json, money
from .render import render

__all__ = ["MerchantLine", "Statements", "commission", "month_bounds", "month_of"]


@dataclass(frozen=True)
class MerchantLine:
    """How a journal entry concerns the merchant: the balance transaction's type, the policy and its
    order, and the object that moved the money (the policy, an endorsement or a claim)."""

    type: BalanceTransactionType
    policy_id: str
    merchant_order_id: str | None
    source_id: str

    @property
    def sign(self) -> int:
        """+1 for a premium (owed to the insurer), −1 for a refund or a claim paid to the merchant."""
        return 1 if self.type == "premium" else -1


def commission(premiums_less_refunds: int) -> int:
    """The channel commission on ``premiums − refunds`` (fen): 15% rounded half away from zero to
    the fen, exactly (Decimal; ROUND_HALF_UP rounds half away from zero)."""
    exact = Decimal(premiums_less_refunds) * PRICING.channel_commission
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def month_of(instant: dt.datetime) -> str:
    """The statement month ("YYYY-MM") of an instant (UTC)."""
    utc = instant.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of ``month`` and the first instant of the month after it (UTC)."""
    year, number = int(month[:4]), int(month[5:])
    start = dt.datetime(year, number, 1, tzinfo=UTC)
    end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


class Statements(Core):
    """Balance transactions and monthly statements."""

    def _record_balance(self, tenant: str, line: MerchantLine, fen: int) -> None:
        """Write the balance transaction of a journal entry of ``fen`` (inside its transaction) and,
        for the month's first line, schedule the month's finalization."""
        month = month_of(self._current)
        tracked = self._store.get("statements", tenant, month)
        if tracked is not None and tracked["status"] == "final":
            raise RuntimeError(f"a balance transaction would be dated into the finalized month {month}")
        record = BalanceTransactionRecord(
            id=self._new_btx_id(tenant),
            type=line.type,
            fen=line.sign * fen,
            policy_id=line.policy_id,
            merchant_order_id=line.merchant_order_id,
            source_id=line.source_id,
            created=self._current,
        )
        self._store.put(
            "balance_transactions", tenant, record.id, record.to_json(), ts=to_micros(self._current)
        )
        if tracked is None:
            _, end = month_bounds(month)
            self._store.put(
                "statements", tenant, month, {"month": month, "status": "open"}, ts=to_micros(self._current)
            )
            self._schedule(tenant, end, {"kind": "statement", "month": month}, ref=f"statement:{month}")

    def _new_btx_id(self, tenant: str) -> str:
        """A ``btx_`` id from a counter of its own, so recording money never shifts other objects' ids."""
        return make_id("btx", f"{tenant}\x00balance_transactions", self._store.counter(f"ids:{tenant}:btx"))

    def _on_statement(self, tenant: str, data: Json) -> None:
        """The clock reached the first instant of the month after ``data["month"]``: keep the
        statement as it stands, final, and tell the merchant (``statement.finalized``)."""
        month = data["month"]
        statement = self._statement(tenant, month, "final")
        self._store.put("statements", tenant, month, statement)
        self._emit(tenant, "statement.finalized", statement)

    def _statement(self, tenant: str, month: str, status: str) -> Json:
        start, end = month_bounds(month)
        lines = self._store.scan(
            "balance_transactions", tenant, ts_gte=to_micros(start), ts_lt=to_micros(end)
        )
        totals = dict.fromkeys(BALANCE_TRANSACTION_TYPES, 0)
        for line in lines:
            totals[line["type"]] += abs(line["amount"]["amount"])
        premiums, refunds, claims = totals["premium"], totals["premium_refund"], totals["claim_payment"]
        earned = commission(premiums - refunds)
        return {
            "object": "statement",
            "month": month,
            "status": status,
            "period_start": format_ts(start),
            "period_end": format_ts(end),
            "premiums": money(premiums),
            "refunds": money(refunds),
            "claims_paid_to_merchant": money(claims),
            "commission": money(earned),
            "net_due": money(premiums - refunds - earned - claims),
            "lines": [render(line) for line in lines],
        }

    @public
    def get_statement(self, tenant: str, month: str) -> Json:
        """The statement of ``month`` ("YYYY-MM"): final and as it was kept once the tenant's clock
        reached the next month, open (and growing) before; a month with no lines is all zeros."""
        problem = month_problem(month)
        if problem is not None:
            raise Invalid("invalid_parameter", f"month {problem}", param="month")
        stored = self._store.get("statements", tenant, month)
        if stored is not None and stored["status"] == "final":
            return render(stored)
        _, end = month_bounds(month)
        return self._statement(tenant, month, "final" if self._current >= end else "open")

    @public
    def list_balance_transactions(
        self,
        tenant: str,
        *,
        type: str | None = None,
        policy_id: str | None = None,
        created_gte: dt.datetime | None = None,
        created_lt: dt.datetime | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> Json:
        """Balance transactions in the order the operations ran (``created`` never goes back)."""
        equals = self._filters({"type": BALANCE_TRANSACTION_TYPES}, type=type, policy_id=policy_id)
        return self._list(
            "balance_transactions",
            tenant,
            render,
            equals,
            created_gte,
            limit,
            starting_after,
            created_lt=created_lt,
        )
