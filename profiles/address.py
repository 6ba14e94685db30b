"""A shipping address as a checkout form asks for it, for Chinese and western forms alike.

A form may want one name field or two, a country select or none; the address carries all of
them so a probe never has to guess (split a name by character, infer a country from a locale).
``family_name`` / ``given_name`` default from ``recipient`` by the rule in ``split_name``;
a region states them outright where that rule is wrong (Tibetan names have no family name).
Users may add fields of their own (``building_code: "1203#"``): snake_case keys, scalar values.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# ISO 3166-1 alpha-2, as in tzdata's iso3166.tab.
COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
    FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
    IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
    ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split()  # noqa: SIM905 (a table reads better than 249 quoted strings)
)

# Two-character (复姓) surnames, simplified and traditional; any other Han name's family name is its first character.
COMPOUND_SURNAMES = frozenset(
    """欧阳 歐陽 司马 司馬 上官 诸葛 諸葛 东方 東方 皇甫 尉迟 尉遲 公孙 公孫 慕容 长孙
    長孫 宇文 司徒 司空 夏侯 轩辕 軒轅 令狐 端木 独孤 獨孤 南宫 南宮 西门 西門 百里
    呼延 澹台 澹臺 太史 申屠 闻人 聞人 赫连 赫連 钟离 鍾離 万俟 萬俟 濮阳 濮陽 单于
    單于 公冶 宗政 拓跋 东郭 東郭 第五 左丘 谷梁 穀梁 乐正 樂正 漆雕 壤驷 公良 亓官
    司寇 巫马 巫馬 鲜于 鮮于 闾丘 閭丘""".split()  # noqa: SIM905
)
_HAN = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_EXTRA_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def split_name(full: str) -> tuple[str, str]:
    """(family, given) from a full name, the way a two-field form wants it.

    - Han names, family name first: 张伟 → (张, 伟); compound surnames: 欧阳娜娜 → (欧阳, 娜娜).
    - Names with a middle dot (Uyghur and other transliterated names, 艾力·买买提): the part
      before the dot is the given name, the last part goes in the family field → (买买提, 艾力).
    - Space-separated (western order): the last word is the family name: Jane Q. Doe → (Doe, Jane Q.).
    - A single word or a single Han character: all of it is the given name, family empty.
    """
    name = " ".join(full.split())
    if "·" in name or "•" in name:
        parts = [p.strip() for p in re.split(r"[·•]", name) if p.strip()]
        return (parts[-1], " ".join(parts[:-1])) if len(parts) > 1 else ("", name)
    if _HAN.match(name) and len(name) > 1:
        cut = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
        return name[:cut], name[cut:]
    if " " in name:
        given, _, family = name.rpartition(" ")
        return family, given
    return "", name


class Address(BaseModel):
    """Where the order ships. Extra keys are the user's own fields (see the module docstring)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    country: str = Field(description="ISO 3166-1 alpha-2, e.g. CN, HK, MO, TW, US")
    recipient: str = Field(min_length=1)  # full name as written on a parcel
    family_name: str = ""  # default: from `recipient` (split_name)
    given_name: str = ""
    phone: str = Field(pattern=r"^\+?[0-9][0-9 -]{5,19}$")
    province: str = Field(min_length=1)  # province / state / special administrative region
    city: str = Field(min_length=1)
    district: str = Field(min_length=1)  # district / county
    street: str = Field(min_length=1)
    postcode: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")  # 100022, 110, SW1A 1AA, 94103-1234

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        stated = isinstance(data, dict) and (data.get("family_name") or data.get("given_name"))
        if isinstance(data, dict) and isinstance(data.get("recipient"), str) and not stated:
            family, given = split_name(data["recipient"])
            data = {**data, "family_name": family, "given_name": given}
        return data

    @field_validator("country")
    @classmethod
    def _country(cls, code: str) -> str:
        if code not in COUNTRIES:
            raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code (e.g. CN, HK, US)")
        return code

    @model_validator(mode="after")
    def _own_fields(self) -> Address:
        for key, value in (self.model_extra or {}).items():
            if not _EXTRA_KEY.match(key):
                raise ValueError(f"{key}: a field of your own needs a snake_case name ([a-z][a-z0-9_]*)")
            if value is not None and not isinstance(value, str | int | float | bool):
                raise ValueError(f"{key}: a field of your own holds text, a number or true/false, not {value!r}")
        return self

    @property
    def extra(self) -> dict[str, Any]:
        """The user's own fields."""
        return dict(self.model_extra or {})

    @property
    def one_line(self) -> str:
        parts = dict.fromkeys((self.province, self.city, self.district))  # 北京市 北京市 → once
        return "".join(parts) + self.street
