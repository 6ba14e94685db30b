"""The products on sale: plain data, each one carrying a failure story from the field study.

Prices are in fen (1/100 yuan) so totals never drift; ``yuan()`` formats them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORY_LABELS = {
    "general": "日用百货",
    "food": "食品",
    "cosmetics": "美妆",
    "electronics": "数码电器",
    "furniture": "家具",
    "alcohol": "酒类",
    "virtual": "虚拟商品",
}


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: int  # fen
    category: str  # a key of CATEGORY_LABELS
    stock: int  # real stock at reset
    tags: tuple[str, ...] = ()
    shown_stock: int | None = None  # what the lagging stock feed shows (cross-border), None = real
    restock: str = ""  # shown when sold out
    restock_qty: int = 0  # put back on the shelf at RESTOCK_HOUR (shop time) after selling out
    list_price: int | None = None  # crossed-out price (subsidy)
    color: str = "#ff5a5f"  # product "photo" colour (inline SVG)
    blurb: str = ""
    seller: str = "抖抖自营"
    # Alcohol: provinces (short names, "*" = all) the seller holds a liquor licence for.
    licensed_in: tuple[str, ...] = ("*",)

    @property
    def virtual(self) -> bool:
        return self.category == "virtual"

    @property
    def teen_allowed(self) -> bool:
        """Virtual goods teen mode still sells: learning content only."""
        return "learning" in self.tags

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category]

    @property
    def ambient(self) -> bool:
        """Shipped at ambient temperature (every physical product here; Nagqu refuses these)."""
        return not self.virtual and "cold_chain" not in self.tags

    @property
    def glyph(self) -> str:
        return self.category_label[0]


# Virtual goods (field study §2: teen accounts are refused 95% of virtual goods). Twenty items,
# one of them learning content that teen mode still sells: 19 / 20 = 95% refused.
# fmt: off
_VIRTUAL_ITEMS = (
    ("抖币 60 个", 600), ("抖币 300 个", 3000), ("抖币 980 个", 9800), ("直播打赏 · 小心心 ×99", 990),
    ("直播打赏 · 嘉年华", 300000), ("直播间粉丝团 月卡", 1000), ("视频会员 月卡", 2500),
    ("视频会员 季卡", 6800), ("视频会员 年卡", 24800), ("音乐会员 月卡", 1500), ("小说书币 1000", 1000),
    ("游戏点券 60", 600), ("游戏点券 648", 64800), ("游戏皮肤 · 限定", 8800), ("头像框 · 30 天", 600),
    ("聊天表情包 · 套装", 300), ("短剧全集解锁", 1990), ("网盘会员 月卡", 3000), ("直播 PK 道具卡", 200),
)
VIRTUAL = tuple(
    Product(f"VG-{i:03d}", name, price, "virtual", 99999, color="#5856d6", blurb="虚拟商品，充值到当前账号，无需发货")
    for i, (name, price) in enumerate(_VIRTUAL_ITEMS, start=1)
) + (Product("VG-020", "初中数学同步课 · 学习卡", 9900, "virtual", 99999, ("learning",), color="#34aadc",
             blurb="学习类虚拟商品：青少年模式可购买"),)
# fmt: on

# A data table reads better aligned.
# fmt: off
PRODUCTS: dict[str, Product] = {
    p.sku: p
    for p in (
        Product("FS-001", "直播秒杀 · 真空保温杯 500ml", 2990, "general", 3, ("flash_sale", "live"),
                list_price=12900, color="#ff2d55", blurb="直播间限量 3 件，手慢无"),
        Product("CB-101", "跨境直邮 · 韩国玻尿酸精华 30ml", 15900, "cosmetics", 0, ("cross_border",),
                shown_stock=50, restock="补货需 3-5 个工作日", color="#af52de",
                blurb="保税仓发货，库存每 12-24 小时同步一次"),
        Product("AG-201", "赣南脐橙 5kg 产地直发", 4990, "food", 0, ("agricultural",),
                restock="次日10:00补货", restock_qty=50, color="#ff9500", blurb="果园现摘，每日限量 50 箱"),
        Product("EL-301", "主动降噪蓝牙耳机 Pro", 129900, "electronics", 100, color="#007aff",
                blurb="40dB 深度降噪，续航 30 小时"),
        Product("EL-302", "快充数据线 1m", 1990, "electronics", 999, color="#5ac8fa", blurb="支持 66W 快充"),
        Product("FN-401", "三人位布艺沙发（大件）", 259900, "furniture", 20, ("large",), color="#a2845e",
                blurb="大件商品，部分城市仅支持自提点提货"),
        Product("FD-501", "每日坚果 30 袋装", 8900, "food", 999, color="#34c759", blurb="6 种坚果果干混合"),
        Product("CS-601", "国货保湿面霜 50g", 6900, "cosmetics", 999, color="#ff6482", blurb="敏感肌可用"),
        Product("GN-701", "纯棉毛巾 3 条装", 3990, "general", 9999, color="#30b0c7", blurb="A 类纯棉，柔软吸水"),
        Product("GN-702", "桌面手机支架", 1590, "general", 9999, ("live",), color="#8e8e93", blurb="铝合金，可折叠"),
        Product("SB-801", "百亿补贴 · 声波电动牙刷", 9900, "general", 9999, ("subsidy",), list_price=19900,
                color="#ff3b30", blurb="官方补贴价，限购 1 件"),
        Product("AL-901", "酱香型白酒 53度 500ml", 49900, "alcohol", 200, color="#8b1a1a",
                seller="黔酒小铺", licensed_in=("贵州",), blurb="产地直发；商家仅持贵州省酒类经营许可"),
        Product("AL-902", "精酿啤酒 330ml×12 罐", 8900, "alcohol", 999, color="#d4a017",
                seller="精酿官方旗舰店", blurb="全国酒类经营许可，全国可售"),
        *VIRTUAL,
    )
}
# fmt: on

FEED = ("GN-701", "FD-501", "CS-601", "EL-302", "CB-101", "AG-201", "FN-401", "EL-301")  # video feed order
LIVE = ("FS-001", "GN-702", "CB-101")  # live room: the first one is "being presented"
SUBSIDY = ("SB-801", "GN-701", "FD-501")
SHELF = ("AL-901", "AL-902", "AG-201", "FD-501")  # 好物: alcohol, farm produce, food (home page shelf)


@dataclass(frozen=True)
class Line:
    product: Product
    qty: int = 1

    @property
    def amount(self) -> int:
        return self.product.price * self.qty


def yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


def subtotal(lines: list[Line]) -> int:
    return sum(line.amount for line in lines)


@dataclass(frozen=True)
class StockView:
    """What a product page says about stock (may be a lagging lie, on purpose)."""

    label: str
    available: bool
    restock: str = ""
    tags: tuple[str, ...] = field(default=())


def stock_view(product: Product, real: int) -> StockView:
    shown = product.shown_stock if product.shown_stock is not None else real
    if shown <= 0:
        return StockView("已售罄", False, product.restock)
    if shown <= 10:
        return StockView(f"仅剩 {shown} 件", True)
    return StockView("有货", True)
