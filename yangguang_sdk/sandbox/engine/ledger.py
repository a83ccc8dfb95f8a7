"""The insurer's books (DESIGN §4): every money movement is a balanced journal entry in integer fen.

Accounts, per tenant, with balance = debits − credits:

- ``cash``: the insurer's bank account, i.e. the insurer's balance;
- ``premium_income`` (credited with each premium when a policy is bound);
- ``premium_refunds`` (debited with each refund on cancel or settle);
- ``claims_paid`` (debited when a claim is paid, D + 4);
- ``recoveries`` (credited when money is recovered).

Hence Σ balances = 0 and premium − refunds − claims paid + recoveries = the ``cash`` balance; the
``totals`` of ``ledger()`` show both sides.
"""

from __future__ import annotations

from ..clock import to_micros
from ._core import public
from .records import JournalEntry, Json
from .statements import MerchantLine, Statements

__all__ = ["ACCOUNTS", "Ledger"]

ACCOUNTS = ("cash", "premium_income", "premium_refunds", "claims_paid", "recoveries")


class Ledger(Statements):
    """Journal entries and the ledger."""

    def _post(
        self,
        tenant: str,
        kind: str,
        debit: str,
        credit: str,
        fen: int,
        *,
        merchant: MerchantLine | None = None,
        **refs: str,
    ) -> None:
        """One balanced journal entry moving ``fen`` from ``credit`` to ``debit``; with ``merchant``,
        the entry concerns the merchant and is also its balance transaction (``statements``)."""
        if fen <= 0:
            return
        entry = JournalEntry(self._new_id(tenant, "jnl"), kind, self._current, debit, credit, fen, refs)
        self._store.put("journal", tenant, entry.id, entry.to_json(), ts=to_micros(self._current))
        if merchant is not None:
            self._record_balance(tenant, merchant, fen)

    def _post_refund(
        self,
        tenant: str,
        policy_id: str,
        merchant_order_id: str | None,
        fen: int,
        source_id: str,
        **refs: str,
    ) -> None:
        """A premium refund of ``fen`` on a policy (cancel, settle or endorsement ``source_id``): the
        journal entry and the merchant's ``premium_refund`` balance transaction."""
        self._post(
            tenant,
            "refund",
            "premium_refunds",
            "cash",
            fen,
            merchant=MerchantLine("premium_refund", policy_id, merchant_order_id, source_id),
            policy_id=policy_id,
            **refs,
        )

    @public
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
