"""Generate the guide pictures in this folder with plain Pillow drawing.

Run once after editing: `python -m bot.assets.make_assets` (or run this file directly).
Drawn at 2x and downscaled for smooth edges, then palette-quantized so each PNG stays small.
No words are drawn, only numbers, ticks and crosses: the bot's caption, in the customer's language,
carries the explanation (what is printed on the depicted label or invoice is part of the object).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT_DIR = Path(__file__).resolve().parent
S = 2  # supersampling factor
W, H = 800, 500
SERIAL = "BA9H040230046"

BG = (244, 246, 250)
CARD = (255, 255, 255)
CARD_LINE = (214, 219, 228)
INK = (38, 41, 56)
MUTED = (112, 118, 134)
RED = (226, 16, 48)
GREEN = (22, 160, 90)
DARK = (62, 65, 76)
DARKER = (40, 42, 50)
METAL = (176, 182, 192)
LIGHT = (214, 218, 226)
CARDBOARD = (205, 162, 108)
CARDBOARD_TOP = (222, 186, 136)
CARDBOARD_SIDE = (180, 138, 88)
PCB = (32, 60, 52)
GOLD = (214, 170, 60)

Pt = tuple[float, float]
Color = tuple[int, int, int] | str | None  # an RGB triple, a colour name, or none (no fill / no outline)


class Pic:
    """A canvas taking logical (800x500) coordinates; drawn internally at S x."""

    def __init__(self, w: int = W, h: int = H, bg: tuple[int, int, int] = BG) -> None:
        self.w, self.h = w, h
        self.im = Image.new("RGB", (w * S, h * S), bg)
        self.d = ImageDraw.Draw(self.im)
        self._fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}

    def font(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        if size not in self._fonts:
            self._fonts[size] = ImageFont.load_default(size=size * S)
        return self._fonts[size]

    @staticmethod
    def _box(box: Sequence[float]) -> list[float]:
        return [v * S for v in box]

    @staticmethod
    def _pts(pts: Sequence[Pt]) -> list[tuple[float, float]]:
        return [(x * S, y * S) for x, y in pts]

    def rect(
        self, box: Sequence[float], fill: Color = None, outline: Color = INK, width: float = 2.5, r: float = 0
    ) -> None:
        w = round(width * S) if outline else 0
        if r:
            self.d.rounded_rectangle(self._box(box), radius=r * S, fill=fill, outline=outline, width=w)
        else:
            self.d.rectangle(self._box(box), fill=fill, outline=outline, width=w)

    def ellipse(self, box: Sequence[float], fill: Color = None, outline: Color = INK, width: float = 2.5) -> None:
        self.d.ellipse(self._box(box), fill=fill, outline=outline, width=round(width * S) if outline else 0)

    def circle(self, c: Pt, r: float, fill: Color = None, outline: Color = INK, width: float = 2.5) -> None:
        self.ellipse((c[0] - r, c[1] - r, c[0] + r, c[1] + r), fill, outline, width)

    def line(self, pts: Sequence[Pt], fill: Color = INK, width: float = 2.5, joint: str | None = "curve") -> None:
        self.d.line(self._pts(pts), fill=fill, width=round(width * S), joint=joint)

    def poly(self, pts: Sequence[Pt], fill: Color = None, outline: Color = INK, width: float = 2.5) -> None:
        self.d.polygon(self._pts(pts), fill=fill, outline=outline, width=round(width * S) if outline else 0)

    def text(
        self, xy: Pt, text: str, size: int = 18, fill: Color = INK, anchor: str = "la", bold: bool = False
    ) -> None:
        self.d.text(
            (xy[0] * S, xy[1] * S),
            text,
            font=self.font(size),
            fill=fill,
            anchor=anchor,
            stroke_width=1 if bold else 0,
            stroke_fill=fill,
        )

    def text_bbox(self, xy: Pt, text: str, size: int = 18, anchor: str = "la") -> tuple[float, ...]:
        box = self.d.textbbox((xy[0] * S, xy[1] * S), text, font=self.font(size), anchor=anchor)
        return tuple(v / S for v in box)

    def text_width(self, text: str, size: int) -> float:
        return self.d.textlength(text, font=self.font(size)) / S

    def arrow(self, tail: Pt, head: Pt, color: Color = RED, width: float = 5, head_len: float = 18) -> None:
        ang = math.atan2(head[1] - tail[1], head[0] - tail[0])
        base = (head[0] - head_len * 0.8 * math.cos(ang), head[1] - head_len * 0.8 * math.sin(ang))
        self.line([tail, base], color, width)
        left = (head[0] - head_len * math.cos(ang - 0.45), head[1] - head_len * math.sin(ang - 0.45))
        right = (head[0] - head_len * math.cos(ang + 0.45), head[1] - head_len * math.sin(ang + 0.45))
        self.poly([head, left, right], fill=color, outline=None)

    def badge(self, c: Pt, label: str, color: Color = RED, r: float = 14) -> None:
        self.circle(c, r, fill=color, outline=None)
        self.text(c, label, size=int(r * 1.3), fill="white", anchor="mm", bold=True)

    def check(self, c: Pt, size: float, color: Color = GREEN) -> None:
        """Check mark drawn as lines (the default font has no check glyph)."""
        self.circle(c, size, fill=color, outline=None)
        s = size * 0.5
        self.line(
            [(c[0] - s, c[1]), (c[0] - s * 0.25, c[1] + s * 0.7), (c[0] + s, c[1] - s * 0.6)], "white", size * 0.22
        )

    def cross(self, c: Pt, size: float, color: Color = RED) -> None:
        self.circle(c, size, fill=color, outline=None)
        s = size * 0.45
        self.line([(c[0] - s, c[1] - s), (c[0] + s, c[1] + s)], "white", size * 0.22, None)
        self.line([(c[0] - s, c[1] + s), (c[0] + s, c[1] - s)], "white", size * 0.22, None)

    def save(self, name: str) -> Path:
        small = self.im.resize((self.w, self.h), Image.Resampling.LANCZOS)
        pal = small.quantize(colors=128, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        path = OUT_DIR / name
        pal.save(path, "PNG", optimize=True)
        return path


# ---------------------------------------------------------------- shared pieces


def barcode(p: Pic, box: Sequence[float], seed: str = SERIAL, color: Color = INK) -> None:
    """Deterministic barcode-looking stripes derived from the serial text."""
    x0, y0, x1, y1 = box
    bits = "".join(f"{ord(ch):08b}" for ch in seed * 4)
    widths = [1 + int(b) + (i % 3 == 0) for i, b in enumerate(bits)]
    while len(widths) > 8 and (x1 - x0) / (sum(widths) * 2) < 1.2:  # keep bars >= 1.2 px
        widths.pop()
    unit = (x1 - x0) / (sum(widths) * 2)
    x = x0
    for i, w in enumerate(widths):
        if i % 2 == 0:
            p.rect((x, y0, x + w * unit, y1), fill=color, outline=None)
        x += w * unit * 2
        if x >= x1:
            break


def tiny_sticker(p: Pic, box: Sequence[float], highlight: bool = True) -> None:
    """A label too small to read: white card, two text bars and stripes."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    p.rect(box, fill="white", outline=(150, 150, 150), width=1, r=2)
    p.rect((x0 + w * 0.1, y0 + h * 0.15, x0 + w * 0.75, y0 + h * 0.3), fill=INK, outline=None)
    barcode(p, (x0 + w * 0.1, y0 + h * 0.42, x0 + w * 0.9, y0 + h * 0.85))
    if highlight:
        p.rect((x0 - 7, y0 - 7, x1 + 7, y1 + 7), outline=RED, width=3.5, r=8)


