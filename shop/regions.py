"""Shipping addresses and the regional delivery rules from the field study.

Rules (applied on submit, also shown by the shipping quote):

* 西藏 那曲 (Nagqu): no ambient-temperature delivery at all → refused ``REGION_NO_AMBIENT``.
* 新疆 / 西藏 + cosmetics → refused ``REGION_RESTRICTED``; + food → special line, +20 % of the
  food subtotal (``专线物流费``), order proceeds.
* alcohol from a seller without a liquor licence for the province → refused ``LICENSE_REQUIRED``.
* 香港 / 澳门 / 台湾 + electronics over ¥1,000 per order → refused ``CUSTOMS_LIMIT``.
* tier-3/4 cities in ``SMALL_CITIES`` + large furniture → pickup point only (an extra step).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from orderprobe.shop.catalogue import Line, Product

# A data table reads better aligned.
# fmt: off
PROVINCES = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省",
    "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区",
    "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)
# fmt: on
_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")

# Tier-3/4 cities (city field, suffix optional) where large furniture goes to a pickup point.
SMALL_CITIES = {"周口": "河南省", "定西": "甘肃省", "昭通": "云南省", "达州": "四川省", "赣州": "江西省"}
PICKUP_POINTS = (
    ("P1", "县城中心菜鸟驿站（自提点 A）"),
    ("P2", "乡镇供销社服务站（自提点 B）"),
)
CUSTOMS_LIMIT = 100000  # fen: electronics per order to HK / Macau / Taiwan
SPECIAL_LINE_RATE = 0.20

# A data table reads better aligned.
# fmt: off
FIELD_LABELS = {
    "recipient": "收货人", "phone": "手机号", "province": "省份", "city": "城市",
    "district": "区/县", "street": "详细地址", "postcode": "邮编",
}
# fmt: on


def short(name: str) -> str:
    """'新疆维吾尔自治区' → '新疆', '周口市' → '周口'."""
    name = name.strip()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


_PROVINCE_SHORT = {short(p): p for p in PROVINCES}


class Address(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore", frozen=True)

    recipient: str
    phone: str
    province: str
    city: str
    district: str
    street: str
    postcode: str = ""

    @field_validator("recipient")
    @classmethod
    def _recipient(cls, v: str) -> str:
        if not 1 <= len(v) <= 20:
            raise ValueError("请填写收货人（1-20 字） / recipient: 1-20 characters")
        return v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        digits = re.sub(r"[\s\-]", "", v)
        digits = re.sub(r"^\+?(86|852|853|886)", "", digits)
        if not re.fullmatch(r"1[3-9]\d{9}|\d{8}|0?9\d{8}", digits):
            raise ValueError("手机号格式不正确 / phone: 11-digit mainland mobile, or HK/Macau/Taiwan number")
        return digits

    @field_validator("province")
    @classmethod
    def _province(cls, v: str) -> str:
        full = _PROVINCE_SHORT.get(short(v))
        if full is None:
            raise ValueError("请填写正确的省份 / province: unknown province")
        return full

    @field_validator("city", "district")
    @classmethod
    def _place(cls, v: str) -> str:
        if not 1 <= len(v) <= 20:
            raise ValueError("必填，1-20 字 / required, 1-20 characters")
        return v

    @field_validator("street")
    @classmethod
    def _street(cls, v: str) -> str:
        if not 4 <= len(v) <= 60:
            raise ValueError("详细地址需 4-60 字 / street: 4-60 characters")
        return v

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, code: str, info: ValidationInfo) -> str:
        region = short(info.data.get("province", ""))
        if region in ("香港", "澳门"):
            ok = code == "" or code.isdigit()  # no postcodes there
        elif region == "台湾":
            ok = code.isdigit() and 3 <= len(code) <= 6
        else:
            ok = code.isdigit() and len(code) == 6
        if not ok:
            raise ValueError("邮编格式不正确 / postcode: 6 digits (台湾 3-6, 港澳可空)")
        return code

    @property
    def region(self) -> str:
        return short(self.province)

    def one_line(self) -> str:
        return f"{self.recipient} {self.phone} {self.province}{self.city}{self.district}{self.street}"


def parse_address(form: dict[str, str]) -> tuple[Address | None, dict[str, str]]:
    """Validate a submitted address; return it, or field → Chinese/English error message."""
    try:
        return Address.model_validate({k: form.get(k, "") for k in FIELD_LABELS}), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else ""
            message = str(err.get("ctx", {}).get("error", err["msg"]))
            if err["type"] == "missing":
                message = "必填 / required"
            errors.setdefault(name, message)
        return None, errors


@dataclass
class Verdict:
    """What the region rules say about shipping these lines to this address."""

    refused: tuple[str, str] | None = None  # (code, Chinese message)
    surcharge: int = 0  # fen
    pickup_only: bool = False
    notes: list[str] = field(default_factory=list)


def _licensed(product: Product, region: str) -> bool:
    """Alcohol sells only where its seller holds a liquor licence (regional agency policy)."""
    return product.category != "alcohol" or "*" in product.licensed_in or region in product.licensed_in


def judge(address: Address | None, lines: list[Line]) -> Verdict:
    verdict = Verdict()
    if address is None:
        return verdict
    region, city = address.region, short(address.city)
    cats = {line.product.category for line in lines}
    if region == "西藏" and "那曲" in address.city and any(line.product.ambient for line in lines):
        verdict.refused = ("REGION_NO_AMBIENT", "那曲地区暂停常温商品配送")
    elif region in ("新疆", "西藏") and "cosmetics" in cats:
        verdict.refused = ("REGION_RESTRICTED", "该地区暂不支持配送此类商品（美妆）")
    elif unlicensed := [ln.product for ln in lines if not _licensed(ln.product, region)]:
        who = unlicensed[0].seller
        verdict.refused = (
            "LICENSE_REQUIRED",
            f"酒类须由持有当地酒类经营许可的商家销售：{who}未取得{region}的酒类经营资质",
        )
    elif region in ("香港", "澳门", "台湾") and "electronics" in cats:
        amount = sum(line.amount for line in lines if line.product.category == "electronics")
        if amount > CUSTOMS_LIMIT:
            verdict.refused = ("CUSTOMS_LIMIT", "需海关申报，超出限额（数码电器每单 ¥1,000）")
        else:
            verdict.notes.append("港澳台地区数码电器需海关申报")
    if verdict.refused:
        verdict.notes.append(verdict.refused[1])
        return verdict
    if region in ("新疆", "西藏") and "food" in cats:
        food = sum(line.amount for line in lines if line.product.category == "food")
        verdict.surcharge = round(food * SPECIAL_LINE_RATE)
        verdict.notes.append("新疆/西藏食品需专线物流，加收 20% 专线物流费")
    if city in SMALL_CITIES and any("large" in line.product.tags for line in lines):
        verdict.pickup_only = True
        verdict.notes.append("大件家具在本地区仅支持自提点提货")
    return verdict
