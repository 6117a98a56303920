"""Tables that fit the terminal: a result table wider than the console is printed as
several tables, each repeating the key column(s), instead of rich squeezing every column
until the figures read "50…" (a figure table of four clusters x three schedulers on 80
columns over SSH)."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

#: What a table costs besides its text in rich's default box: (per column: a rule and two
#: spaces; per table: one rule fewer than columns, plus the two edges).
DEFAULT_FRAME = (3, 1)


def frame(table: Table) -> tuple[int, int]:
    """(cost per column, cost per table) of ``table`` besides its text: padding, rules, edges."""
    _, right, _, left = table.padding
    ruled = table.box is not None
    per = left + right + (1 if ruled else 0)
    extra = ((2 if table.show_edge else 0) - 1 if ruled else 0) - (0 if table.pad_edge else left + right)
    return per, extra


def column_widths(console: Console, table: Table) -> tuple[list[int], list[int]]:
    """Each column's (full, compact) width: full shows the header on one line, compact
    wraps it between words; neither cuts a cell."""
    full, compact = [], []
    for col in table.columns:
        shown = table.show_header and col.header
        head = Measurement.get(console, console.options, col.header) if shown else Measurement(0, 0)
        cells = max([Measurement.get(console, console.options, c).maximum for c in col.cells], default=0)
        full.append(max(head.maximum, cells))
        compact.append(max(head.minimum, cells))
    return full, compact


def span(widths: list[int], cost: tuple[int, int] = DEFAULT_FRAME) -> int:
    """A table's width with these columns (``cost`` from :func:`frame`)."""
    per, extra = cost
    return sum(w + per for w in widths) + extra


def column_chunks(widths: list[int], width: int, keys: int = 1,
                  cost: tuple[int, int] = DEFAULT_FRAME) -> list[list[int]]:
    """The non-key columns in runs that fit ``width`` beside the first ``keys`` columns
    (at least one column a run, however wide)."""
    base = span(widths[:keys], cost)
    chunks: list[list[int]] = [[]]
    used = base
    for i in range(keys, len(widths)):
        need = widths[i] + cost[0]
        if chunks[-1] and used + need > width:
            chunks.append([])
            used = base
        chunks[-1].append(i)
        used += need
    return chunks


def spread(full: list[int], compact: list[int], width: int, cost: tuple[int, int] = DEFAULT_FRAME) -> list[int]:
    """Compact widths widened toward full ones, left to right, while the table fits."""
    out = list(compact)
    room = width - span(out, cost)
    for i, (f, c) in enumerate(zip(full, compact)):
        add = max(0, min(f - c, room))
        out[i] += add
        room -= add
    return out


def print_fitted(console, table: Table, keys: int = 1) -> None:
    """Print ``table`` as it is where it fits the console; otherwise as several tables that
    each repeat the first ``keys`` columns, with fixed column widths. A cell wider than the
    console itself folds onto more lines: no character is ever dropped."""
    console = getattr(console, "get", lambda: console)()  # the CLI's lazy console
    full, compact = column_widths(console, table)
    cost = frame(table)
    if span(full, cost) <= console.width:
        console.print(table)
        return
    cells = [list(col.cells) for col in table.columns]
    chunks = column_chunks(compact, console.width, keys, cost)
    for n, chunk in enumerate(chunks):
        title = table.title if n == 0 or not isinstance(table.title, str) else f"{table.title} (continued)"
        part = Table(title=title, title_justify=table.title_justify, header_style=table.header_style,
                     box=table.box, show_header=table.show_header, show_lines=table.show_lines,
                     pad_edge=table.pad_edge, show_edge=table.show_edge,
                     caption=table.caption if n == len(chunks) - 1 else None,
                     caption_justify=table.caption_justify)
        picked = [*range(keys), *chunk]
        widths = spread([full[i] for i in picked], [compact[i] for i in picked], console.width, cost)
        for i, w in zip(picked, widths):
            col = table.columns[i]
            part.add_column(col.header, justify=col.justify, width=w, style=col.style, header_style=col.header_style,
                            overflow="fold")
        for r in range(table.row_count):
            part.add_row(*(cells[i][r] for i in picked))
        console.print(part)