def big_sticker(p: Pic, box: Sequence[float], sep: str = ": ") -> dict[str, tuple[float, ...]]:
    """The readable mock S/N label; returns the bounding boxes of the S/N and CHK texts."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    p.rect((x0 + 4, y0 + 5, x1 + 4, y1 + 5), fill=(210, 214, 222), outline=None, r=10)  # shadow
    p.rect(box, fill="white", outline=(160, 164, 172), width=1.5, r=10)
    size = max(10, int(h * 0.15))
    sn_xy = (x0 + w * 0.07, y0 + h * 0.1)
    p.text(sn_xy, f"S/N{sep}{SERIAL}", size=size, bold=True)
    barcode(p, (x0 + w * 0.07, y0 + h * 0.34, x0 + w * 0.93, y0 + h * 0.66))
    chk = f"CHK{sep}123"
    cx = x1 - w * 0.07 - p.text_width(chk, size)
    cy = y0 + h * 0.73
    p.text((cx, cy), chk, size=size, bold=True)
    p.text((x0 + w * 0.07, cy + size * 0.15), "Made in Taiwan", size=max(9, int(size * 0.7)), fill=MUTED)
    return {"sn": p.text_bbox(sn_xy, f"S/N{sep}{SERIAL}", size), "chk": p.text_bbox((cx, cy), chk, size)}


def carton(
    p: Pic,
    x: float,
    y: float,
    w: float,
    h: float,
    dx: float = 46,
    dy: float = 30,
    label: bool = True,
    highlight: bool = True,
) -> None:
    """Oblique product box; the S/N label sits on its right side face."""
    p.poly([(x, y), (x + dx, y - dy), (x + w + dx, y - dy), (x + w, y)], fill=CARDBOARD_TOP)
    p.poly([(x + w, y), (x + w + dx, y - dy), (x + w + dx, y + h - dy), (x + w, y + h)], fill=CARDBOARD_SIDE)
    p.rect((x, y, x + w, y + h), fill=CARDBOARD)
    p.rect((x + w * 0.12, y + h * 0.18, x + w * 0.88, y + h * 0.42), fill=DARK, outline=None, r=4)
    p.rect((x + w * 0.12, y + h * 0.55, x + w * 0.6, y + h * 0.62), fill=CARDBOARD_SIDE, outline=None)
    p.rect((x + w * 0.12, y + h * 0.7, x + w * 0.45, y + h * 0.77), fill=CARDBOARD_SIDE, outline=None)
    if not label:
        return

    def at(u: float, v: float) -> Pt:
        return (x + w + u * dx, y - u * dy + v * h)

    corners = [at(0.15, 0.45), at(0.85, 0.45), at(0.85, 0.78), at(0.15, 0.78)]
    p.poly(corners, fill="white", outline=(150, 150, 150), width=1)
    for i in range(9):
        u = 0.22 + i * 0.07
        p.line([at(u, 0.56), at(u, 0.72)], INK, 1.6 if i % 3 else 2.6, None)
    if highlight:
        a, b = at(0.0, 0.36), at(1.0, 0.36)
        c, d = at(1.0, 0.87), at(0.0, 0.87)
        p.poly([(a[0] - 5, a[1]), (b[0] + 5, b[1]), (c[0] + 5, c[1]), (d[0] - 5, d[1])], outline=RED, width=3.5)


def frame() -> Pic:
    p = Pic()
    p.rect((30, 58, 90, 62), fill=RED, outline=None)
    return p


def card(p: Pic, box: Sequence[float]) -> None:
    p.rect(box, fill=CARD, outline=CARD_LINE, width=1.5, r=14)


def caption(p: Pic, xy: Pt, num: str) -> None:
    p.badge((xy[0] + 13, xy[1] + 11), num)


def serial_picture(category: str, draw: Callable[[Pic], None]) -> Path:
    """Common layout: product with its label (1, left), box (2, top right), the label up close (bottom right)."""
    p = frame()
    card(p, (20, 78, 505, 482))
    card(p, (520, 78, 780, 290))
    card(p, (520, 302, 780, 482))
    draw(p)
    caption(p, (36, 446), "1")
    carton(p, 555, 135, 130, 100)
    caption(p, (536, 254), "2")
    big_sticker(p, (536, 343, 764, 468))
    return p.save(f"serial_{category}.png")


# ---------------------------------------------------------------- products


def vents(p: Pic, x0: float, x1: float, y0: float, y1: float, n: int, color: Color = DARKER) -> None:
    for i in range(n):
        x = x0 + (x1 - x0) * i / max(1, n - 1)
        p.line([(x, y0), (x, y1)], color, 4)


def draw_laptop(p: Pic) -> None:
    p.rect((70, 120, 455, 420), fill=DARK, r=24)
    p.rect((70, 120, 455, 140), fill=DARKER, outline=None, r=8)  # hinge side
    for fx, fy in ((92, 152), (410, 152), (92, 385), (410, 385)):
        p.rect((fx, fy, fx + 24, fy + 14), fill=DARKER, outline=None, r=7)
    vents(p, 150, 375, 170, 205, 20)
    p.ellipse((120, 235, 190, 270), fill=None, outline=DARKER, width=2)  # speaker
    p.ellipse((335, 235, 405, 270), fill=None, outline=DARKER, width=2)
    for sx, sy in ((140, 300), (385, 300), (262, 400)):
        p.circle((sx, sy), 4, fill=DARKER, outline=None)
    tiny_sticker(p, (222, 300, 318, 352))
    p.arrow((150, 330), (205, 326))


def draw_aio(p: Pic) -> None:
    p.rect((55, 118, 470, 355), fill=DARK, r=14)
    vents(p, 150, 380, 135, 160, 22)
    p.poly([(230, 300), (300, 300), (318, 415), (212, 415)], fill=METAL)  # stand
    p.rect((160, 410, 370, 428), fill=METAL, r=9)
    for i in range(5):
        p.rect((372 + i * 16, 318, 384 + i * 16, 330), fill=DARKER, outline=None, r=2)
    tiny_sticker(p, (100, 260, 190, 310))
    p.arrow((90, 400), (125, 322))


def draw_desktop(p: Pic) -> None:
    x0, y0, x1, y1 = 175, 110, 355, 428
    p.rect((x0, y0, x1, y1), fill=DARK, r=8)
    p.rect((190, 125, 238, 232), fill=METAL, r=3)  # I/O shield with ports
    for i in range(6):
        p.rect((198, 133 + i * 16, 214, 143 + i * 16), fill=DARKER, outline=None, r=2)
        p.rect((220, 133 + i * 16, 230, 143 + i * 16), fill=DARKER, outline=None, r=2)
    p.circle((298, 172), 44, fill=DARKER)
    for r in (34, 22, 10):
        p.circle((298, 172), r, outline=METAL, width=1.5)
    for i in range(5):
        p.rect((190, 268 + i * 14, 340, 276 + i * 14), fill=METAL, outline=None, r=2)
    p.rect((190, 352, 340, 415), fill=DARKER, r=4)  # PSU
    p.circle((240, 383), 24, outline=METAL, width=2)
    p.rect((295, 370, 325, 396), fill=METAL, outline=None, r=3)
    tiny_sticker(p, (254, 226, 340, 258), highlight=False)
    p.rect((247, 219, 347, 265), outline=RED, width=3.5, r=8)
    p.arrow((420, 200), (355, 235))


def draw_monitor(p: Pic) -> None:
    p.rect((45, 118, 480, 360), fill=DARK, r=14)
    p.rect((222, 180, 302, 260), fill=DARKER, r=6)  # VESA plate
    for c in ((236, 194), (288, 194), (236, 246), (288, 246)):
        p.circle(c, 4, fill=METAL, outline=None)
    p.rect((240, 235, 284, 410), fill=METAL, r=6)  # stand neck
    p.rect((150, 405, 375, 428), fill=METAL, r=10)
    for i in range(5):
        p.rect((320 + i * 22, 330, 334 + i * 22, 342), fill=DARKER, outline=None, r=2)
    tiny_sticker(p, (80, 280, 170, 330))
    p.arrow((80, 410), (110, 345))


def draw_motherboard(p: Pic) -> None:
    p.rect((105, 115, 425, 430), fill=PCB, r=4)
    p.rect((115, 125, 160, 255), fill=METAL, r=4)  # I/O heatsink
    p.rect((170, 125, 270, 150), fill=METAL, r=4)  # VRM heatsink
    p.rect((180, 165, 262, 247), fill=LIGHT, r=4)  # CPU socket
    p.rect((196, 181, 246, 231), fill=METAL, outline=None, r=2)
    for i in range(4):
        p.rect((292 + i * 18, 135, 302 + i * 18, 290), fill=DARKER, r=2)  # DIMM slots
    p.rect((404, 170, 418, 250), fill=LIGHT, r=2)  # 24-pin
    for y in (295, 338, 381):
        p.rect((125, y, 330, y + 12), fill=DARKER, r=2)  # PCIe slots
    p.rect((345, 320, 405, 380), fill=METAL, r=6)  # chipset
    tiny_sticker(p, (250, 398, 330, 424))
    p.arrow((420, 455), (345, 418))


def draw_graphics_card(p: Pic) -> None:
    p.rect((32, 150, 56, 360), fill=METAL, r=3)  # bracket
    for i in range(5):
        p.rect((38, 170 + i * 26, 50, 186 + i * 26), fill=DARK, outline=None, r=3)
    p.rect((56, 170, 470, 345), fill=DARK, r=10)
    p.rect((130, 345, 300, 362), fill=GOLD, r=2)  # PCIe fingers
    for i in range(18):
        p.line([(136 + i * 9, 348), (136 + i * 9, 360)], (160, 120, 30), 1.5, None)
    p.rect((390, 158, 440, 172), fill=DARKER, r=2)  # power connector
    for c in ((150, 215), (210, 215), (150, 275), (210, 275)):
        p.circle(c, 5, fill=METAL, outline=None)
    for i in range(7):
        p.line([(250 + i * 28, 190), (280 + i * 28, 230)], DARKER, 3, None)
    tiny_sticker(p, (320, 260, 420, 316))
    p.arrow((300, 420), (350, 328))


def draw_pc_case(p: Pic) -> None:
    p.rect((205, 110, 405, 430), fill=DARK, r=8)
    p.rect((222, 126, 272, 236), fill=DARKER)  # empty I/O cut-out
    p.circle((340, 180), 50, fill=DARKER)
    for r in (44, 32, 20, 8):
        p.circle((340, 180), r, outline=METAL, width=1.5)
    for i in range(7):
        p.rect((222, 250 + i * 13, 388, 258 + i * 13), fill=METAL, outline=None, r=2)
    p.rect((222, 350, 388, 414), fill=DARKER)  # PSU opening
    tiny_sticker(p, (280, 368, 370, 402), highlight=False)
    p.rect((273, 361, 377, 409), outline=RED, width=3.5, r=8)
    p.arrow((150, 330), (268, 378))


def draw_gaming_gear(p: Pic) -> None:
    p.rect((80, 120, 220, 415), fill=DARK, r=68)  # mouse, upside down
    p.rect((110, 132, 190, 146), fill=LIGHT, outline=None, r=7)  # skates
    p.rect((110, 392, 190, 404), fill=LIGHT, outline=None, r=6)
    p.circle((150, 215), 14, fill=DARKER)
    p.circle((150, 215), 5, fill=(200, 40, 40), outline=None)
    tiny_sticker(p, (112, 288, 188, 330))
    p.rect((255, 250, 485, 370), fill=DARK, r=10)  # keyboard, upside down
    for fx in (272, 448):
        p.rect((fx, 262, fx + 24, 280), fill=DARKER, outline=None, r=4)
        p.rect((fx, 346, fx + 24, 358), fill=DARKER, outline=None, r=4)
    tiny_sticker(p, (330, 292, 410, 332))
    p.arrow((260, 180), (196, 290))
    p.arrow((300, 180), (345, 280))


def draw_gaming_chair(p: Pic) -> None:
    p.poly([(120, 120), (175, 110), (210, 300), (150, 310)], fill=DARK)  # backrest
    p.rect((118, 128, 160, 150), fill=RED, outline=None, r=8)  # headrest pillow
    p.rect((145, 318, 338, 340), fill=DARKER, r=6)  # seat shell (underside)
    p.rect((140, 290, 345, 326), fill=DARK, r=14)  # seat cushion
    p.rect((270, 246, 282, 292), fill=DARKER, outline=None)  # armrest
    p.rect((240, 240, 320, 252), fill=DARKER, outline=None, r=5)
    p.rect((225, 340, 290, 356), fill=DARKER, r=3)  # mechanism
    p.rect((250, 356, 266, 402), fill=METAL, r=3)  # gas lift
    for end in ((150, 425), (355, 425), (258, 436)):
        p.line([(258, 404), end], DARKER, 8)
        p.circle((end[0], end[1] + 10), 10, fill=DARKER, outline=None)
    tiny_sticker(p, (165, 328, 215, 350))
    p.arrow((110, 400), (163, 360))


def draw_liquid_cooling(p: Pic) -> None:
    p.rect((55, 116, 320, 266), fill=DARK, r=4)  # radiator with fans
    for cx in (120, 255):
        p.circle((cx, 168), 46, fill=DARKER)
        for k in range(7):
            a = k * 2 * math.pi / 7
            p.line([(cx, 168), (cx + 40 * math.cos(a), 168 + 40 * math.sin(a))], METAL, 3, None)
        p.circle((cx, 168), 13, fill=DARK, outline=METAL, width=2)
    p.rect((320, 110, 348, 272), fill=METAL, r=3)  # end tank
    p.line([(348, 142), (405, 142), (405, 300)], DARKER, 12)  # tubes
    p.line([(348, 196), (380, 196), (380, 300)], DARKER, 12)
    p.rect((330, 300, 460, 390), fill=DARK, r=10)  # pump block
    p.circle((395, 345), 34, fill=DARKER, outline=METAL, width=2)
    p.circle((395, 345), 14, fill=RED, outline=None)
    p.rect((330, 385, 460, 425), fill=DARKER, r=6)
    tiny_sticker(p, (80, 226, 160, 256))
    tiny_sticker(p, (360, 392, 430, 420))
    p.arrow((70, 340), (105, 272))
    p.arrow((290, 440), (347, 412))


SERIAL_PICTURES: dict[str, Callable[[Pic], None]] = {
    "laptop": draw_laptop,
    "aio": draw_aio,
    "desktop": draw_desktop,
    "monitor": draw_monitor,
    "motherboard": draw_motherboard,
    "graphics_card": draw_graphics_card,
    "pc_case": draw_pc_case,
    "gaming_gear": draw_gaming_gear,
    "gaming_chair": draw_gaming_chair,
    "liquid_cooling": draw_liquid_cooling,
}


# ---------------------------------------------------------------- other guides


def make_chk_example() -> Path:
    p = frame()
    boxes = big_sticker(p, (90, 95, 710, 420), sep=" ")
    x0, y0, x1, y1 = boxes["sn"]
    p.rect((x0 - 12, y0 - 10, x1 + 12, y1 + 10), outline=RED, width=3.5, r=10)
    p.badge((x0 - 12, y0 - 10), "1")
    x0, y0, x1, y1 = boxes["chk"]
    p.ellipse((x0 - 26, y0 - 20, x1 + 26, y1 + 20), outline=RED, width=4.5)
    p.badge((x0 - 14, y0 - 16), "2")
    return p.save("chk_example.png")


def device_back(p: Pic, box: Sequence[float]) -> None:
    x0, y0, x1, y1 = box
    p.rect(box, fill=DARK, r=16)
    vents(p, x0 + 40, x1 - 40, y0 + 22, y0 + 48, 16)
    for c in ((x0 + 20, y0 + 20), (x1 - 20, y0 + 20), (x0 + 20, y1 - 20), (x1 - 20, y1 - 20)):
        p.circle(c, 5, fill=DARKER, outline=None)


def make_sn_photo_example() -> Path:
    p = frame()
    card(p, (20, 78, 392, 482))
    card(p, (408, 78, 780, 482))
    device_back(p, (50, 115, 362, 395))
    big_sticker(p, (82, 215, 330, 335))
    p.check((60, 440), 18)

    carton(p, 440, 160, 220, 210, dx=60, dy=40, label=False)
    big_sticker(p, (452, 285, 650, 362))
    p.line([(430, 110), (750, 400)], RED, 8)
    p.line([(430, 400), (750, 110)], RED, 8)
    p.cross((448, 440), 18)
    return p.save("sn_photo_example.png")


def make_invoice_example() -> Path:
    p = Pic()
    p.rect((176, 18, 636, 490), fill=(214, 218, 226), outline=None, r=6)  # shadow
    p.rect((170, 12, 630, 484), fill="white", outline=CARD_LINE, width=1.5, r=6)
    p.text((200, 38), "Example Store", size=26, bold=True)
    p.rect((200, 76, 360, 82), fill=LIGHT, outline=None)
    p.rect((200, 90, 320, 96), fill=LIGHT, outline=None)
    p.text((600, 40), "INVOICE", size=22, fill=MUTED, anchor="ra", bold=True)

    marks: list[tuple[str, tuple[float, ...]]] = []  # numbered as the bot's list: model, date, invoice no.
    for y, text, n in ((122, "Invoice No. INV-2026-0042", "3"), (160, "Date 2026-03-03", "2")):
        p.text((200, y), text, size=17)
        marks.append((n, p.text_bbox((200, y), text, 17)))
    p.rect((440, 124, 600, 130), fill=LIGHT, outline=None)
    p.rect((480, 138, 600, 144), fill=LIGHT, outline=None)

    p.rect((200, 200, 600, 230), fill=(236, 239, 244), outline=None, r=4)
    for x, t, a in ((210, "Item", "la"), (470, "Qty", "ma"), (592, "Price", "ra")):
        p.text((x, 207), t, size=15, fill=MUTED, anchor=a, bold=True)
    p.text((210, 247), "MSI Optix G27C4", size=17)
    marks.append(("1", p.text_bbox((210, 247), "MSI Optix G27C4", 17)))
    p.text((470, 247), "1", size=17, anchor="ma")
    p.text((592, 247), "199.00", size=17, anchor="ra")
    for y in (290, 322):
        p.rect((210, y, 380, y + 7), fill=LIGHT, outline=None)
        p.rect((560, y, 592, y + 7), fill=LIGHT, outline=None)
    p.line([(200, 352), (600, 352)], CARD_LINE, 1.5)
    p.text((470, 366), "Total", size=17, anchor="ma", bold=True)
    p.text((592, 366), "199.00", size=17, anchor="ra", bold=True)
    for y in (420, 434, 448):
        p.rect((200, y, 420, y + 6), fill=LIGHT, outline=None)

    for n, (x0, y0, x1, y1) in marks:
        p.rect((x0 - 8, y0 - 7, x1 + 8, y1 + 7), outline=RED, width=3, r=6)
        mid = (y0 + y1) / 2
        p.line([(156, mid), (x0 - 8, mid)], RED, 3)
        p.badge((146, mid), n)
    return p.save("invoice_example.png")


def main() -> list[Path]:
    paths = [serial_picture(category, draw) for category, draw in SERIAL_PICTURES.items()]
    paths += [make_chk_example(), make_sn_photo_example(), make_invoice_example()]
    for path in paths:
        print(f"{path.name:28} {path.stat().st_size / 1024:5.1f} KB")
    return paths


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
