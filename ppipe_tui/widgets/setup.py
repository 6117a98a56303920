"""Set-up screen areas: the model picker and the GPU mix."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from ppipe.planning.problem import CLUSTER_PRESETS, MODEL_GROUPS
from ppipe.planning.request import group_models
from ppipe_tui.formatting import shorten
from ppipe_tui.state import GpuFields, ModelInfo
from ppipe_tui.widgets.common import GridInput, css_id, set_text


def group_choices(names: set[str]) -> tuple[list[str], str]:
    """The paper's groups whose models all have profiles, and a line naming what the
    others lack (empty when every group is complete)."""
    complete, partial = [], []
    for g in MODEL_GROUPS:
        missing = [n for n in group_models(g) if n not in names]
        if not missing:
            complete.append(g)
        elif len(missing) < len(group_models(g)):
            partial.append(f"{g} lacks {', '.join(shorten(n, 24) for n in missing)}")
    if not complete and not partial:
        gs = list(MODEL_GROUPS)
        return [], (f"{gs[0]}-{gs[-1]}, the paper's model groups, come with the PPipe artifact: "
                    "set PPIPE_ARTIFACT to its folder (or --data DIR).")
    return complete, "; ".join(partial)


class SearchInput(Input):
    """The model search box. Up/Down move the list's highlight, Enter ticks it: picking
    models never needs a focus change (keys typed ahead cannot land in the wrong widget)."""

    BINDINGS = [
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("enter", "tick", "Tick", show=False),
        Binding("escape", "clear", "Clear search", show=False),
    ]

    def action_clear(self) -> None:
        self.value = ""

    def _list(self) -> "ModelList":
        return self.screen.query_one("#model-list", ModelList)

    def action_move(self, delta: int) -> None:
        lst = self._list()
        if delta > 0:
            lst.action_cursor_down()
        else:
            lst.action_cursor_up()

    def action_tick(self) -> None:
        """Tick the highlighted model; the search text goes, ready for the next model.
        Before the models have loaded, the tick waits for them (a key typed at the first
        paint is never lost)."""
        picker = self.screen.query_one(ModelPicker)
        if picker.models is None:
            picker.pending_tick = True
            return
        lst = self._list()
        opt = lst.highlighted_option
        lst.action_toggle()
        if opt is not None and not opt.disabled and opt.id:
            self.value = ""


class ModelList(OptionList):
    """Models with a text tick box ("[x]"), so the choice reads without colour."""

    BINDINGS = [Binding("space,enter", "toggle", "Tick", show=False)]

    class Toggled(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def action_toggle(self) -> None:
        opt = self.highlighted_option
        if opt is not None and not opt.disabled and opt.id:
            self.post_message(self.Toggled(opt.id))


class ModelPicker(Vertical):
    """Search as you type; tick models; base runtime and SLO on each line."""

    class Changed(Message):
        def __init__(self, models: list[str], group: str | None = None) -> None:
            super().__init__()
            self.models = models
            self.group = group

    def __init__(self, chosen: list[str], **kw) -> None:
        super().__init__(**kw)
        self.chosen: list[str] = list(chosen)
        self.models: list[ModelInfo] | None = None
        self.multiplier = 5.0
        #: Enter was pressed in the search before the models arrived: tick the best match then
        self.pending_tick = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="model-tools"):
            yield SearchInput(placeholder="type to search models", compact=True, id="model-search",
                              select_on_focus=False)
            yield Select([], prompt="group", compact=True, id="model-group", allow_blank=True)
        yield Label("", id="model-groups-note")
        yield Label("", id="model-header")
        yield ModelList(id="model-list")
        yield Label("", id="model-chosen")
        yield Label("", classes="field-error", id="err-models")

    def on_mount(self) -> None:
        self.border_title = "Models"
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild()

    def set_models(self, models: list[ModelInfo], groups: list[str]) -> None:
        self.models = models
        names = {m.name for m in models}
        sel = self.query_one("#model-group", Select)
        opts, note = group_choices(names)
        sel.set_options([(g, g) for g in opts])
        sel.display = bool(opts)
        lab = self.query_one("#model-groups-note", Label)
        set_text(lab, note)
        lab.display = bool(note)
        self._rebuild(top=self.pending_tick)
        if self.pending_tick:
            self.pending_tick = False
            self.query_one(SearchInput).action_tick()

    def set_multiplier(self, mult: float) -> None:
        if mult != self.multiplier:
            self.multiplier = mult
            self._rebuild()

    def _name_width(self) -> int:
        w = self.query_one("#model-list").size.width or 60
        return max(min(w - 25, 60), 12)

    def _rebuild(self, top: bool = False) -> None:
        lst = self.query_one("#model-list", ModelList)
        head = self.query_one("#model-header", Label)
        nw = self._name_width()
        set_text(head, f"    {'model':<{nw}} {'base ms':>8} {'SLO ms':>8}")
        if self.models is None:
            self._set_options(lst, [Option("loading profiles ...", disabled=True)])
            self._update_chosen()
            return
        query = self.query_one("#model-search", Input).value.strip().lower()
        opts = []
        for m in self._ranked(query):
            box = "[x]" if m.name in self.chosen else "[ ]"
            if m.error:
                text = f"{box} {shorten(m.name, nw):<{nw}} {'missing' if m.error == 'missing' else 'error':>8}"
            else:
                sla = m.sla_us(self.multiplier)
                est = "~" if m.estimated else " "
                text = f"{box} {shorten(m.name, nw):<{nw}} {m.runtime_us / 1000:>8.2f} {sla / 1000:>7.1f}{est}"
            opts.append(Option(Text(text), id=m.name, disabled=bool(m.error)))
        if not opts:
            opts = [Option(Text(f"no model matches {query!r}"), disabled=True)]
        self._set_options(lst, opts, top)
        self._update_chosen()

    def _ranked(self, query: str) -> list[ModelInfo]:
        """Models matching every word of ``query``: exact name first, then prefixes, then the rest."""
        if not query:
            return list(self.models or [])
        group = next((g for g in MODEL_GROUPS if g.lower() == query), None)
        if group is not None:  # "g1": the paper's model group
            by_name = {m.name: m for m in self.models or []}
            return [by_name.get(n) or ModelInfo(n, error="missing") for n in group_models(group)]
        words = query.split()
        hits = [m for m in self.models or [] if all(w in m.name.lower() for w in words)]
        return sorted(hits, key=lambda m: (m.name.lower() != query, not m.name.lower().startswith(query)))

    def _set_options(self, lst: ModelList, opts: list[Option], top: bool = False) -> None:
        hi = 0 if top else lst.highlighted
        lst.clear_options()
        lst.add_options(opts)
        if lst.option_count:
            lst.highlighted = min(hi or 0, lst.option_count - 1)

    def _update_chosen(self) -> None:
        lab = self.query_one("#model-chosen", Label)
        if not self.chosen:
            set_text(lab, "chosen: none (type, Up/Down, Enter ticks; ~ = estimated profile)")
        else:
            set_text(lab, f"chosen ({len(self.chosen)}): " + ", ".join(self.chosen))

    @on(Input.Changed, "#model-search")
    def _search(self, event: Input.Changed) -> None:
        event.stop()
        self._rebuild(top=True)

    @on(Select.Changed, "#model-group")
    def _group(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.NULL or not self.models:
            return
        names = {m.name for m in self.models}
        self.chosen = [n for n in group_models(str(event.value)) if n in names]
        self._rebuild()
        self.post_message(self.Changed(list(self.chosen), group=str(event.value)))

    @on(ModelList.Toggled)
    def _ticked(self, event: ModelList.Toggled) -> None:
        event.stop()
        if event.name in self.chosen:
            self.chosen.remove(event.name)
        else:
            self.chosen.append(event.name)
        self._rebuild()
        self.post_message(self.Changed(list(self.chosen)))

    def set_error(self, message: str | None) -> None:
        set_text(self.query_one("#err-models", Label), f"! {message}" if message else "")


def gpu_input_id(gpu: str, what: str) -> str:
    return f"gpu-{css_id(gpu)}-{what}"


def preset_select(preset: str) -> Select:
    opts = [(f"{n}  {spec.label()}  {spec.bw_gbps:g} Gb/s", n) for n, spec in CLUSTER_PRESETS.items()]
    opts.append(("custom (GPU mix below)", "custom"))
    return Select(opts, value=preset if preset in CLUSTER_PRESETS else "custom", allow_blank=False, compact=True,
                  id="preset")


#: (column, width) of the GPU mix: the count holds 100000 and the cursor
GPU_COLUMNS = (("count", 8), ("mps", 4), ("server", 8))


class GpuMix(Vertical):
    """One row per GPU type of the catalog: count, MPS levels, GPUs per server; a grid
    where Up / Down move between rows in a column (Tab along a row)."""

    def __init__(self, rows: dict[str, GpuFields], preset: str, **kw) -> None:
        super().__init__(**kw)
        self.rows = rows
        self.preset = preset

    def compose(self) -> ComposeResult:
        yield Label(f"{'GPU':<7}{'count':<9}{'MPS':<5}/server", classes="gpu-head")
        for g, row in self.rows.items():
            yield from self._row(g, row)
        yield Label("", classes="field-error", id="err-gpus")

    @staticmethod
    def _row(g: str, row: GpuFields):
        cells = [Label(f"{g:<6}", classes="gpu-name")]
        for what, width in GPU_COLUMNS:
            inp = GridInput(getattr(row, what), what, id=gpu_input_id(g, what), classes=f"gpu-{what}")
            inp.styles.width = width
            cells.append(inp)
        line = Horizontal(*cells, classes="gpu-row grid-row")
        # the row's problem, whole, on the line under it
        err = Label("", classes="field-error gpu-error", id=f"err-gpu-{css_id(g)}")
        err.display = False
        return [line, err]

    def add_row(self, g: str, row: GpuFields) -> None:
        """A row for a type added while the screen is up (Ctrl+N on the set-up)."""
        if g not in self.rows:
            self.rows[g] = row
        self.mount_all(self._row(g, row), before=self.query_one("#err-gpus"))

    def on_mount(self) -> None:
        self.border_title = "GPU mix"

    def load(self, rows: dict[str, GpuFields]) -> None:
        """Show new values (after a preset) without losing the rows."""
        self.rows = rows
        for g, row in rows.items():
            for what in ("count", "mps", "server"):
                try:
                    inp = self.query_one(f"#{gpu_input_id(g, what)}", Input)
                except Exception:
                    continue
                with inp.prevent(Input.Changed):
                    inp.value = getattr(row, what)

    def set_errors(self, errors: dict[str, str]) -> None:
        for g in self.rows:
            msgs = [errors[f"gpu.{g}.{w}"] for w in ("count", "mps", "server") if f"gpu.{g}.{w}" in errors]
            for w in ("count", "mps", "server"):
                try:
                    self.query_one(f"#{gpu_input_id(g, w)}", Input).set_class(f"gpu.{g}.{w}" in errors, "-invalid")
                except Exception:
                    pass
            try:
                err = self.query_one(f"#err-gpu-{css_id(g)}", Label)
                set_text(err, f"! {g} {msgs[0]}" if msgs else "")
                err.display = bool(msgs)
            except Exception:
                pass
        set_text(self.query_one("#err-gpus", Label), f"! {errors['gpus']}" if errors.get("gpus") else "")
