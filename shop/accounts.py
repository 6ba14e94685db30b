"""The test shoppers: each account is one account/risk-control story from the field study.

Every password is ``demo-pass``. Payment methods are copied into the shop state at reset
(binding a card on the payment page changes the copy, never this table).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PASSWORD = "demo-pass"
SMS_CODE = "246810"  # the shop's test SMS code (documented; there is no real SMS)

# The three payment channels on the payment origin. The card channel is the backup.
CHANNELS = {
    "alipay": "A 钱包 (Alipay-like)",
    "wechat": "W 钱包 (WeChat Pay-like)",
    "unionpay": "云闪付银行卡 (UnionPay-like)",
}
WALLETS = ("alipay", "wechat")


@dataclass(frozen=True)
class Account:
    username: str
    display: str
    age: int
    phone: str
    address: dict[str, str]
    methods: tuple[str, ...] = ()  # bound channels
    card_expired: bool = False
    verified: bool = True  # real-name verified (teen: no)
    last_login_province: str | None = None  # another province within 3 days → SMS + device check
    returns_this_month: int = 0
    balance: int | None = None  # fen in the wallets; None = enough for anything
    notes: str = ""

    @property
    def teen_blocked(self) -> bool:
        return self.age < 16 and not self.verified

    @property
    def needs_review(self) -> bool:
        return self.returns_this_month > 5

    @property
    def cross_province(self) -> bool:
        return self.last_login_province is not None and self.last_login_province != self.address["province"]


def _address(
    recipient: str,
    phone: str,
    province: str = "上海市",
    city: str = "上海市",
    district: str = "浦东新区",
    street: str = "世纪大道 100 号 8 楼",
    postcode: str = "200120",
) -> dict:
    return {
        "recipient": recipient,
        "phone": phone,
        "province": province,
        "city": city,
        "district": district,
        "street": street,
        "postcode": postcode,
    }


# A data table reads better aligned.
# fmt: off
ACCOUNTS: dict[str, Account] = {
    a.username: a
    for a in (
        Account("normal", "小林", 32, "13800000001", _address("林小姐", "13800000001"),
                methods=("alipay", "wechat", "unionpay"), notes="卡和钱包都已绑定，上海地址"),
        Account("newbie", "新用户", 24, "13800000002", _address("王先生", "13800000002"),
                notes="未绑定任何支付方式"),
        Account("expired", "老张", 41, "13800000003", _address("张先生", "13800000003"),
                methods=("unionpay",), card_expired=True, notes="唯一的银行卡已过期"),
        Account("teen", "小明", 15, "13800000004", _address("李同学", "13800000004"),
                methods=("alipay",), verified=False, notes="15 岁，未实名认证：青少年模式"),
        Account("traveller", "出差的陈", 35, "13800000005", _address("陈先生", "13800000005"),
                methods=("alipay", "unionpay"), last_login_province="广东省",
                notes="3 天内在广东登录过：需短信验证码 + 设备验证"),
        Account("returner", "退货达人", 29, "13800000006", _address("赵女士", "13800000006"),
                methods=("wechat", "unionpay"), returns_this_month=7, notes="本月退货 7 次：订单需人工审核"),
        Account("broke", "月底的周", 27, "13800000007", _address("周先生", "13800000007"),
                methods=("alipay", "wechat"), balance=500, notes="两个钱包只剩 ¥5.00：余额不足"),
    )
}
# fmt: on


@dataclass
class Wallet:
    """Mutable per-reset payment state of one account."""

    methods: set[str] = field(default_factory=set)
    card_expired: bool = False
    balance: int | None = None  # fen left in the wallets (A 钱包 / W 钱包); None = enough


def masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"
