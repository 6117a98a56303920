"""F4 Plan: the plan as a tree, details of the highlighted node, GPU use per type."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.widgets import Static, Tree

from ppipe_tui.messages import FillPlan, SavePlan, SimulateModel
from ppipe_tui.screens.base import Command, PPipeScreen
from ppipe_tui.state import idle_reason
from ppipe_tui.widgets.plan import GpuUseTable, NodeRef, PlanTree, details


class PlanScreen(PPipeScreen):
    BINDINGS = [
        Binding("ctrl+s", "save_plan", "Save"),
        Binding("s", "simulate", "Simulate"),
        Binding("f", "fill", "Fill idle"),
    ]
    PALETTE = (
        Command("Save plan (Ctrl+S)", "Write the current plan to a file", "save_plan"),
        Command("Simulate the highlighted model (S)", "Start simulating this model on F5", "simulate"),
        Command("Fill idle GPUs (F on F4)", "Solve again, giving GPUs the max-min optimum leaves idle to the models",
                "fill"),
    )

    def compose_body(self) -> ComposeResult:
        yield Static("", id="plan-banner", markup=False)
        yield Static("", id="plan-idle", markup=False)
        with Container(id="plan-body"):
            yield PlanTree("plan", id="plan-tree")
            with Vertical(id="plan-side"):
                with VerticalScroll(id="plan-details-box", can_focus=True) as box:
                    box.border_title = "Details"
                    yield Static("", id="plan-details", markup=False)
                yield GpuUseTable(id="gpu-use", cursor_type="none", show_cursor=False)

    def on_mount(self) -> None:
        self._shown = None
        self.query_one("#gpu-use").border_title = "GPU use"
        self.refresh_view()
        self.query_one(PlanTree).focus()

    def refresh_view(self) -> None:
        if not self.query("#plan-details"):  # being taken down (the app closing as it opens)
            return
        entry = self.session.current
        key = (id(entry), entry.title if entry is not None else None)
        if key != self._shown:
            self._shown = key
            tree = self.query_one(PlanTree)
            tree.show(entry)
            tree.move_cursor(tree.root)
            self.query_one(GpuUseTable).show(entry)
            self._show_details(NodeRef("plan"))
            self._show_banner(entry)
            self._show_idle(entry)

    def _show_banner(self, entry) -> None:
        """The plan's disagreements with the current profiles (checked when it was opened)."""
        banner = self.query_one("#plan-banner", Static)
        warns = list(entry.warnings) if entry is not None else []
        banner.display = bool(warns)
        if warns:
            more = f"\n... and {len(warns) - 3} more" if len(warns) > 3 else ""
            banner.update(f"! This plan does not match the current profiles ({len(warns)} problem(s)); "
                          "simulating it may drop requests:\n" + "\n".join(f"- {w}" for w in warns[:3]) + more)

    def _show_idle(self, entry) -> None:
        """One line: the GPUs the plan leaves idle, and why."""
        line = self.query_one("#plan-idle", Static)
        text = idle_reason(entry, self.session.store) if entry is not None else None
        line.display = bool(text)
        if text:
            line.update(text)

    def _show_details(self, ref: NodeRef | None) -> None:
        box = self.query_one("#plan-details-box")
        width = (box.size.width or 60) - 2
        self.query_one("#plan-details", Static).update(details(self.session.current, ref, width))

    @on(Tree.NodeHighlighted, "#plan-tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        self._show_details(event.node.data or NodeRef("plan"))

    def highlighted_model(self) -> int:
        node = self.query_one(PlanTree).cursor_node
        ref = node.data if node is not None else None
        return max(ref.model, 0) if ref is not None else 0

    def action_save_plan(self) -> None:
        self.post_message(SavePlan())

    def action_simulate(self) -> None:
        if self.session.current is None:
            self.notify("No plan yet: solve one (F2) or open a saved plan (F7).", severity="warning")
            return
        self.post_message(SimulateModel(self.highlighted_model(), start=True))

    def action_fill(self) -> None:
        self.post_message(FillPlan())
