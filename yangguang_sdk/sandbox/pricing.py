"""Pure pricing and settlement arithmetic of the sandbox insurer (DESIGN §4), in Decimal.

Nothing here touches storage or the clock: every function takes numbers and dates and returns
numbers and dates, so the rules can be tested one by one. Money is never a float. The borrower's
schedule is computed exactly, as ratios of integers (``_Annuity``, ``_EqualPrincipal``,
``_InterestFirst``), so an exact half fen rounds up;
everything else runs in a local Decimal context of 50 significant digits. Pricing works on
unrounded amounts in yuan; the premium, the borrower's schedule, refunds and claims are the only
rounded results and are returned as integer fen.

Rules implemented (exactly as DESIGN §4 states them):

- monthly hazard ``h = 1 − (1 − PD₂ᵧ)^(1/24)`` with PD₂ᵧ from the score band;
- three repayment methods at ``r = annual_rate / 12`` (DESIGN §7.5): equal installments (等额本息),
  equal principal parts (等额本金: P/n a month, interest r·B_{t−1}) and interest first (先息后本:
  r·P a month, the whole principal with installment n); ``EAD_t = B_{t−1}·(1 + r)`` with B from the
  unrounded schedule of the method;
- ``EL_t = (1 − h)^{t−1} · h · LGD · (1 − deductible) · EAD_t``;
- gross premium ``(EL + ¥5) / (1 − 0.15 − 0.10 − 0.05)`` half-up to the fen;
- the borrower's schedule rounds each installment's principal and interest half-up to the fen, the
  last one takes the remainders; installment t is due ``first_due_date + (t − 1)`` months, the day
  clipped to the month's end;
- comprehensive cost = 12 × the monthly IRR of: the principal received at month 0, then at month
  t the unrounded installment_t plus the rounded premium / n (unequal flows for all but 等额本息);
- earned share on a date (exposure-weighted by EL_t, pro rata by whole days inside the current
  period), refund = premium × (1 − share) rounded down to the fen;
- claim = (principal of every unpaid installment + interest of unpaid installments due on or before
  D) × (1 − deductible), capped at the sum insured, half-up to the fen; recovery = (1 − LGD) × claim,
  half-up to the fen.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import ParamSpec, TypeVar

from ..types.products import RepaymentMethod
from .products import PD_TABLE, PRICING, PricingParameters, Product

__all__ = [
    "PRECISION",
    "Pricing",
    "ScheduleLine",
    "installments",
    "add_months",
    "claim_amount",
    "comprehensive_cost",
    "due_dates",
    "earned_share",
    "earned_fraction",
    "share_refund",
    "expected_losses",
    "exposures",
    "fen_to_yuan",
    "gross_premium",
    "level_payment",
    "borrower_schedule",
    "monthly_hazard",
    "monthly_irr",
    "outstanding_balances",
    "pd_two_year",
    "price_loan",
    "recovery_amount",
    "unearned_refund",
    "yuan_to_fen",
]

PRECISION = 50
_FEN = Decimal("0.01")
_ONE = Decimal(1)
_P = ParamSpec("_P")
_T = TypeVar("_T")


def _precise(func: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run ``func`` in a local Decimal context of PRECISION digits (Python 3.10 compatible)."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return func(*args, **kwargs)

    return wrapper


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen as an exact Decimal of yuan."""
    return Decimal(fen).scaleb(-2)


def yuan_to_fen(yuan: Decimal) -> int:
    """Yuan as integer fen, half-up."""
    return int((yuan * 100).quantize(_ONE, rounding=ROUND_HALF_UP))


# --- risk ----------------------------------------------------------------------------------------


def pd_two_year(score: int) -> Decimal:
    """Probability of a 90+ days default within two years for a credit score (300–850)."""
    pd = PD_TABLE[0][1]
    for lowest, band_pd in PD_TABLE:
        if score >= lowest:
            pd = band_pd
    return pd


@functools.lru_cache(maxsize=64)
@_precise
def monthly_hazard(score: int) -> Decimal:
    """``h = 1 − (1 − PD₂ᵧ)^(1/24)``."""
    survival = _ONE - pd_two_year(score)
    return _ONE - survival ** (_ONE / Decimal(24))


# --- the loan ------------------------------------------------------------------------------------


