"""Small text helpers shared by the screens (no Textual imports)."""

from __future__ import annotations

import math


def ms(us: float | None, digits: int = 2) -> str:
    """µs -> "12.34 ms"."""
    if us is None or not math.isfinite(us):
        return "-"
    return f"{us / 1000:.{digits}f} ms"


def rate(x: float | None, unit: str = " req/s") -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}{unit}"
    return f"{x:,.1f}{unit}"


def num(x: float | None, spec: str = ",.2f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return format(x, spec)


def pct(x: float | None, digits: int = 1) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{100 * x:.{digits}f}%"


def gpus(v: float) -> str:
    """A GPU count: integers plain, fractions (MPS) with up to two decimals."""
    return f"{v:g}" if abs(v - round(v)) < 1e-9 else f"{v:.2f}".rstrip("0")


def bar(share: float, width: int, full: str = "#", empty: str = ".") -> str:
    """A text bar that reads without colour: ``[#####.....]``."""
    width = max(int(width), 1)
    share = 0.0 if share is None or not math.isfinite(share) else min(max(share, 0.0), 1.0)
    n = int(round(share * width))
    return full * n + empty * (width - n)


def shorten(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters with an ellipsis in the middle."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width <= 3:
        return text[:width]
    head = (width - 1) // 2 + (width - 1) % 2
    tail = width - 1 - head
    return text[:head] + "~" + (text[-tail:] if tail else "")


def elapsed(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s"


def chunk_range(start: int, end: int) -> str:
    """Chunks [start, end) as the inclusive range the tree and the CSV export show: "0-5"."""
    return f"{int(start)}-{int(end) - 1}" if int(end) - 1 != int(start) else f"{int(start)}"


def plain_number(v):
    """10.0 -> 10 (whole floats as integers), anything else as it is."""
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    return v
