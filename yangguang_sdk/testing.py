"""Test data for your own tests: valid resident ID numbers, credit codes, VINs, borrowers, the
parties a product requires (beneficiary, vehicle, guarantor, contract) and loans.

Every value passes the SDK's own checks (GB 11643 and GB 32100 check characters, the ISO 3779 /
GB 16735 VIN check digit, real birth dates)
and is drawn at random, not taken from real people or companies. Each maker takes ``rng``, a
``random.Random`` to draw from or an int seed (default 0), so the same seed always gives the same
data:

    >>> import random
    >>> from yangguang_sdk import testing
    >>> rng = random.Random(42)
    >>> borrower = testing.borrower("consumer_installment", rng)    # a dict for quotes.create
    >>> extra = testing.parties("sme_loan", rng)                      # {"beneficiary": {...}}
    >>> requests = list(testing.quote_requests(100, seed=42))        # 100 quotes.create kwargs

This module is part of the light SDK: it imports neither the sandbox nor the command line.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any, TypeAlias

from .types.identity import (
    resident_id_check_character,
    social_credit_code_check_character,
    vin_check_character,
)
from .types.money import Money
from .types.products import PRODUCTS

__all__ = [
    "Seed",
    "resident_id_number",
    "social_credit_code",
    "phone_number",
    "vin",
    "borrower",
    "beneficiary",
    "parties",
    "BANK",
    "quote_requests",
]

Seed: TypeAlias = "random.Random | int"
"""A ``random.Random`` to draw from (successive calls give different values), or an int seed."""

_REGIONS = ("110105", "310104", "440305", "330106", "510107", "420106", "320102", "500103", "210202")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
)
_COMPANY = ("晨光", "恒信", "华联", "瑞丰", "新城", "安达", "宏远", "金桥", "长青", "东方")
_TRADE = ("科技", "贸易", "物流", "餐饮", "制造", "电子商务")


def _random(rng: Seed) -> random.Random:
    return rng if isinstance(rng, random.Random) else random.Random(rng)


def resident_id_number(rng: Seed = 0) -> str:
    """A valid 18-character resident ID number (GB 11643): a real region, a birth date from 1960
    to 2003 and the right check character."""
    rng = _random(rng)
    born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(16_000))
    body = f"{rng.choice(_REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + resident_id_check_character(body)


def social_credit_code(rng: Seed = 0) -> str:
    """A valid 18-character unified social credit code (GB 32100) of a company (``91...``)."""
    rng = _random(rng)
    body = "91" + rng.choice(_REGIONS) + "".join(rng.choice(_USCC_ALPHABET) for _ in range(9))
    return body + social_credit_code_check_character(body)


def phone_number(rng: Seed = 0) -> str:
    """An 11-digit mainland mobile number."""
    rng = _random(rng)
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


_VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q
_WMIS = ("LSV", "LFV", "LVS", "LGB", "LBV", "LHG", "LNB")  # makers' codes of cars built in China


def vin(rng: Seed = 0) -> str:
    """A valid 17-character vehicle identification number (ISO 3779 / GB 16735): a Chinese maker's
    code, random characters, the right check digit in position 9 and a digit serial at the end."""
    rng = _random(rng)
    body = (
        rng.choice(_WMIS)
        + "".join(rng.choice(_VIN_ALPHABET) for _ in range(5))
        + "0"
        + "".join(rng.choice(_VIN_ALPHABET) for _ in range(2))
        + f"{rng.randrange(10**6):06d}"
    )
    return body[:8] + vin_check_character(body) + body[9:]


BANK: dict[str, str] = {
    "type": "bank",
    "name": "示例银行股份有限公司北京分行",
    "uscc": "91110000MA01BANK02",
}
"""A licensed lender to name as the beneficiary (an invented bank with a valid USCC)."""

_LENDER_KINDS = (
    ("bank", "银行"),
    ("consumer_finance_company", "消费金融"),
    ("microloan_company", "小额贷款"),
)


def beneficiary(product: str = "sme_loan", rng: Seed = 0) -> dict[str, str] | None:
    """A ``beneficiary`` ``product`` accepts: a licensed lender (a bank, consumer finance or
    microloan company) for the products of licensed lenders, the creditor (an ``enterprise``) for
    contract_performance, and None (the merchant, by default) for consumer_installment and
    auto_installment."""
    rule = _product(product).beneficiary
    rng = _random(rng)
    if rule == "merchant_default":
        return None
    if rule == "creditor":
        name = f"{rng.choice(_COMPANY)}{rng.choice(_TRADE)}有限公司"
        return {"type": "enterprise", "name": name, "uscc": social_credit_code(rng)}
    kind, word = rng.choice(_LENDER_KINDS)
    return {
        "type": kind,
        "name": f"{rng.choice(_COMPANY)}{word}股份有限公司",
        "uscc": social_credit_code(rng),
    }


def parties(product: str = "sme_loan", rng: Seed = 0) -> dict[str, Any]:
    """The keyword arguments besides borrower and loan that ``product`` needs in
    ``client.quotes.create``: its ``beneficiary`` (see ``beneficiary``) and its ``vehicle``,
    ``guarantor`` or ``contract``; ``{}`` for consumer_installment."""
    made: dict[str, Any] = {}
    rng = _random(rng)
    chosen = beneficiary(product, rng)
    if chosen is not None:
        made["beneficiary"] = chosen
    for name in _product(product).requires:
        if name == "vehicle":
            made["vehicle"] = {"vin": vin(rng)}
        elif name == "guarantor":
            made["guarantor"] = {
                "name": f"{rng.choice(_COMPANY)}融资担保有限公司",
                "uscc": social_credit_code(rng),
            }
        else:
            made["contract"] = {"number": f"HT-{rng.randrange(10**8):08d}"}
    return made


def _product(product: str) -> Any:
    if product not in PRODUCTS:
        from .errors import ParameterError

        raise ParameterError(f"unknown product; one of {', '.join(PRODUCTS)}", param="product")
    return PRODUCTS[product]


def borrower(
    product: str = "consumer_installment", rng: Seed = 0, *, credit_score: int | None = 720
) -> dict[str, Any]:
    """A ``borrower`` for ``client.quotes.create`` of the kind ``product`` insures (its
    first ``borrower_types`` in the product table): a person with a name, phone and resident ID number,
    or a company with a name and credit code.

    ``credit_score`` is 720 by default, which the sandbox approves; None leaves it out, which makes
    the quote referred; any other value is passed through as it is (a score outside 300-850 lets a
    test see the SDK refuse it). An unknown ``product`` is a ``ParameterError``.
    """
    rng = _random(rng)
    made: dict[str, Any]
    if _product(product).borrower_types[0] == "enterprise":
        name = f"{rng.choice(_COMPANY)}{rng.choice(_TRADE)}有限公司"
        made = {"type": "enterprise", "name": name, "uscc": social_credit_code(rng)}
    else:
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        made = {"type": "individual", "name": name}
        made["phone"] = phone_number(rng)
        made["id_number"] = resident_id_number(rng)
    if credit_score is not None:
        made["credit_score"] = credit_score
    return made


def quote_requests(count: int, *, seed: Seed = 0, today: dt.date | None = None) -> Iterator[dict[str, Any]]:
    """``count`` keyword-argument dicts for ``client.quotes.create(**request)``, one loan each
    (``merchant_order_id`` ``GEN-00000001``, ...): a mix of consumer_installment, platform_loan
    and sme_loan, each with the ``parties`` it needs (a licensed lender as beneficiary), credit scores
    (about 8% left out), rates and amounts that quotes to approvals, declines and referrals, with
    first due dates 20 to 60 days after ``today`` (default: today in UTC).

    Generated one at a time, so a million cost no memory.
    """
    rng = _random(seed)
    today = today or dt.datetime.now(dt.timezone.utc).date()
    for n in range(1, count + 1):
        first_due = (today + dt.timedelta(days=rng.randint(20, 60))).isoformat()
        roll = rng.random()
        score = None if roll < 0.08 else rng.randint(480, 559) if roll < 0.2 else rng.randint(560, 850)
        rate = rng.choice(("0", "0.06", "0.08", "0.12", "0.15", "0.18", "0.30"))
        if rng.random() < 0.15:
            product = "sme_loan"
            principal = f"{rng.randint(10_000, 800_000)}.00"
            term = rng.choice((6, 12, 24, 36))
        else:
            product = rng.choice(("consumer_installment", "platform_loan"))
            principal = f"{rng.randint(500, 60_000)}.{rng.randrange(100):02d}"
            term = rng.choice((3, 6, 12, 24, 36))
        yield {
            "product": product,
            "merchant_order_id": f"GEN-{n:08d}",
            "borrower": borrower(product, rng, credit_score=score),
            **parties(product, n),  # seeded by the row, so the rows' other values stay as they were
            "loan": {
                "principal": Money.cny(principal),
                "term_months": term,
                "annual_rate": rate,
                "first_due_date": first_due,
            },
        }
