"""A lending platform's year with the insurer: a portfolio bound, serviced, defaulted and reconciled.

The platform brings the borrowers, a bank lends, and the insurer underwrites each loan and stands
behind the bank: when a borrower stops paying, the insurer pays the bank (代偿) and then collects
what it can from the borrower (追偿). This script is that year against the in-process sandbox
insurer, with its clock moved month by month:

- January: 22 loan applications are quoted and the approved ones bound, the order id as the
  idempotency key; one borrower withdraws inside the cooling-off period;
- every month on the 15th the platform reports the installments its borrowers paid;
- one borrower pays in March ten days late (overdue, then cured), one repays early in June
  (提前结清), one stops after installment 3: overdue, default, claim, payment, recovery;
- at each month's end the platform prints its statement with the insurer, computed from the events
  API alone, and at the year's end checks it against the sandbox's own ledger.

Run it with ``python examples/lending_platform.py``. Nothing leaves the process.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import yangguang_sdk as yg
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types.identity import resident_id_problem, social_credit_code_problem
from yangguang_sdk.types.quote import ProductName

UTC = dt.timezone.utc
START = dt.datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
FIRST_DUE = dt.date(2027, 2, 15)  # the platform collects on the 15th of every month
LAST_MONTH = dt.date(2028, 1, 1)  # the statement runs from January 2027 to January 2028

WITHDRAWS = "PL-0004"  # withdraws the application inside the cooling-off period: full refund
LATE = ("PL-0006", 2)  # pays installment 2 ten days late: overdue, then cured
SETTLES = ("PL-0010", 5)  # repays the whole loan after installment 5 (提前结清)
STOPS = ("PL-0013", 3)  # pays installments 1 to 3, then nothing: default and claim


def complete(body: str, alphabet: str, problem: Callable[[str], str | None]) -> str:
    """The valid identifier that starts with ``body`` (made-up demo data: try each check character)."""
    for check in alphabet:
        if problem(body + check) is None:
            return body + check
    raise ValueError("no check character fits")


def resident_id(region: str, born: str, sequence: int) -> str:
    return complete(f"{region}{born}{sequence:03d}", "0123456789X", resident_id_problem)


def uscc(first_17: str) -> str:
    return complete(first_17, "0123456789ABCDEFGHJKLMNPQRTUWXY", social_credit_code_problem)


# The bank that funds the platform's loans: the insured lender, paid on every claim (代偿). Both
# products are for licensed lenders, so every quote names it (an invented bank, a valid USCC).
FUNDING_BANK = {"type": "bank", "name": "示例银行股份有限公司北京分行", "uscc": uscc("91110000MA01BANK0")}

# order id, borrower name, region, birth date, credit score, principal (yuan), term, annual rate
PLATFORM_LOANS = [
    ("PL-0001", "张伟", "110105", "19880312", 742, "30000.00", 12, "0.10"),
    ("PL-0002", "王芳", "310104", "19910627", 705, "12000.00", 12, "0.12"),
    ("PL-0003", "李娜", "440304", "19850119", 668, "8000.00", 6, "0.09"),
    ("PL-0004", "刘洋", "330106", "19930904", 720, "20000.00", 12, "0.10"),
    ("PL-0005", "陈静", "510107", "19870215", 690, "15000.00", 9, "0.11"),
    ("PL-0006", "杨帆", "420102", "19900730", 655, "6000.00", 6, "0.12"),
    ("PL-0007", "赵磊", "320102", "19821103", 780, "50000.00", 12, "0.08"),
    ("PL-0008", "黄敏", "610103", "19950521", 612, "5000.00", 6, "0.10"),
    ("PL-0009", "周杰", "120101", "19891008", 735, "25000.00", 12, "0.09"),
    ("PL-0010", "吴婷", "350102", "19920314", 701, "18000.00", 12, "0.11"),
    ("PL-0011", "徐强", "370102", "19860826", 540, "10000.00", 12, "0.12"),
    ("PL-0012", "孙丽", "210102", "19940117", 676, "9000.00", 9, "0.10"),
    ("PL-0013", "马超", "500103", "19830605", 628, "40000.00", 12, "0.12"),
    ("PL-0014", "朱琳", "430102", "19961211", 760, "7000.00", 6, "0.08"),
    ("PL-0015", "胡军", "230102", "19810402", 695, "60000.00", 12, "0.09"),
    ("PL-0016", "郭欣", "410102", "19970909", 604, "20000.00", 12, "0.17"),
    ("PL-0017", "何平", "360102", "19880728", 715, "11000.00", 9, "0.10"),
    ("PL-0018", "高洁", "530102", "19930120", 684, "4500.00", 6, "0.12"),
    ("PL-0019", "林峰", "450102", "19841015", 748, "35000.00", 12, "0.10"),
    ("PL-0020", "罗佳", "130102", "19900502", 662, "16000.00", 12, "0.11"),
]
# order id, company, USCC (the second computed from its first 17 characters), score, principal, term, rate
SME_LOANS = [
    ("SME-0001", "北京晨光科技有限公司", "91110000600037341L", 712, "300000.00", 12, "0.08"),
    ("SME-0002", "深圳南山精密制造有限公司", uscc("91440300MA5G7XK2Q"), 688, "150000.00", 9, "0.09"),
]


@dataclass
class Loan:
    """One loan in the platform's own book."""

    order: str
    borrower: str
    policy: yg.types.Policy


