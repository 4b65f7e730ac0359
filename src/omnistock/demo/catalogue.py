"""The demo's range: departments of styles whose variants (colour, size…) are the items."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Option:
    """One value of a variant axis: a colour, a size, a capacity…"""

    code: str
    label: str
    price: float = 1.0  # multiplies the style's price (a king-size duvet costs more)
    depth: float = 1.0  # multiplies the stock held (the size curve: more M than XXL)


@dataclass(frozen=True, slots=True)
class Axis:
    options: tuple[Option, ...]
    choose: tuple[int, int] | None = None  # each style offers only some of them (colours)


@dataclass(frozen=True, slots=True)
class Style:
    """A product whose variants (colour and size…) are the items."""

    sku: str
    name: str
    price: tuple[float, float]
    axes: tuple[Axis, ...]


def _options(spec: str) -> tuple[Option, ...]:
    """`"NAV navy, WHT white"` → options with those codes and labels."""
    pairs = (entry.strip().split(" ", 1) for entry in spec.split(","))
    return tuple(Option(code, label) for code, label in pairs)


def _colours(spec: str, choose: tuple[int, int] = (3, 7)) -> Axis:
    return Axis(_options(spec), choose)


APPAREL_COLOURS = _colours(
    "NAV navy, WHT white, BLK black, GRY heather grey, OLV olive, BUR burgundy, ECR ecru, "
    "SKY sky blue, TER terracotta, FOR forest green, SND sand, RST rust, CML camel, "
    "CHR charcoal, MUS mustard"
)
DENIM_WASHES = _colours(
    "RAW raw indigo, MID mid blue, LGT light blue, BLK washed black, ECR ecru", (2, 4)
)
SHOE_COLOURS = _colours("WHT white, BLK black, TAN tan, NAV navy, GRY grey, BRN dark brown", (2, 4))
HOME_COLOURS = _colours(
    "WHT white, LIN natural linen, SGE sage, TER terracotta, CHR charcoal, BLU indigo, "
    "PNK dusty pink, OCH ochre"
)
TECH_COLOURS = _colours("BLK black, WHT white, BLU midnight blue, SGE sage, SND sand", (2, 4))
SCENTS = _colours(
    "FIG fig leaf, VET vetiver, ORB orange blossom, CED cedarwood, LAV lavender, AMB amber, "
    "TEA green tea",
    (3, 5),
)
SIZES = Axis(
    (
        Option("XS", "XS", depth=0.5),
        Option("S", "S", depth=0.8),
        Option("M", "M", depth=1.2),
        Option("L", "L", depth=1.2),
        Option("XL", "XL", depth=0.8),
        Option("XXL", "XXL", depth=0.5),
    )
)
SHOE_SIZES = Axis(
    tuple(Option(str(n), f"EU {n}", depth=1.3 - 0.1 * abs(n - 41)) for n in range(36, 47))
)
WAISTS = Axis(
    tuple(
        Option(str(w), f"W{w}", depth=1.3 - 0.08 * abs(w - 32))
        for w in (28, 29, 30, 31, 32, 33, 34, 36, 38)
    )
)
PHONES = Axis(
    _options(
        "IP15 iPhone 15, IP15P iPhone 15 Pro, IP16 iPhone 16, IP16P iPhone 16 Pro, "
        "GS24 Galaxy S24, GA55 Galaxy A55, PX8 Pixel 8, PX9 Pixel 9"
    ),
    (4, 8),
)


def _axis(*specs: tuple[str, str, float]) -> Axis:
    return Axis(tuple(Option(code, label, price) for code, label, price in specs))


@dataclass(frozen=True, slots=True)
class Family:
    """Styles `PREFIX-CODE` named after `names` ("CRW crew-neck T-shirt, …"), optionally
    crossed with materials ("ORG Organic cotton:1.0, …", a price factor after the colon),
    each offered in the variants of `axes`."""

    prefix: str
    names: str
    price: tuple[float, float]
    axes: tuple[Axis, ...]
    materials: str | None = None

    def styles(self) -> list[Style]:
        prefix, price, axes = self.prefix, self.price, self.axes
        cuts = _options(self.names)
        if self.materials is None:
            return [Style(f"{prefix}-{c.code}", c.label, price, axes) for c in cuts]
        styles = []
        for entry in self.materials.split(","):
            spec, factor = entry.strip().rsplit(":", 1)
            code, label = spec.split(" ", 1)
            low, high = price[0] * float(factor), price[1] * float(factor)
            for c in cuts:
                styles.append(
                    Style(f"{prefix}-{code}-{c.code}", f"{label} {c.label}", (low, high), axes)
                )
        return styles


def _family(
    prefix: str,
    names: str,
    price: tuple[float, float],
    *axes: Axis,
    materials: str | None = None,
) -> Family:
    return Family(prefix, names, price, axes, materials)


#: The demo's range, by department: the families of its styles.
RANGE: dict[str, tuple[Family, ...]] = {
    "T-shirts": (
        _family(
            "TSH",
            "CRW crew-neck T-shirt, VNK V-neck T-shirt, PKT pocket T-shirt, "
            "LSL long-sleeve T-shirt",
            (12, 29),
            APPAREL_COLOURS,
            SIZES,
            materials="ORG Organic cotton:1.0, PIM Pima cotton:1.3, LIN Linen:1.6, "
            "SLB Slub jersey:0.9, MER Merino:2.4",
        ),
    ),
    "Shirts": (
        _family(
            "SHR",
            "OXF Oxford shirt, LIN Linen shirt, FLN Flannel shirt, DNM Denim shirt, "
            "POP Poplin shirt, CRD Corduroy overshirt",
            (35, 69),
            APPAREL_COLOURS,
            SIZES,
        ),
    ),
    "Sweatshirts": (
        _family(
            "SWT",
            "HOD Organic cotton hoodie, CRW Crew-neck sweatshirt, ZIP Zip-through hoodie",
            (39, 79),
            APPAREL_COLOURS,
            SIZES,
        ),
    ),
    "Polos and shorts": (
        _family(
            "PLO",
            "PIQ Cotton piqué polo, KNT Knitted polo, RGB Rugby shirt",
            (29, 69),
            APPAREL_COLOURS,
            SIZES,
        ),
        _family(
            "SHS",
            "CHN Chino shorts, LIN Linen shorts, SWM Swim shorts",
            (25, 49),
            APPAREL_COLOURS,
            SIZES,
        ),
    ),
    "Skirts": (
        _family(
            "SKT",
            "PLM Pleated midi skirt, DNM Denim skirt, ALN A-line skirt, SLP Satin slip skirt",
            (35, 79),
            APPAREL_COLOURS,
            SIZES,
        ),
    ),
    "Knitwear": (
        _family(
            "KNT",
            "CSH Cashmere crew-neck jumper, MRN Merino cardigan, CBL Cable-knit jumper, "
            "LMB Lambswool V-neck jumper",
            (49, 149),
            APPAREL_COLOURS,
            SIZES,
        ),
    ),
    "Jeans": (
        _family(
            "JNS",
            "SLM Slim jeans, STR Straight jeans, RLX Relaxed jeans, TAP Tapered jeans, "
            "BOO Bootcut jeans",
            (59, 119),
            DENIM_WASHES,
            WAISTS,
        ),
    ),
    "Trousers": (
        _family(
            "TRS",
            "CHN Stretch chinos, WID Wide-leg trousers, CRG Cargo trousers, JOG Joggers, "
            "PLT Pleated wool trousers",
            (39, 99),
            APPAREL_COLOURS,
            SIZES,
        ),
    ),
    "Dresses": (
        _family(
            "DRS",
            "WRP Wrap dress, SHD Shirt dress, SLP Satin slip dress, KMD Knitted midi dress, "
            "TEA Floral tea dress",
            (49, 129),
            APPAREL_COLOURS,
            SIZES,
        ),
    ),
    "Jackets and coats": (
        _family(
            "JKT",
            "DNM Denim jacket, QLT Quilted jacket, RAI Waterproof rain jacket, WOL Wool overcoat, "
            "BMB Bomber jacket, FLC Recycled fleece jacket, TRN Trench coat",
            (69, 249),
            APPAREL_COLOURS,
            SIZES,
        ),
    ),
    "Shoes": (
        _family(
            "SHO",
            "LSN Leather sneakers, RUN Running shoes, CHL Chelsea boots, CNV Canvas trainers, "
            "LOF Suede loafers, HIK Hiking boots, SDL Leather sandals",
            (49, 169),
            SHOE_COLOURS,
            SHOE_SIZES,
        ),
    ),
    "Accessories": (
        _family(
            "ACC",
            "BNE Wool beanie, SCF Wool scarf, CAP Baseball cap, TOT Canvas tote bag",
            (15, 45),
            APPAREL_COLOURS,
        ),
        _family(
            "ACC",
            "BLT Leather belt",
            (29, 49),
            SHOE_COLOURS,
            _axis(("85", "85 cm", 1), ("90", "90 cm", 1), ("95", "95 cm", 1), ("100", "100 cm", 1)),
        ),
        _family(
            "ACC",
            "SCK Cotton socks (pack of 3)",
            (12, 16),
            APPAREL_COLOURS,
            _axis(("S", "EU 35-38", 1), ("M", "EU 39-42", 1), ("L", "EU 43-46", 1)),
        ),
    ),
    "Home textiles": (
        _family(
            "HOM",
            "DUV Washed linen duvet cover",
            (89, 99),
            HOME_COLOURS,
            _axis(("140", "140x200", 1), ("200", "200x200", 1.3), ("240", "240x220", 1.6)),
        ),
        _family(
            "HOM",
            "SHT Percale fitted sheet",
            (29, 35),
            HOME_COLOURS,
            _axis(("90", "90x190", 1), ("140", "140x190", 1.2), ("160", "160x200", 1.4)),
        ),
        _family(
            "HOM",
            "TWL Organic cotton bath towel",
            (9, 12),
            HOME_COLOURS,
            _axis(("30", "30x50", 0.6), ("50", "50x100", 1), ("70", "70x140", 1.8)),
        ),
        _family(
            "HOM",
            "CUS Linen cushion cover",
            (19, 25),
            HOME_COLOURS,
            _axis(("40", "40x40", 1), ("45", "45x45", 1.1), ("60", "60x60", 1.4)),
        ),
        _family("HOM", "PLD Wool throw", (69, 89), HOME_COLOURS),
    ),
    "Home and kitchen": (
        _family(
            "KIT",
            "CND Scented candle",
            (19, 25),
            SCENTS,
            _axis(("180", "180 g", 1), ("300", "300 g", 1.5)),
        ),
        _family("KIT", "DIF Reed diffuser (100 ml)", (24, 32), SCENTS),
        _family(
            "KIT",
            "MUG Stoneware mug, PLT Stoneware dinner plate, BWL Stoneware bowl",
            (8, 14),
            HOME_COLOURS,
        ),
        _family(
            "KIT",
            "VAS Recycled glass vase",
            (19, 23),
            _axis(("S", "small", 1), ("M", "medium", 1.4), ("L", "large", 1.9)),
        ),
    ),
    "Beauty": (
        _family(
            "BTY",
            "FCR Hydrating face cream, NCR Night repair cream",
            (22, 34),
            _axis(("30", "30 ml", 1), ("50", "50 ml", 1.5)),
        ),
        _family("BTY", "SER Vitamin C serum (30 ml)", (29, 39)),
        _family(
            "BTY",
            "SHP Gentle shampoo, CND Nourishing conditioner",
            (8, 11),
            _axis(("NRM", "normal hair", 1), ("DRY", "dry hair", 1), ("OIL", "oily hair", 1)),
            _axis(("250", "250 ml", 1), ("500", "500 ml", 1.6)),
        ),
        _family(
            "BTY",
            "LIP Satin lipstick",
            (18, 24),
            Axis(
                _options(
                    "01 01 nude, 02 02 rose, 03 03 coral, 04 04 brick, 05 05 cherry, "
                    "06 06 plum, 07 07 classic red, 08 08 mocha"
                )
            ),
        ),
        _family(
            "BTY",
            "EDT Eau de toilette",
            (39, 49),
            SCENTS,
            _axis(("50", "50 ml", 1), ("100", "100 ml", 1.5)),
        ),
        _family(
            "BTY",
            "HND Hand cream",
            (6, 9),
            SCENTS,
            _axis(("30", "30 ml", 1), ("75", "75 ml", 1.8)),
        ),
        _family(
            "BTY",
            "SUN Sunscreen",
            (12, 16),
            _axis(("30", "SPF 30", 1), ("50", "SPF 50", 1.1)),
            _axis(("50", "50 ml", 1), ("200", "200 ml", 2.2)),
        ),
    ),
    "Electronics accessories": (
        _family(
            "ELC",
            "USC USB-C to USB-C cable, UCL USB-C to Lightning cable",
            (12, 16),
            TECH_COLOURS,
            _axis(("1M", "1 m", 1), ("2M", "2 m", 1.3)),
        ),
        _family(
            "ELC",
            "CHG GaN fast charger",
            (24, 29),
            _axis(("30W", "30 W", 1), ("65W", "65 W", 1.6), ("100W", "100 W", 2.2)),
        ),
        _family(
            "ELC",
            "PWB Power bank",
            (29, 35),
            TECH_COLOURS,
            _axis(("10K", "10,000 mAh", 1), ("20K", "20,000 mAh", 1.5)),
        ),
        _family(
            "ELC",
            "EAR Wireless earbuds, HPH Over-ear headphones, SPK Bluetooth speaker",
            (49, 129),
            TECH_COLOURS,
        ),
        _family("ELC", "CAS Silicone phone case", (19, 29), PHONES, TECH_COLOURS),
        _family("ELC", "SCR Tempered-glass screen protector", (14, 19), PHONES),
    ),
}


def catalogue() -> dict[str, list[Style]]:
    """The demo's range, by department: every style and the axes of its variants."""
    return {
        department: [style for family in families for style in family.styles()]
        for department, families in RANGE.items()
    }