def add_months(start: dt.date, months: int) -> dt.date:
    """``start`` plus ``months`` calendar months, the day clipped to the month's end."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def due_dates(first_due_date: dt.date, term_months: int) -> list[dt.date]:
    """Due date of installment t = first_due_date + (t − 1) months, each from the first date."""
    return [add_months(first_due_date, t) for t in range(term_months)]


class _Annuity:
    """The borrower's equal installments (等额本息), exactly: each amount is an integer numerator
    over the one integer ``denominator``, in yuan.

    With the monthly rate r = annual_rate / 12 = a/q in lowest terms and 1 + r = u/q (u = q + a),
    (1 + r)^t = u^t / q^t and, with S = u^n − q^n:

    - payment = P·a·u^n / (q·S);
    - balance after t payments B_t = P·(u^n − u^t·q^(n−t)) / S;
    - interest of installment t = B_{t−1}·r = P·a·(u^n − u^(t−1)·q^(n−t+1)) / (q·S);
    - its principal part = payment − interest = P·a·u^(t−1)·q^(n−t+1) / (q·S).

    The rate is never divided by 12 on its own: half a fen stays exactly half and rounds up.
    """

    __slots__ = ("denominator", "_a", "_n", "_pn", "_principal", "_u_pow", "_q_pow")

    def __init__(self, principal: Decimal, annual_rate: Decimal, term_months: int) -> None:
        pn, pd = principal.as_integer_ratio()
        a, q = _monthly_rate(annual_rate)
        n = term_months
        u_pow, q_pow = [1], [1]
        if a:
            for _ in range(n):
                u_pow.append(u_pow[-1] * (q + a))
                q_pow.append(q_pow[-1] * q)
        self._a, self._n, self._pn, self._u_pow, self._q_pow = a, n, pn, u_pow, q_pow
        # At r = 0 the payment is P / n: everything over pd·n.
        over = q * (u_pow[n] - q_pow[n]) if a else n
        self.denominator = pd * over
        self._principal = pn * over

    def payment(self) -> int:
        return self._pn * self._a * self._u_pow[self._n] if self._a else self._pn

    def interest(self, t: int) -> int:
        """The interest of installment t: B_{t−1}·r."""
        if not self._a:
            return 0
        n, u_pow, q_pow = self._n, self._u_pow, self._q_pow
        return self._pn * self._a * (u_pow[n] - u_pow[t - 1] * q_pow[n - t + 1])

    def principal_part(self, t: int) -> int:
        """The principal repaid by installment t: payment − interest."""
        if not self._a:
            return self._pn
        return self._pn * self._a * self._u_pow[t - 1] * self._q_pow[self._n - t + 1]

    def total_interest(self) -> int:
        """n × payment − P."""
        return self._n * self.payment() - self._principal

    def fen(self, numerator: int) -> int:
        """``numerator / denominator`` yuan in fen, half-up, exactly."""
        return _half_up(numerator * 100, self.denominator)


class _EqualPrincipal:
    """Equal principal parts (等额本金), exactly, over the one denominator q·pd·n (P = pn/pd,
    r = a/q): principal part P/n = pn·q / (q·pd·n); B_{t−1} = P·(n − t + 1)/n, so the interest
    r·B_{t−1} = a·pn·(n − t + 1) / (q·pd·n); the total interest a·pn·n(n + 1)/2 over the same."""

    __slots__ = ("denominator", "_a", "_n", "_pn", "_q")

    def __init__(self, principal: Decimal, annual_rate: Decimal, term_months: int) -> None:
        pn, pd = principal.as_integer_ratio()
        self._a, self._q = _monthly_rate(annual_rate)
        self._n, self._pn = term_months, pn
        self.denominator = self._q * pd * term_months

    def interest(self, t: int) -> int:
        return self._a * self._pn * (self._n - t + 1)

    def principal_part(self, t: int) -> int:
        return self._pn * self._q

    def total_interest(self) -> int:
        return self._a * self._pn * (self._n * (self._n + 1) // 2)

    def fen(self, numerator: int) -> int:
        return _half_up(numerator * 100, self.denominator)


class _InterestFirst:
    """Interest first (先息后本), exactly, over q·pd (P = pn/pd, r = a/q): interest r·P = a·pn / (q·pd)
    every month, the principal pn·q / (q·pd) with the last installment."""

    __slots__ = ("denominator", "_a", "_n", "_pn", "_q")

    def __init__(self, principal: Decimal, annual_rate: Decimal, term_months: int) -> None:
        pn, pd = principal.as_integer_ratio()
        self._a, self._q = _monthly_rate(annual_rate)
        self._n, self._pn = term_months, pn
        self.denominator = self._q * pd

    def interest(self, t: int) -> int:
        return self._a * self._pn

    def principal_part(self, t: int) -> int:
        return self._pn * self._q if t == self._n else 0

    def total_interest(self) -> int:
        return self._n * self._a * self._pn

    def fen(self, numerator: int) -> int:
        return _half_up(numerator * 100, self.denominator)


_ExactLoan = _Annuity | _EqualPrincipal | _InterestFirst
_EXACT: dict[RepaymentMethod, type[_Annuity] | type[_EqualPrincipal] | type[_InterestFirst]] = {
    "equal_installment": _Annuity,
    "equal_principal": _EqualPrincipal,
    "interest_first": _InterestFirst,
}


def _monthly_rate(annual_rate: Decimal) -> tuple[int, int]:
    """r = annual_rate / 12 as (a, q) in lowest terms (small powers, and never a rounded rate)."""
    a, d = annual_rate.as_integer_ratio()
    g = math.gcd(a, 12 * d)
    return a // g, 12 * d // g


def _half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, i.e. a tie away from zero as ROUND_HALF_UP
    does, in integers."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient = (2 * abs(numerator) + denominator) // (2 * denominator)
    return quotient if numerator >= 0 else -quotient


# The unrounded amounts below feed the expected loss (with the hazard, an irrational number) and the
# cost cap; only the premium is rounded, so 50 digits serve. The rounded schedule uses the exact
# classes above.


@_precise
def level_payment(principal: Decimal, annual_rate: Decimal, term_months: int) -> Decimal:
    """The unrounded equal monthly installment (等额本息); principal / n at a zero rate."""
    r = annual_rate / 12
    if r == 0:
        return principal / term_months
    return principal * r / (_ONE - (_ONE + r) ** -term_months)


@_precise
def outstanding_balances(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    method: RepaymentMethod = "equal_installment",
) -> list[Decimal]:
    """``[B_0, B_1, ..., B_n]``: the unrounded balance after t payments (B_0 = principal)."""
    n = term_months
    if method == "equal_principal":
        return [principal * (n - t) / n for t in range(n + 1)]
    if method == "interest_first":
        return [principal] * n + [Decimal(0)]
    r = annual_rate / 12
    payment = level_payment(principal, annual_rate, n)
    balances = [principal]
    for _ in range(n):
        balances.append(balances[-1] * (_ONE + r) - payment)
    return balances


@_precise
def installments(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    method: RepaymentMethod = "equal_installment",
) -> list[Decimal]:
    """``[installment_1, ..., installment_n]``, unrounded: principal part plus r·B_{t−1}."""
    n = term_months
    if method == "equal_installment":
        return [level_payment(principal, annual_rate, n)] * n
    r = annual_rate / 12
    balances = outstanding_balances(principal, annual_rate, n, method)
    return [balances[t - 1] - balances[t] + r * balances[t - 1] for t in range(1, n + 1)]


@_precise
def exposures(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    method: RepaymentMethod = "equal_installment",
) -> list[Decimal]:
    """``[EAD_1, ..., EAD_n]`` with ``EAD_t = B_{t−1}·(1 + r)``."""
    r = annual_rate / 12
    balances = outstanding_balances(principal, annual_rate, term_months, method)
    return [balances[t - 1] * (_ONE + r) for t in range(1, term_months + 1)]


@_precise
def expected_losses(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    hazard: Decimal,
    lgd: Decimal,
    deductible: Decimal,
    method: RepaymentMethod = "equal_installment",
) -> list[Decimal]:
    """``[EL_1, ..., EL_n]``, ``EL_t = (1 − h)^{t−1} · h · LGD · (1 − deductible) · EAD_t``."""
    loss_share = lgd * (_ONE - deductible)
    survival = _ONE
    result = []
    for ead in exposures(principal, annual_rate, term_months, method):
        result.append(survival * hazard * loss_share * ead)
        survival *= _ONE - hazard
    return result


@_precise
def gross_premium(expected_loss: Decimal, params: PricingParameters = PRICING) -> int:
    """``(EL + fixed expense) / (1 − commission − expenses − margin)``, half-up, in fen."""
    return yuan_to_fen((expected_loss + params.fixed_expense) / params.premium_divisor)


@dataclass(frozen=True)
class ScheduleLine:
    """One installment of the borrower's rounded schedule, in fen."""

    installment: int
    due_date: dt.date
    principal: int
    interest: int

    @property
    def amount(self) -> int:
        return self.principal + self.interest