def say(text: str = "") -> None:
    print(text)


def cny(money: yg.Money) -> str:
    return f"{money.decimal:,.2f}"


def advance_to(client: yg.Client, when: dt.datetime) -> None:
    """Move the sandbox clock to ``when``; every transition due on the way runs, in order."""
    delta = when - client.test_clock.retrieve().now
    minutes, rest = divmod(int(delta.total_seconds()), 60)
    assert rest == 0 and minutes >= 0, delta
    if minutes:
        client.test_clock.advance(minutes=minutes)


def month_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, 1, tzinfo=UTC)


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


# --- January: quote and bind ------------------------------------------------------------------------


def underwrite(client: yg.Client) -> dict[str, Loan]:
    """Quote every application and bind the approved ones; returns the book by order id."""
    applications: list[tuple[str, ProductName, str, dict[str, object], str, int, str]] = []
    for order, name, region, born, score, principal, term, rate in PLATFORM_LOANS:
        borrower = {
            "type": "individual",
            "name": name,
            "id_number": resident_id(region, born, int(order[-3:]) * 2 + 1),
            "credit_score": score,
        }
        applications.append((order, "platform_loan", name, borrower, principal, term, rate))
    for order, company, code, score, principal, term, rate in SME_LOANS:
        borrower = {"type": "enterprise", "name": company, "uscc": code, "credit_score": score}
        applications.append((order, "sme_loan", company, borrower, principal, term, rate))

    book: dict[str, Loan] = {}
    declined: list[str] = []
    for order, product, name, borrower, principal, term, rate in applications:
        quote = client.quotes.create(
            product=product,
            merchant_order_id=order,
            borrower=borrower,
            beneficiary=FUNDING_BANK,
            loan={
                "principal": yg.Money.cny(principal),
                "term_months": term,
                "annual_rate": rate,
                "first_due_date": FIRST_DUE.isoformat(),
            },
        )
        if quote.decision != "approved":
            declined.append(f"{order} ({quote.decline_reason})")
            continue
        # the borrower acknowledged the disclosure in the app; the platform keeps record CONSENT-<order>
        consent = yg.consent(client, reference=f"CONSENT-{order}")
        policy = client.policies.bind(quote_id=quote.id, consent=consent, idempotency_key=order)
        book[order] = Loan(order, name, policy)

    premium = sum((loan.policy.premium for loan in book.values()), yg.Money.zero())
    insured = sum((loan.policy.sum_insured for loan in book.values()), yg.Money.zero())
    say(f"{len(applications)} applications quoted, {len(book)} bound; declined: {', '.join(declined)}.")
    say(f"  premium CNY {cny(premium)} for CNY {cny(insured)} insured (principal plus interest).")

    # the platform's bind call times out and its job runs again: the order id makes it a replay
    first = book["PL-0001"].policy
    assert first.consent is not None  # a replay sends the same body: the consent as first recorded
    recorded = yg.consent(
        client, reference="CONSENT-PL-0001", acknowledged_at=first.consent.disclosure_acknowledged_at
    )
    again = client.policies.bind(quote_id=first.quote_id, consent=recorded, idempotency_key="PL-0001")
    assert again.id == first.id and again.last_response is not None and again.last_response.replayed
    say(f"  PL-0001 bound twice by a retried job: one policy, {again.id} (replayed).")
    return book


