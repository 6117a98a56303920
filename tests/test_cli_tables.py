"""Result tables on a narrow terminal (80 columns over SSH): split by columns, never cut."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.table import Table

from ppipe.cli.tables import column_chunks, print_fitted, spread


def _figure_table(clusters: int) -> Table:
    t = Table(title="Fig. 7 (maf19): attainment % of G2 (mean over its models)", title_justify="left")
    t.add_column("load factor", justify="right")
    for hc in range(1, clusters + 1):
        for s in ("NP", "DART-r", "PPipe"):
            t.add_column(f"HC{hc} {s}", justify="right")
    for lf in (100, 70, 50):
        t.add_row(str(lf), *[f"{lf - i * 0.37:.2f}" for i in range(3 * clusters)])
    return t


def _printed(table: Table, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    print_fitted(console, table)
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 100, 60])
def test_a_wide_table_is_split_and_no_figure_is_cut(width):
    table = _figure_table(4)
    lines = _printed(table, width)
    assert all(len(ln) <= width for ln in lines), [ln for ln in lines if len(ln) > width]
    text = "\n".join(lines)
    assert "…" not in text
    for col in table.columns:
        for cell in col.cells:
            assert cell in text, cell
    # every part repeats the key column, and together the parts carry every column once
    parts = sum(ln.startswith("┏") for ln in lines)
    headers = " ".join(ln for ln in lines if ln.startswith("┃"))
    assert parts >= 2 and headers.count("factor") == parts
    for hc in range(1, 5):
        assert headers.count(f"HC{hc}") == 3


def test_a_table_that_fits_prints_as_it_is():
    table = _figure_table(1)
    console = Console(width=120, record=True, color_system=None)
    console.print(table)
    assert _printed(table, 120) == console.export_text().splitlines()


def test_chunks_and_spread():
    # key 11 wide; four columns of 6: base 11+3+1 = 15, each column 9 more
    assert column_chunks([11, 6, 6, 6, 6], 40) == [[1, 2], [3, 4]]
    assert column_chunks([11, 6, 6, 6, 6], 60) == [[1, 2, 3, 4]]
    assert column_chunks([11, 50, 6], 40) == [[1], [2]]  # a column wider than the room still gets a part
    # room left after the compact widths goes to the leftmost headers first
    assert spread([11, 10, 10], [11, 6, 6], 11 + 6 + 6 + 10 + 5) == [11, 10, 7]


@pytest.mark.parametrize("kw", [{}, {"box": None}, {"pad_edge": False}, {"show_edge": False}])
def test_the_frame_is_what_rich_draws(kw):
    from rich import box as boxes

    from ppipe.cli.tables import frame, span

    for style in ({}, {"box": boxes.SIMPLE_HEAD}):
        t = Table(**{**style, **kw})
        for head in ("a", "bb", "c"):
            t.add_column(head, no_wrap=True)
        t.add_row("1234", "5", "678")
        console = Console(width=200, record=True, color_system=None)
        console.print(t)
        drawn = max(len(ln) for ln in console.export_text().splitlines())
        assert span([4, 2, 3], frame(t)) == drawn, (style, kw)


def test_a_cell_wider_than_the_console_folds_and_hidden_headers_do_not_count():
    t = Table(show_header=False)
    t.add_column("a very long header that is hidden")
    t.add_column("x")
    t.add_row("k", "1" * 100)
    lines = _printed(t, 40)
    assert all(len(ln) <= 40 for ln in lines)
    assert "…" not in "\n".join(lines) and "".join(lines).count("1") == 100
    small = Table(show_header=False)
    small.add_column("a very long header that is hidden")
    small.add_row("k")
    console = Console(width=20, record=True, color_system=None)
    console.print(small)
    assert _printed(small, 20) == console.export_text().splitlines()  # fits: printed as it is
