"""The sandbox's disclosure (承保可回溯, DESIGN §7.3): the policy wordings it serves, and the key
facts a quote discloses. Pure functions over fen and Decimals; the engine stores what they return."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["CURRENT_WORDING", "WORDINGS", "WORDING_SHA256", "DisclosureRecord", "disclose", "wording_sha256"]

CURRENT_WORDING = "2026-11-29"
"""The wording version new quotes are offered under."""

WORDINGS: dict[str, str] = {
    "2026-11-29": (
        "阳光信用保证保险条款（沙盒版，2026-11-29）\n"
        "第一条 保险标的：本保险承保借款人依借款合同按期偿还借款本息的义务。\n"
        "第二条 保险责任：借款人自某期应还款日起逾期满等待期仍未清偿的，视为保险事故发生，"
        "保险人按保险单约定向被保险人（受益人）赔偿尚未清偿的本金及已到期利息，扣除免赔额，"
        "以保险金额为限（代偿）。\n"
        "第三条 犹豫期：个人投保人自保险合同成立之日起享有保险单载明天数的犹豫期，"
        "犹豫期内退保的，保险人全额退还保险费。\n"
        "第四条 退保与提前结清：犹豫期后退保或借款提前结清的，保险人按风险暴露加权的未到期"
        "责任比例退还保险费，计算至分并向下取整。\n"
        "第五条 批改：借款本金部分减少（如部分退货）的，剩余期次按减少后的本金重新计算，"
        "并按相同规则退还相应部分的未到期保险费。\n"
        "第六条 追偿：保险人赔偿后，在赔偿金额范围内取得向借款人追偿的权利。\n"
        "第七条 信息披露：保险人在投保前向投保人披露保险费、综合年化成本、犹豫期及被保险人，"
        "并记录投保人确认披露的时间，以便承保可回溯。\n"
    ),
}
"""Every wording version the sandbox serves, by version. A version's text never changes: a new
text is a new version (the SHA-256 on old quotes must still match)."""

_RATE_PLACES = Decimal("0.0001")
_BENEFICIARY_KINDS = {
    "bank": "银行",
    "consumer_finance_company": "消费金融公司",
    "microloan_company": "小额贷款公司",
    "trust_company": "信托公司",
    "enterprise": "债权人",
}


def wording_sha256(text: str) -> str:
    """The hex SHA-256 of a wording's text encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


WORDING_SHA256 = {version: wording_sha256(text) for version, text in WORDINGS.items()}
"""Each wording's SHA-256, computed once: a wording's text never changes."""


@dataclass(frozen=True, slots=True)
class DisclosureRecord:
    """What a quote discloses (the wire shape of ``types.Disclosure``, money in fen)."""

    annual_cost_rate: Decimal
    total_interest: int
    total_cost: int
    key_facts: str
    wording_version: str
    wording_sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "annual_cost_rate": str(self.annual_cost_rate),
            "total_interest": {"amount": self.total_interest, "currency": "CNY"},
            "total_cost": {"amount": self.total_cost, "currency": "CNY"},
            "key_facts": self.key_facts,
            "wording_version": self.wording_version,
            "wording_sha256": self.wording_sha256,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DisclosureRecord:
        return cls(
            Decimal(data["annual_cost_rate"]),
            int(data["total_interest"]["amount"]),
            int(data["total_cost"]["amount"]),
            data["key_facts"],
            data["wording_version"],
            data["wording_sha256"],
        )


def _yuan(fen: int) -> str:
    return f"人民币{fen // 100:,}.{fen % 100:02d}元"


def _beneficiary(beneficiary: dict[str, Any] | None) -> str:
    if beneficiary is None or beneficiary.get("type") == "merchant":
        return "销售商户（贷款发放方）"
    kind = _BENEFICIARY_KINDS.get(str(beneficiary.get("type")), "")
    return f"{beneficiary.get('name')}（{kind}）" if kind else str(beneficiary.get("name"))


def disclose(
    *,
    premium: int,
    comprehensive_cost: Decimal,
    total_interest: int,
    cooling_off_days: int,
    beneficiary: dict[str, Any] | None,
    version: str = CURRENT_WORDING,
) -> DisclosureRecord:
    """The disclosure of an offered quote: ``comprehensive_cost`` as returned (6 places) rounded
    half-up to 4 places, the totals, and the key facts in Chinese."""
    rate = comprehensive_cost.quantize(_RATE_PLACES, ROUND_HALF_UP)
    cooling = (
        f"{cooling_off_days}天：自投保之日起{cooling_off_days}天内退保，全额退还保险费"
        if cooling_off_days
        else "无（本产品不设犹豫期）"
    )
    facts = (
        f"保险费：{_yuan(premium)}。"
        f"综合年化成本：{rate * 100:.2f}%（含利息及保险费）。"
        f"利息合计：{_yuan(total_interest)}；利息与保险费合计：{_yuan(total_interest + premium)}。"
        f"犹豫期：{cooling}。"
        f"被保险人（受益人）：{_beneficiary(beneficiary)}。"
        f"保险条款版本：{version}。"
    )
    return DisclosureRecord(
        annual_cost_rate=rate,
        total_interest=total_interest,
        total_cost=total_interest + premium,
        key_facts=facts,
        wording_version=version,
        wording_sha256=WORDING_SHA256[version],
    )