# --- servicing --------------------------------------------------------------------------------------


def report(client: yg.Client, loan: Loan, number: int, paid_at: dt.datetime) -> None:
    installment = loan.policy.installments[number - 1]
    client.repayments.create(
        policy_id=loan.policy.id,
        installment=number,
        amount=installment.amount,
        paid_at=paid_at,
        idempotency_key=f"{loan.order}-{number:02d}",  # the platform's own repayment record
    )


def nine_am(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), tzinfo=UTC)


def collect(client: yg.Client, book: dict[str, Loan], due: dt.date) -> None:
    """The 15th at 09:00 UTC: report every installment due today that the borrower paid."""
    advance_to(client, nine_am(due))
    for loan in book.values():
        if loan.policy.status != "active":
            continue
        for inst in loan.policy.installments:
            if inst.due_date != due:
                continue
            if (loan.order == STOPS[0] and inst.installment > STOPS[1]) or (
                (loan.order, inst.installment) == LATE
            ):
                continue
            report(client, loan, inst.installment, nine_am(due))


def service(client: yg.Client, book: dict[str, Loan], month: dt.date) -> None:
    """One month of servicing: the collection on the 15th, then the month's exceptions."""
    due = month.replace(day=FIRST_DUE.day)
    if due < FIRST_DUE:
        return
    collect(client, book, due)
    late, number = LATE
    if book[late].policy.installments[number - 1].due_date == due:
        advance_to(client, nine_am(due + dt.timedelta(days=10)))
        report(client, book[late], number, nine_am(due + dt.timedelta(days=10)))
    settles, after = SETTLES
    if book[settles].policy.installments[after - 1].due_date == due:
        advance_to(client, nine_am(due + dt.timedelta(days=5)))
        book[settles].policy = client.policies.settle(book[settles].policy.id)  # 提前结清


def expected_claim(policy: yg.types.Policy, paid: int, day_d: dt.date, deductible: str) -> yg.Money:
    """The claim rule (docs/servicing.md) by hand: unpaid principal + interest of the unpaid
    installments due by day D, less the deductible, capped at the sum insured, half-up to the fen."""
    unpaid = policy.installments[paid:]
    base = sum(i.principal.amount for i in unpaid) + sum(
        i.interest.amount for i in unpaid if i.due_date <= day_d
    )
    amount = min(Decimal(base) * (1 - Decimal(deductible)), Decimal(policy.sum_insured.amount))
    return yg.Money(int(amount.quantize(Decimal(1), ROUND_HALF_UP)))


# --- the statement ----------------------------------------------------------------------------------

COLUMNS = ("premiums", "refunds", "claims", "recoveries")


def statement(client: yg.Client, month: dt.date) -> tuple[dict[str, yg.Money], list[str]]:
    """The month's money and what happened, from the events API alone."""
    start, end = month_start(month), month_start(next_month(month))
    money = {column: yg.Money.zero() for column in COLUMNS}
    counts: Counter[str] = Counter()
    notes: list[str] = []
    for event in client.events.list(created_gte=start, limit=100):
        if event.timestamp >= end:
            break
        counts[event.type] += 1
        day = f"{event.timestamp:%m-%d}"
        if isinstance(event, yg.types.PolicyEvent):
            if event.type == "policy.bound":
                money["premiums"] += event.data.premium
            elif event.data.refund is not None:  # cancelled, or settled early
                money["refunds"] += event.data.refund
                if event.type == "policy.completed":
                    counts["settled"] += 1
                    notes.append(f"{day} {event.data.merchant_order_id} settled early")
        elif isinstance(event, yg.types.InstallmentEvent):
            order = event.data.merchant_order_id
            if event.type == "installment.overdue":
                notes.append(f"{day} {order} #{event.installment} overdue")
            elif event.type == "installment.cured":
                notes.append(f"{day} {order} #{event.installment} cured")
            else:
                notes.append(f"{day} {order} defaulted")
        elif isinstance(event, yg.types.ClaimEvent):
            claim = event.data
            if event.type == "claim.paid":
                money["claims"] += claim.amount
                notes.append(f"{day} claim paid (代偿)")
            elif event.type == "recovery.received" and claim.recovered is not None:
                money["recoveries"] += claim.recovered
                notes.append(f"{day} recovered (追偿)")
            else:
                notes.append(f"{day} {event.type.replace('.', ' ')}")
    notes.insert(0, f"{counts['repayment.created']:>2} repaid")
    paid_off = counts["policy.completed"] - counts["settled"]
    if paid_off:
        notes.append(f"{paid_off} paid off")
    return money, notes