@_precise
def borrower_schedule(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    first_due_date: dt.date,
    method: RepaymentMethod = "equal_installment",
) -> list[ScheduleLine]:
    """The schedule shown to the borrower: each installment's principal and interest rounded half-up
    to the fen; the last installment's principal is the principal minus the others', its interest
    the rounded total interest minus the others'. The same rule for every repayment method."""
    if method == "interest_first" and annual_rate == 0:
        raise ValueError("interest_first needs a rate above zero")
    loan: _ExactLoan = _EXACT[method](principal, annual_rate, term_months)
    dates = due_dates(first_due_date, term_months)
    lines = [
        ScheduleLine(t, dates[t - 1], loan.fen(loan.principal_part(t)), loan.fen(loan.interest(t)))
        for t in range(1, term_months)
    ]
    lines.append(
        ScheduleLine(
            term_months,
            dates[-1],
            yuan_to_fen(principal) - sum(line.principal for line in lines),
            loan.fen(loan.total_interest()) - sum(line.interest for line in lines),
        )
    )
    return lines


# --- the borrower's financing cost ---------------------------------------------------------------


@_precise
def monthly_irr(principal: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """The monthly rate i with ``principal = Σ_{t=1..n} payments[t−1] / (1 + i)^t``: the IRR of
    cash flows that need not be equal (等额本金, 先息后本).

    Newton's method kept inside a bracket where the present value changes sign, falling back to
    bisection, until the step is below 1e-40. With one outflow followed by inflows only, the present
    value falls as i rises, so the root is unique.
    """
    n = len(payments)

    def npv_and_slope(i: Decimal) -> tuple[Decimal, Decimal]:
        # Horner in v = 1/(1 + i): Σ c_t v^t and its derivative in i, −Σ t c_t v^(t+1).
        v = _ONE / (_ONE + i)
        value, slope = Decimal(0), Decimal(0)
        for t in range(n, 0, -1):
            value = (value + payments[t - 1]) * v
            slope = (slope + t * payments[t - 1]) * v
        return value - principal, -slope * v

    def npv(i: Decimal) -> Decimal:
        return npv_and_slope(i)[0]

    at_zero = npv(Decimal(0))
    if at_zero == 0:
        return Decimal(0)
    # npv falls as i rises: bracket the root with npv(lo) > 0 > npv(hi).
    if at_zero > 0:
        lo, hi = Decimal(0), Decimal(1)
        while npv(hi) > 0:
            lo, hi = hi, hi * 2
    else:  # the payments do not even repay the principal: a negative rate
        lo, hi = Decimal("-0.5"), Decimal(0)
        while npv(lo) < 0:
            lo, hi = (lo - 1) / 2, lo
    tolerance = Decimal("1e-40")
    guess = (lo + hi) / 2
    for _ in range(400):
        value, derivative = npv_and_slope(guess)
        if value == 0:
            return guess
        if value > 0:
            lo = guess
        else:
            hi = guess
        candidate = (lo + hi) / 2
        if derivative != 0:
            newton = guess - value / derivative
            if lo < newton < hi:
                candidate = newton
        if abs(candidate - guess) < tolerance or hi - lo < tolerance:
            return candidate
        guess = candidate
    return guess


@_precise
def comprehensive_cost(
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    premium: Decimal,
    method: RepaymentMethod = "equal_installment",
) -> Decimal:
    """12 × the monthly IRR of: ``principal`` received at month 0, then at month t the unrounded
    installment_t plus ``premium`` (rounded, in yuan) / n."""
    share = premium / term_months
    flows = [amount + share for amount in installments(principal, annual_rate, term_months, method)]
    # 30 places: far below any money amount, and the iteration's last-digit noise is gone, so a cost
    # of exactly 24% compares equal to the cap.
    return (monthly_irr(principal, flows) * 12).quantize(Decimal("1e-30"), rounding=ROUND_HALF_UP)


# --- after the bind ------------------------------------------------------------------------------


@_precise
def earned_share(
    bind_date: dt.date, dues: Sequence[dt.date], losses: Sequence[Decimal], on: dt.date
) -> Decimal:
    """The exposure-weighted share of the premium earned on date ``on``.

    Period t runs from its start (the bind date for t = 1, else due_{t−1}) to due_t. Periods with
    due_t ≤ on are earned whole; the period c with start_c ≤ on < due_c is earned pro rata by whole
    days; the share is that sum of EL_t over Σ EL_t.
    """
    total = sum(losses, Decimal(0))
    if total == 0:
        return _ONE if not dues or on >= dues[-1] else Decimal(0)
    earned = Decimal(0)
    for t, (due, loss) in enumerate(zip(dues, losses, strict=True)):
        start = bind_date if t == 0 else dues[t - 1]
        if due <= on:
            earned += loss
        elif start <= on:
            earned += loss * Decimal((on - start).days) / Decimal((due - start).days)
    return min(earned / total, _ONE)


@_precise
def unearned_refund(premium_fen: int, share: Decimal) -> int:
    """``premium × (1 − earned share)``, rounded down to the fen."""
    return int((Decimal(premium_fen) * (_ONE - share)).quantize(_ONE, rounding=ROUND_DOWN))


def earned_fraction(
    bind_date: dt.date, dues: Sequence[dt.date], losses: Sequence[Decimal], on: dt.date
) -> Fraction:
    """``earned_share`` as an exact rational (DESIGN §7.4: refunds are computed exactly): the EL
    weights are finite decimals, so every step is exact."""
    weights = [Fraction(loss) for loss in losses]
    total = sum(weights, Fraction(0))
    if total == 0:
        return Fraction(1) if not dues or on >= dues[-1] else Fraction(0)
    earned = Fraction(0)
    for t, (due, loss) in enumerate(zip(dues, weights, strict=True)):
        start = bind_date if t == 0 else dues[t - 1]
        if due <= on:
            earned += loss
        elif start <= on:
            earned += loss * Fraction((on - start).days, (due - start).days)
    return min(earned / total, Fraction(1))


def share_refund(
    premium_fen: int, share_in_force: Fraction, earned: Fraction, part: Fraction = Fraction(1)
) -> int:
    """``premium × f × (1 − e) × part`` rounded down to the fen, exactly (DESIGN §7.4): a cancel or
    settle refunds the unearned premium of the share in force f; an endorsement the part A / B_k
    of it."""
    return math.floor(premium_fen * share_in_force * (1 - earned) * part)


@_precise
def claim_amount(
    schedule: Sequence[ScheduleLine],
    paid: Collection[int],
    default_date: dt.date,
    deductible: Decimal,
    sum_insured_fen: int,
) -> int:
    """The claim on day D: the principal of every unpaid installment plus the interest of every
    unpaid installment due on or before D, × (1 − deductible), capped at the sum insured, half-up."""
    base = 0
    for line in schedule:
        if line.installment in paid:
            continue
        base += line.principal
        if line.due_date <= default_date:
            base += line.interest
    amount = min(Decimal(base) * (_ONE - deductible), Decimal(sum_insured_fen))
    return int(amount.quantize(_ONE, rounding=ROUND_HALF_UP))


@_precise
def recovery_amount(claim_fen: int, lgd: Decimal) -> int:
    """``(1 − LGD) × claim``, half-up to the fen (追偿)."""
    return int((Decimal(claim_fen) * (_ONE - lgd)).quantize(_ONE, rounding=ROUND_HALF_UP))


# --- all together --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pricing:
    """A priced loan. ``premium`` and ``comprehensive_cost`` are None when not priced (outside the
    product's limits)."""

    score_used: int | None
    schedule: tuple[ScheduleLine, ...]
    sum_insured: int  # fen
    expected_losses: tuple[Decimal, ...]
    premium: int | None  # fen
    comprehensive_cost: Decimal | None

    @property
    def expected_loss(self) -> Decimal:
        return sum(self.expected_losses, Decimal(0))


@_precise
def price_loan(
    product: Product,
    principal_fen: int,
    annual_rate: Decimal,
    term_months: int,
    first_due_date: dt.date,
    score: int | None,
    *,
    method: RepaymentMethod = "equal_installment",
    params: PricingParameters = PRICING,
) -> Pricing:
    """The schedule, sum insured and (with a score) EL_t, premium and comprehensive cost of a loan
    repaid by ``method`` (which the caller has checked the product offers)."""
    principal = fen_to_yuan(principal_fen)
    schedule = tuple(borrower_schedule(principal, annual_rate, term_months, first_due_date, method))
    sum_insured = sum(line.amount for line in schedule)
    if score is None:
        return Pricing(None, schedule, sum_insured, (), None, None)
    losses = tuple(
        expected_losses(
            principal,
            annual_rate,
            term_months,
            monthly_hazard(score),
            product.lgd,
            product.deductible,
            method,
        )
    )
    premium = gross_premium(sum(losses, Decimal(0)), params)
    cost = comprehensive_cost(principal, annual_rate, term_months, fen_to_yuan(premium), method)
    return Pricing(score, schedule, sum_insured, losses, premium, cost)
