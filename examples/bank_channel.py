"""The bank channel, told as a story: a bank refers a small business, the insurer underwrites, the
business defaults, the insurer pays the bank (代偿) and recovers what it can (追偿).

The caller here is the bank's credit department. It names itself as the beneficiary of the policy,
so a claim pays the bank, and every claim says who was paid. Run it with
``python examples/bank_channel.py``: the sandbox insurer runs inside the process and its clock moves
only when the story says so.
"""

from __future__ import annotations

import datetime as dt
import sys

import yangguang_sdk as yg
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types.identity import social_credit_code_check_character

START = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.timezone.utc)
FIRST_DUE = dt.date(2027, 4, 10)

BANK = {  # an invented bank; its USCC is made valid by its check character
    "type": "bank",
    "name": "示例银行股份有限公司杭州分行",
    "uscc": "91330100MA2BANK7Q" + social_credit_code_check_character("91330100MA2BANK7Q"),
}
COMPANY = {  # the small business the bank refers
    "type": "enterprise",
    "name": "杭州晨光五金制造有限公司",
    "uscc": "91330106MA27XK3L9" + social_credit_code_check_character("91330106MA27XK3L9"),
    "credit_score": 690,
}


def say(text: str = "") -> None:
    print(text)


def cny(money: yg.Money | None) -> str:
    return "–" if money is None else f"CNY {money.decimal:,.2f}"


def main() -> int:
    sb = Sandbox(now=START)
    client = sb.client()

    say("A bank's credit department in Hangzhou has a loan application from a small manufacturer.")
    check = client.exposure.check(borrower=COMPANY)
    say(
        f"Before quoting, it asks the insurer how much more the company may be insured for: {cny(check.available)}."
    )

    loan = {
        "principal": yg.Money.cny("400000.00"),
        "term_months": 12,
        "annual_rate": "0.065",
        "first_due_date": FIRST_DUE.isoformat(),
        "repayment_method": "interest_first",
    }
    try:
        client.quotes.create(product="sme_loan", merchant_order_id="BANK-SME-1", borrower=COMPANY, loan=loan)
    except yg.ParameterError as err:
        say(
            f"A first try without naming who is paid is refused before it leaves the bank: {err.code} ({err.param})."
        )

    quote = client.quotes.create(
        product="sme_loan",
        merchant_order_id="BANK-SME-1",
        borrower=COMPANY,
        beneficiary=BANK,
        loan=loan,
    )
    say(
        f"The insurer underwrites it: {quote.decision}, premium {cny(quote.premium)} on a "
        f"先息后本 loan of CNY 400,000.00 (interest only, the principal at the end)."
    )
    say(
        f"  the company pays {cny(quote.schedule[0].amount)} a month, then {cny(quote.schedule[-1].amount)} in month 12;"
    )
    say(
        f"  the annual cost with the premium is {quote.comprehensive_cost:.4%}; sum insured {cny(quote.sum_insured)}."
    )
    policy = client.policies.bind(quote_id=quote.id, idempotency_key="BANK-SME-1")
    beneficiary = policy.beneficiary
    assert beneficiary is not None
    say(f"The bank binds policy {policy.id}; it is the beneficiary: {beneficiary.name}.")
    after = client.exposure.check(borrower=COMPANY)
    say(f"The company's insured exposure is now {cny(after.used)} of {cny(after.limit)}.")

    for n in (1, 2):
        line = policy.installments[n - 1]
        sb.advance(days=(line.due_date - sb.now.date()).days)
        client.repayments.create(policy_id=policy.id, installment=n, amount=line.amount, paid_at=sb.now)
        say(f"{line.due_date}: the company pays installment {n} ({cny(line.amount)}).")

    say("Then an order is cancelled, cash runs short, and the third installment is not paid.")
    sb.advance(days=(policy.installments[2].due_date - sb.now.date()).days + 95)
    claims = list(client.claims.list(policy_id=policy.id))
    claim = claims[0]
    say(
        f"{claim.default_date}: 90 days past due, the loan has defaulted; claim {claim.id} opened for "
        f"{cny(claim.amount)} (unpaid principal and interest, less the 10% deductible)."
    )
    paid = client.claims.retrieve(claim.id)
    assert paid.status == "paid" and paid.paid_to is not None and paid.paid_at is not None
    say(f"{paid.paid_at.date()}: the insurer pays {paid.paid_to.name} {cny(paid.amount)} (代偿).")
    payment = next(e for e in client.events.list(type="claim.paid"))
    assert isinstance(payment.data, yg.types.Claim) and payment.data.paid_to is not None
    say(f"  the claim.paid event names who was paid: {payment.data.paid_to.name}.")

    sb.advance(days=31)
    recovered = client.claims.retrieve(claim.id)
    say(
        f"{recovered.recovered_at.date() if recovered.recovered_at else '?'}: the insurer recovers "
        f"{cny(recovered.recovered)} from the company (追偿)."
    )
    final = client.exposure.check(borrower=COMPANY)
    say(
        f"The policy is {client.policies.retrieve(policy.id).status}; the company's insured exposure is back to {cny(final.used)}."
    )
    client.close()
    sb.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