def print_row(label: str, money: dict[str, yg.Money], notes: list[str]) -> None:
    net = money["premiums"] - money["refunds"] - money["claims"] + money["recoveries"]
    cells = "".join(f"{cny(money[c]):>13}" for c in COLUMNS)
    say(f"  {label:<8}{cells}{cny(net):>13}   {'; '.join(notes)}".rstrip())


def main() -> int:
    sb = Sandbox(now=START)
    client = sb.client()
    say(f"A lending platform on {START:%Y-%m-%d}: its loans are insured by the (sandbox) insurer.\n")
    book = underwrite(client)

    withdrawn = client.policies.cancel(book[WITHDRAWS].policy.id, reason="application_withdrawn")
    assert withdrawn.refund == withdrawn.premium
    book[WITHDRAWS].policy = withdrawn
    say(f"  {WITHDRAWS} is withdrawn the same day, inside cooling-off: refund CNY {cny(withdrawn.premium)}.")

    say("\nThe platform's monthly statement with the insurer (CNY), from the events API:\n")
    say(f"  {'month':<8}" + "".join(f"{c:>13}" for c in COLUMNS) + f"{'insurer net':>13}")
    totals = {column: yg.Money.zero() for column in COLUMNS}
    month = START.date().replace(day=1)
    while month <= LAST_MONTH:
        service(client, book, month)
        advance_to(client, month_start(next_month(month)))
        for policy in client.policies.list(limit=100):  # the platform refreshes its book
            book[policy.merchant_order_id].policy = policy
        money, notes = statement(client, month)
        for column in COLUMNS:
            totals[column] += money[column]
        print_row(f"{month:%Y-%m}", money, notes)
        month = next_month(month)
    print_row("total", totals, [])

    # the default, told from the claim's side
    stopper = book[STOPS[0]].policy
    [claim] = client.claims.list(policy_id=stopper.id)
    day_d = stopper.installments[STOPS[1]].due_date + dt.timedelta(days=80)
    assert claim.opened_at.date() == day_d
    expected = expected_claim(stopper, STOPS[1], day_d, "0")
    assert claim.amount == expected, (claim.amount, expected)
    assert claim.recovered is not None
    say(f"\n{STOPS[0]} ({book[STOPS[0]].borrower}) paid installments 1–{STOPS[1]} and stopped.")
    say(
        f"  installment {STOPS[1] + 1} was due {stopper.installments[STOPS[1]].due_date}; "
        f"80 days later, on {day_d}, the loan defaulted and claim {claim.id} opened."
    )
    say(
        f"  claim CNY {cny(claim.amount)} (unpaid principal + interest due by {day_d}), "
        f"paid {claim.paid_at:%Y-%m-%d}; recovered CNY {cny(claim.recovered)} on {claim.recovered_at:%Y-%m-%d}."
    )

    statuses = Counter(loan.policy.status for loan in book.values())
    say(f"\nThe portfolio at the end: {', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}.")

    # the cross-check: the statement built from events equals the insurer's own ledger
    ledger = sb.engine.ledger(sb.api_key)
    books = ledger["totals"]
    net = totals["premiums"] - totals["refunds"] - totals["claims"] + totals["recoveries"]
    assert books["premium"] == totals["premiums"].amount, (books, totals)
    assert books["refunds"] == totals["refunds"].amount, (books, totals)
    assert books["claims_paid"] == totals["claims"].amount, (books, totals)
    assert books["recoveries"] == totals["recoveries"].amount, (books, totals)
    assert books["insurer_balance"] == net.amount, (books, net)
    assert sum(ledger["balances"].values()) == 0
    say(
        f"Reconciled: the events give the insurer's ledger to the fen "
        f"({len(ledger['entries'])} journal entries, insurer balance CNY {cny(net)})."
    )
    client.close()
    sb.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
