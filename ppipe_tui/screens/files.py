"""F7 Saved plans: browse a folder of plan files; open, rename, delete, export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Static

from ppipe.atomic import write_text_atomic
from ppipe.errors import PPipeError
from ppipe.planfile.plan import read_plan, summary_rows, write_plan
from ppipe_tui.formatting import chunk_range, plain_number, rate, shorten
from ppipe_tui.messages import OpenPlan, ShowError
from ppipe_tui.screens.base import Command, PPipeScreen
from ppipe_tui.screens.dialogs import ConfirmDialog, InputDialog
from ppipe_tui.state import plan_file_info, rename_problem, scheduler_label


class PlanFiles(DataTable):
    BINDINGS = [
        Binding("enter", "screen.open_plan", "Open"),
        Binding("r", "screen.rename", "Rename"),
        Binding("d,delete", "screen.delete", "Delete", key_display="d"),
        Binding("x", "screen.export", "Export"),
    ]


class FilesScreen(PPipeScreen):
    BINDINGS = [Binding("ctrl+o", "focus_folder", "Folder")]
    PALETTE = (
        Command("Open plan file", "Read a plan (ppipe or PPipe-artifact JSON) from a path", "open_path"),
        Command("Rename plan file (R on F7)", "", "rename"),
        Command("Delete plan file (D on F7)", "", "delete"),
        Command("Export plan file (X on F7)", "", "export"),
    )

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="files-top"):
            yield Label("Folder", classes="ctl-label")
            yield Input(str(self.session.plan_dir), id="files-dir", compact=True)
        yield PlanFiles(id="files-table", cursor_type="row")
        yield Static("", id="files-preview", markup=False)

    def on_mount(self) -> None:
        self.folder = Path(self.session.plan_dir)
        self.files: list[Path] = []
        self.query_one("#files-preview").border_title = "Preview"
        self.reload()
        self.query_one(PlanFiles).focus()

    def refresh_view(self) -> None:
        self.reload()

    def reload(self, select: Path | None = None) -> None:
        t = self.query_one(PlanFiles)
        row = t.cursor_row
        t.clear(columns=True)
        width = max(t.size.width or self.app.size.width, 40)
        name_w = max(width - 36, 20)
        t.add_column("plan file", width=name_w, key="name")
        t.add_column("models", key="models")
        t.add_column("scheduler", key="sched")
        t.add_column("GPUs", key="gpus")
        self.files = []
        if not self.folder.is_dir():
            self.query_one("#files-preview", Static).update(
                f"{self.folder}: no such folder yet (plans are saved here with Ctrl+S on the plan screen)")
            return
        for p in sorted(self.folder.glob("*.json")):
            try:
                plan = read_plan(p)
                models = str(len(plan.models))
            except PPipeError:
                plan, models = None, "bad"
            info = plan_file_info(p, plan)
            sched = scheduler_label(info["scheduler"]) if info["scheduler"] else "-"
            gpus = ",".join(f"{g}:{c}" for g, c in info["limits"].items()) if info["limits"] else "-"
            self.files.append(p)
            t.add_row(shorten(p.name, name_w), models, sched, shorten(gpus, 14), key=str(p))
        if not self.files:
            self.query_one("#files-preview", Static).update(f"{self.folder}: no plan files (*.json)")
            return
        target = 0
        if select is not None and select in self.files:
            target = self.files.index(select)
        elif 0 <= row < len(self.files):
            target = row
        t.move_cursor(row=target)
        self._preview(target)

    def current_file(self) -> Path | None:
        t = self.query_one(PlanFiles)
        if not self.files or t.cursor_row < 0 or t.cursor_row >= len(self.files):
            return None
        return self.files[t.cursor_row]

    @on(DataTable.RowHighlighted, "#files-table")
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        self._preview(event.cursor_row)

    def _preview(self, row: int) -> None:
        pv = self.query_one("#files-preview", Static)
        if not 0 <= row < len(self.files):
            return
        p = self.files[row]
        try:
            plan = read_plan(p)
        except PPipeError as exc:
            pv.update(f"{p.name}\ncannot be read: {exc}")
            return
        lines = [p.name]
        for m in plan.models:
            lines.append(f"- {m.name}: {rate(m.xput)}, {len(m.pipelines)} pipeline(s), "
                         + " ".join(f"{g}:{v:g}" for g, v in m.gpus_used().items()))
        pv.update("\n".join(lines))

    @on(Input.Submitted, "#files-dir")
    def _folder(self, event: Input.Submitted) -> None:
        self.folder = Path(event.value).expanduser()
        self.reload()
        self.query_one(PlanFiles).focus()

    def action_focus_folder(self) -> None:
        self.query_one("#files-dir").focus()

    def action_open_plan(self) -> None:
        p = self.current_file()
        if p is not None:
            self.post_message(OpenPlan(p))

    def action_open_path(self) -> None:
        """Open a plan file by its path (any folder)."""

        def done(path: str | None) -> None:
            if path:
                self.post_message(OpenPlan(Path(path).expanduser()))

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
            if target.exists():
                self.post_message(ShowError("Rename", f"{target.name} exists already"))
                return
            try:
                p.rename(target)
            except (OSError, ValueError) as exc:
                self.post_message(ShowError("Rename", str(exc)))
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
                self.post_message(ShowError("Delete", str(exc)))
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
                out = export_plan(p, Path(dest).expanduser())
            except (OSError, PPipeError) as exc:
                self.post_message(ShowError("Export", str(exc)))
                return
            self.notify(f"exported to {out}")
            self.reload()

        self.app.push_screen(InputDialog("Export plan", "Export to (.json: the plan, .csv: one row per partition):",
                                         str(p.with_suffix(".csv"))), done)


def export_plan(src: Path, dest: Path) -> Path:
    plan = read_plan(src)
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
