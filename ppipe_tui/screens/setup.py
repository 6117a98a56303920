"""F2 Set-up: models, GPU mix, settings; Ctrl+R solves, Ctrl+T compares schedulers."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select

from ppipe import schedulers
from ppipe.planning.request import default_weights, parse_weights
from ppipe_tui.messages import StartSolve
from ppipe_tui.screens.base import Command, PPipeScreen
from ppipe_tui.state import gpu_key_parts, solver_names, validate
from ppipe_tui.widgets.common import Field
from ppipe_tui.widgets.setup import GpuMix, ModelPicker, gpu_input_id, preset_select

FIELDS = (
    # key, label, placeholder, width
    # placeholders say what an empty field means; they never look like a value
    ("weights", "Weights", "(empty: equal; or maf19)", 25),
    ("slo_multiplier", "SLO x base", "(needed)", 6),
    ("slo_discount", "SLO discount", "(needed)", 6),
    ("max_parts", "Max partitions", "(1-4)", 4),
    ("bw", "Network Gb/s", "(empty: from GPUs)", 8),
    ("time_limit", "Time limit s", "(empty: none)", 8),
)


class SetupScreen(PPipeScreen):
    BINDINGS = [
        Binding("ctrl+r", "solve", "Solve"),
        Binding("ctrl+t", "compare", "Compare"),
        Binding("ctrl+n", "add_gpu", "Add GPU type"),
        Binding("slash", "focus_search", "Search", show=False, priority=True),
    ]
    PALETTE = (
        Command("Solve (Ctrl+R)", "Plan the set-up with the chosen scheduler", "solve"),
        Command("Compare NP, DART-r and PPipe (Ctrl+T)", "Solve the set-up with all three side by side", "compare"),
        Command("Add a GPU type (Ctrl+N)", "A type the catalog lacks, with the profiles that have its latencies",
                "add_gpu"),
    )

    def compose_body(self) -> ComposeResult:
        form = self.session.form
        with Container(id="setup-body"):
            yield ModelPicker(form.models, id="models-pane")
            with Vertical(id="form-pane"):
                with Vertical(id="settings") as settings:
                    settings.border_title = "Settings"
                    with Horizontal(classes="field"):
                        yield Label("Cluster", classes="field-label")
                        yield preset_select(form.preset)
                    for key, label, ph, width in FIELDS:
                        yield Field(label, key, form.field_value(key), ph, width, id=f"field-{key}")
                    with Horizontal(classes="field"):
                        yield Label("Scheduler", classes="field-label")
                        yield Select([(f"{s.label} ({s.name})", s.name) for s in schedulers.ordered()], value=form.scheduler,
                                     allow_blank=False, compact=True, id="scheduler")
                    with Horizontal(classes="field"):
                        yield Label("Solver", classes="field-label")
                        yield Select([(s, s) for s in solver_names()], value=form.solver, allow_blank=False, compact=True,
                                     id="solver")
                yield GpuMix(form.gpus, form.preset, id="gpu-mix")
                with Horizontal(id="setup-buttons"):
                    yield Button("Solve ^R", id="btn-solve", compact=True, variant="primary")
                    yield Button("Compare NP/DART-r/PPipe ^T", id="btn-compare", compact=True)

    def on_mount(self) -> None:
        self.query_one("#model-search").focus()
        if self.session.models is not None:
            self.models_loaded()
        self.revalidate()

    def on_key(self, event) -> None:
        """A key that reached the screen with nothing focused (typed as it first paints):
        it belongs in the model search."""
        if self.app.focused is None and event.character and event.is_printable:
            event.stop()
            search = self.query_one("#model-search", Input)
            search.focus()
            search.value += event.character
            search.cursor_position = len(search.value)

    def action_focus_search(self) -> None:
        """``/`` (and F2 on this screen): the model search, wherever the focus was."""
        self.query_one("#model-search").focus()

    def models_loaded(self) -> None:
        picker = self.query_one(ModelPicker)
        picker.set_models(self.session.models or [], self.session.store.group_list())
        self.revalidate()

    def refresh_view(self) -> None:
        form = self.session.form
        picker = self.query_one(ModelPicker)
        if picker.chosen != form.models:
            picker.chosen = list(form.models)
            picker._rebuild()
        self.revalidate()

    # ------------------------------------------------------------ changes
    @on(ModelPicker.Changed)
    def _models_changed(self, event: ModelPicker.Changed) -> None:
        form = self.session.form
        form.models = list(event.models)
        # a paper group gets the paper's weights unless some were typed (as `ppipe solve --group` does)
        weights = default_weights(event.group, len(form.models), form.weights.strip() or None)
        if weights is not None and not form.weights.strip():
            form.weights = weights
            w = self.query_one("#field-weights", Field).input
            with w.prevent(Input.Changed):
                w.value = weights
            values = ", ".join(f"{w:.2f}" for w in parse_weights(weights, len(form.models)))
            self.notify(f"weights set to {weights.upper()} ({values}) for the group", timeout=4)
        self.revalidate()

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        inp = event.input
        key = getattr(inp, "field_key", None)
        if key is None and inp.id and inp.id.startswith("gpu-"):
            for g in self.session.form.gpus:
                for what in ("count", "mps", "server"):
                    if inp.id == gpu_input_id(g, what):
                        key = f"gpu.{g}.{what}"
        if key is None or self.session.form.field_value(key) == event.value:
            return
        self.session.form.set_field(key, event.value)
        if key.startswith("gpu.") and self.session.form.preset != "custom":
            self.session.form.preset = "custom"
            sel = self.query_one("#preset", Select)
            with sel.prevent(Select.Changed):
                sel.value = "custom"
        self.revalidate()

    @on(Select.Changed, "#preset")
    def _preset(self, event: Select.Changed) -> None:
        form = self.session.form
        if event.value == "custom" or event.value is Select.NULL:
            form.preset = "custom"
            return
        form.apply_preset(str(event.value), self.session.catalog)
        self.query_one(GpuMix).load(form.gpus)
        bw = self.query_one("#field-bw", Field).input
        with bw.prevent(Input.Changed):
            bw.value = form.bw
        self.revalidate()

    @on(Select.Changed, "#scheduler")
    def _scheduler(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.session.form.scheduler = str(event.value)

    @on(Select.Changed, "#solver")
    def _solver(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.session.form.solver = str(event.value)

    def action_solve(self) -> None:
        self.post_message(StartSolve())

    def action_add_gpu(self) -> None:
        """A GPU type the catalog lacks: its row joins the GPU mix, its profiles the store."""
        from ppipe_tui.screens.dialogs import AddGpuTypeDialog

        def added(message: str | None) -> None:
            if not message:
                return
            form = self.session.form
            mix = self.query_one(GpuMix)
            for g, row in form.gpus.items():
                if not mix.query(f"#{gpu_input_id(g, 'count')}"):
                    mix.add_row(g, row)
                    # its count next: focusing the cell scrolls the new row into view
                    self.call_after_refresh(lambda g=g: self.query_one(f"#{gpu_input_id(g, 'count')}").focus())
            self.app.reload_models()
            self.notify(message, timeout=8)
            self.revalidate()

        self.app.push_screen(AddGpuTypeDialog(self.session.catalog.names(), self.session.add_gpu_type), added)

    def action_compare(self) -> None:
        self.post_message(StartSolve(compare=True))

    @on(Button.Pressed, "#btn-solve")
    def _solve_pressed(self) -> None:
        self.action_solve()

    @on(Button.Pressed, "#btn-compare")
    def _compare_pressed(self) -> None:
        self.action_compare()

    # ---------------------------------------------------------- validation
    def revalidate(self) -> dict[str, str]:
        form = self.session.form
        _, errors = validate(form, self.session.store, self.session.catalog)
        picker = self.query_one(ModelPicker)
        picker.set_error(errors.get("models"))
        try:
            picker.set_multiplier(float(form.slo_multiplier))
        except ValueError:
            pass
        for key, *_ in FIELDS:
            self.query_one(f"#field-{key}", Field).set_error(errors.get(key))
        self.query_one(GpuMix).set_errors(errors)
        return errors

    def focus_first_error(self, errors: dict[str, str]) -> None:
        for key in errors:
            try:
                if key == "models":
                    self.query_one("#model-search").focus()
                elif key == "gpus":
                    self.query_one("#preset").focus()
                elif key.startswith("gpu."):
                    g, what = gpu_key_parts(key)
                    self.query_one(f"#{gpu_input_id(g, what)}").focus()
                else:
                    self.query_one(f"#field-{key}", Field).input.focus()
                return
            except Exception:
                continue
