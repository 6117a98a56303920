"""F7 Saved plans: browse a folder of plan files; filter, open, rename, delete, export.

Typing filters the list (the filter box has the focus; Up / Down move in the list,
Enter opens). Commands are on modifier keys and on a row of buttons, never on bare
letters, so a name typed into the filter never runs one. A file that cannot be read
(not JSON, binary, a directory, a symlink loop, wrong values) is a row marked "bad"
with its problem in the preview; opening it is an error dialog.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Static

from ppipe.atomic import write_text_atomic
from ppipe.errors import PPipeError
from ppipe.paths import expand_user
from ppipe.planfile.plan import Plan, summary_rows, write_plan
from ppipe_tui.formatting import chunk_range, plain_number, rate, shorten
from ppipe_tui.messages import OpenPlan, ShowError
from ppipe_tui.screens.base import Command, PPipeScreen
from ppipe_tui.screens.dialogs import ConfirmDialog, InputDialog
from ppipe_tui.state import load_plan, plan_file_info, rename_problem, scheduler_label
from ppipe_tui.widgets.common import set_text


@dataclass
class FileRow:
    """One plan file of the folder, read once per reload."""

    path: Path
    plan: Plan | None
    error: str | None
    scheduler: str
    gpus: str

    @property
    def models(self) -> str:
        return str(len(self.plan.models)) if self.plan is not None else "bad"

    def matches(self, words: list[str]) -> bool:
        text = self.path.name.lower()
        if self.plan is not None:
            text += " " + " ".join(self.plan.model_names).lower()
        text += f" {self.scheduler.lower()} {self.gpus.lower()}"
        return all(w in text for w in words)


def read_row(p: Path) -> FileRow:
    try:
        plan, error = load_plan(p), None
    except PPipeError as exc:
        plan, error = None, str(exc)
    info = plan_file_info(p, plan)
    sched = scheduler_label(info["scheduler"]) if info["scheduler"] else "-"
    gpus = ",".join(f"{g}:{c}" for g, c in info["limits"].items()) if info["limits"] else "-"
    return FileRow(p, plan, error, sched, gpus)


class PlanFiles(DataTable):
    """The files. A letter typed here goes to the filter (commands are on modifier keys)."""

    BINDINGS = [
        Binding("enter", "screen.open_plan", "Open"),
        Binding("delete", "screen.delete", "Delete", show=False),
        Binding("slash", "screen.focus_filter", "Filter", show=False),
    ]

    def on_key(self, event) -> None:
        if event.character and event.is_printable and event.character != "/":
            event.stop()
            event.prevent_default()
            self.screen.type_into_filter(event.character)


#: F7's commands: modifier keys, so that letters always filter
COMMAND_BINDINGS = [
    Binding("ctrl+r", "screen.rename", "Rename"),
    Binding("ctrl+d", "screen.delete", "Delete"),
    Binding("ctrl+e", "screen.export", "Export"),
]


class FilterInput(Input):
    """The filter: Up / Down / Page keys move in the list, Enter opens, Escape clears."""

    BINDINGS = [
        Binding("down", "move('cursor_down')", "Next", show=False),
        Binding("up", "move('cursor_up')", "Previous", show=False),
        Binding("pagedown", "move('page_down')", "Page down", show=False),
        Binding("pageup", "move('page_up')", "Page up", show=False),
        Binding("enter", "screen.open_plan", "Open", key_display="⏎"),
        # the screen's commands, here too: an input's own Ctrl+D / Ctrl+E would shadow them
        *COMMAND_BINDINGS,
        Binding("escape", "clear", "Clear filter", show=False),
    ]

    def action_move(self, what: str) -> None:
        table = self.screen.query_one(PlanFiles)
        getattr(table, f"action_{what}")()

    def action_clear(self) -> None:
        self.value = ""


class FilesScreen(PPipeScreen):
    BINDINGS = [*COMMAND_BINDINGS, Binding("ctrl+o", "focus_folder", "Folder")]
    PALETTE = (
        Command("Open plan file", "Read a plan (ppipe or PPipe-artifact JSON) from a path", "open_path"),
        Command("Open the highlighted plan file (Enter on F7)", "", "open_plan"),
        Command("Change the plan folder (Ctrl+O on F7)", "List the plans of another folder", "focus_folder"),
        Command("Rename plan file (Ctrl+R on F7)", "", "rename"),
        Command("Delete plan file (Ctrl+D on F7)", "", "delete"),
        Command("Export plan file (Ctrl+E on F7)", "", "export"),
        Command("Filter plan files (type on F7)", "", "focus_filter"),
    )

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="files-top"):
            yield Label("Folder", classes="ctl-label")
            yield Input(str(self.session.plan_dir), id="files-dir", compact=True)
        with Horizontal(id="files-filter-row"):
            yield Label("Filter", classes="ctl-label")
            yield FilterInput(placeholder="type: words of names, models, scheduler, GPUs", id="files-filter",
                              compact=True, select_on_focus=False)
            yield Label("", id="files-count")
        yield PlanFiles(id="files-table", cursor_type="row")
        with Horizontal(id="files-actions"):
            yield Button("Open ⏎", id="files-open", compact=True)
            yield Button("Rename ^R", id="files-rename", compact=True)
            yield Button("Delete ^D", id="files-delete", compact=True)
            yield Button("Export ^E", id="files-export", compact=True)
        yield Static("", id="files-preview", markup=False)

    def on_mount(self) -> None:
        self.folder = Path(self.session.plan_dir)
        self.rows: list[FileRow] = []  # every file of the folder
        self.files: list[Path] = []  # the rows shown (filtered), in table order
        self._shown: list[FileRow] = []
        self.query_one("#files-preview").border_title = "Preview"
        self.reload()
        self.query_one(FilterInput).focus()

    def refresh_view(self) -> None:
        self.reload()

    # ------------------------------------------------------------ reading
    def reload(self, select: Path | None = None) -> None:
        """Read the folder again (every file once), then show the rows the filter lets through."""
        self.rows = []
        pv = self.query_one("#files-preview", Static)
        try:
            if not self.folder.is_dir():
                self._show_rows(select)
                pv.update(f"{self.folder}: no such folder yet (plans are saved here with Ctrl+S on the plan screen)")
                return
            paths = sorted(self.folder.glob("*.json"))
        except OSError as exc:
            self._show_rows(select)
            pv.update(f"{self.folder}: cannot list the folder ({exc.strerror or type(exc).__name__})")
            return
        self.rows = [read_row(p) for p in paths]
        self._show_rows(select)

    def _show_rows(self, select: Path | None = None) -> None:
        t = self.query_one(PlanFiles)
        cur = self.current_file()
        row = t.cursor_row
        t.clear(columns=True)
        width = max(t.size.width or self.app.size.width, 40)
        name_w = max(width - 36, 20)
        t.add_column("plan file", width=name_w, key="name")
        t.add_column("models", key="models")
        t.add_column("scheduler", key="sched")
        t.add_column("GPUs", key="gpus")
        # "/" starts a search in many tools: in a filter it only separates words
        words = self.query_one(FilterInput).value.lower().replace("/", " ").split()
        self._shown = [r for r in self.rows if r.matches(words)]
        self.files = [r.path for r in self._shown]
        for r in self._shown:
            t.add_row(shorten(r.path.name, name_w), r.models, r.scheduler, shorten(r.gpus, 14), key=str(r.path))
        count = self.query_one("#files-count", Label)
        set_text(count, f"{len(self._shown)} of {len(self.rows)}" if words else f"{len(self.rows)} plan(s)")
        if not self._shown:
            if self.rows:
                self.query_one("#files-preview", Static).update(f"no plan file matches {' '.join(words)!r}")
            elif self.folder.is_dir():
                self.query_one("#files-preview", Static).update(f"{self.folder}: no plan files (*.json)")
            return
        target = 0
        keep = select if select is not None else cur
        if keep is not None and keep in self.files:
            target = self.files.index(keep)
        elif 0 <= row < len(self.files):
            target = row
        t.move_cursor(row=target)
        self._preview(target)

    def current_file(self) -> Path | None:
        t = self.query_one(PlanFiles)
        files = getattr(self, "files", [])
        if not files or t.cursor_row < 0 or t.cursor_row >= len(files):
            return None
        return files[t.cursor_row]

    @on(DataTable.RowHighlighted, "#files-table")
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        self._preview(event.cursor_row)

    def _preview(self, row: int) -> None:
        pv = self.query_one("#files-preview", Static)
        if not 0 <= row < len(self._shown):
            return
        r = self._shown[row]
        if r.plan is None:
            pv.update(f"{r.path.name}\n! cannot be read: {r.error}")
            return
        lines = [r.path.name]
        for m in r.plan.models:
            lines.append(f"- {m.name}: {rate(m.xput)}, {len(m.pipelines)} pipeline(s), "
                         + " ".join(f"{g}:{v:g}" for g, v in m.gpus_used().items()))
        pv.update("\n".join(lines))

    # ------------------------------------------------------------ filter
    @on(Input.Changed, "#files-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._show_rows()

    def type_into_filter(self, text: str) -> None:
        f = self.query_one(FilterInput)
        f.focus()
        f.value += text
        f.cursor_position = len(f.value)

    def action_focus_filter(self) -> None:
        self.query_one(FilterInput).focus()

    @on(Input.Submitted, "#files-dir")
    def _folder(self, event: Input.Submitted) -> None:
        try:
            self.folder = expand_user(event.value)
        except PPipeError as exc:
            self.post_message(ShowError("Folder", str(exc)))
            return
        self.reload()
        self.query_one(FilterInput).focus()

    def action_focus_folder(self) -> None:
        self.query_one("#files-dir").focus()

    # ------------------------------------------------------------ actions
    @on(Button.Pressed, "#files-actions Button")
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        action = {"files-open": self.action_open_plan, "files-rename": self.action_rename,
                  "files-delete": self.action_delete, "files-export": self.action_export}[event.button.id]
        action()

    def action_open_plan(self) -> None:
        p = self.current_file()
        if p is not None:
            self.post_message(OpenPlan(p))

    def action_open_path(self) -> None:
        """Open a plan file by its path (any folder)."""

        def done(path: str | None) -> None:
            if not path:
                return
            try:
                self.post_message(OpenPlan(expand_user(path)))
            except PPipeError as exc:
                self.post_message(ShowError("Open plan", str(exc)))

        self.app.push_screen(InputDialog("Open plan", "Plan file (ppipe or PPipe-artifact JSON):",
                                         str(self.session.plan_dir) + "/"), done)

    def action_rename(self) -> None:
        p = self.current_file()
        if p is None:
            return

        def done(name: str | None) -> None:
            if not name or rename_problem(name):
                return
            target = p.with_name(name if name.endswith(".json") else name + ".json")
            if target.exists() or target.is_symlink():
                self.post_message(ShowError("Rename", f"{target.name} exists already"))
                return
            try:
                p.rename(target)
            except (OSError, ValueError) as exc:
                self.post_message(ShowError("Rename", f"cannot rename {p.name}: {exc}"))
                return
            cur = self.session.current
            if cur is not None and cur.path == p:
                cur.path = target
            self.notify(f"renamed to {target.name}")
            self.reload(select=target)

        self.app.push_screen(InputDialog("Rename plan", f"New name for {p.name} (in the same folder):", p.name,
                                         check=rename_problem), done)

    def action_delete(self) -> None:
        p = self.current_file()
        if p is None:
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            try:
                p.unlink()
            except OSError as exc:
                self.post_message(ShowError("Delete", f"cannot delete {p.name}: {exc.strerror or exc}"))
                return
            self.notify(f"deleted {p.name}")
            self.reload()

        self.app.push_screen(ConfirmDialog("Delete plan", f"Delete {p.name}?\nThis cannot be undone.", "Delete"),
                             done)

    def action_export(self) -> None:
        p = self.current_file()
        if p is None:
            return

        def done(dest: str | None) -> None:
            if not dest:
                return
            try:
                out = export_plan(p, expand_user(dest))
            except (OSError, PPipeError) as exc:
                self.post_message(ShowError("Export", str(exc)))
                return
            self.notify(f"exported to {out}")
            self.reload()

        self.app.push_screen(InputDialog("Export plan", "Export to (.json: the plan, .csv: one row per partition):",
                                         str(p.with_suffix(".csv"))), done)


def export_plan(src: Path, dest: Path) -> Path:
    plan = load_plan(src)
    if dest.is_dir():
        dest = dest / src.name
    if dest.suffix.lower() == ".csv":
        rows = summary_rows(plan)
        buf = io.StringIO()
        cols = list(rows[0]) if rows else ["model"]
        w = csv.DictWriter(buf, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: (chunk_range(v[0], v[1]) if k == "chunks" else plain_number(v)) for k, v in r.items()})
        return Path(write_text_atomic(dest, buf.getvalue()))
    return Path(write_plan(plan, dest))
