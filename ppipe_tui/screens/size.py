"""F8 Size: the cheapest GPUs to add (or fleet to build) so every model serves its target rate.

Targets (rates per model, or weights and a total), the GPUs owned and those that may be
bought at catalog (or typed) prices, a headroom. Ctrl+R sizes with PPipe, NP and NP on
the cheapest single type side by side; Ctrl+T draws cost against load; Escape cancels.
Enter on a result opens that fleet's plan on F4. The planner settings (max partitions,
SLO, network, MPS) are the set-up's (F2).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Label, Select, Static

from ppipe.errors import PPipeError
from ppipe_tui.formatting import elapsed, num, rate, shorten
from ppipe_tui.messages import ShowError, ShowPlan, SizeDone, SizePointReady, SizeProgress
from ppipe_tui.screens.base import Command, PPipeScreen
from ppipe_tui.sizing import (
    SIZE_SCHEDULERS,
    SizeForm,
    SizeRun,
    buy_text,
    fleet_text,
    margin_text,
    run_size,
    run_size_sweep,
    saving_text,
    size_label,
    sized_entry,
    validate_size,
)
from ppipe_tui.state import gpu_key_parts
from ppipe_tui.widgets.common import Field, set_text
from ppipe_tui.widgets.size import SizeChart, SizeGpuGrid, chart_key

FIELDS = (
    # key, label, placeholder (what empty means; never a value), width
    ("models", "Models", "(empty: the set-up's ticked models)", "1fr"),
    ("rates", "Rates req/s", "(one per model; or Total)", "1fr"),
    ("weights", "Weights", "(with Total; empty: equal)", "1fr"),
    ("total", "Total req/s", "(with Weights)", "1fr"),
    ("headroom", "Headroom", "(empty: none)", "1fr"),
    ("sweep", "Sweep x load", "(like 0.5:2:0.25)", "1fr"),
    ("time_limit", "Time limit s", "(empty: none)", "1fr"),
)


class SizeTable(DataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Open")]


class SizeScreen(PPipeScreen):
    BINDINGS = [
        Binding("ctrl+r", "size", "Size"),
        Binding("ctrl+t", "sweep", "Cost/load"),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+o", "toggle_view", "Form/results"),
    ]
    PALETTE = (
        Command("Size the fleet (Ctrl+R on F8)", "Cheapest GPUs to add for the targets: PPipe, NP, NP one type",
                "size"),
        Command("Cost against load (Ctrl+T on F8)", "Size at each load factor of the sweep, one line per scheduler",
                "sweep"),
        Command("Cancel sizing (Escape on F8)", "", "cancel"),
        Command("Open the sized plan (Enter on F8)", "Show the highlighted scheduler's plan on F4", "open_plan"),
        Command("Form or results (Ctrl+O on F8)", "On a small terminal the results replace the form", "toggle_view"),
    )

    @property
    def form(self) -> SizeForm:
        s = self.session
        if getattr(s, "size_form", None) is None:
            s.size_form = SizeForm.default(s.catalog)
        return s.size_form

    def compose_body(self) -> ComposeResult:
        form = self.form
        with Container(id="size-body"):
            with VerticalScroll(id="size-form"):
                with Vertical(id="size-targets") as box:
                    box.border_title = "Targets"
                    for key, label, ph, width in FIELDS:
                        yield Field(label, key, form.field_value(key), ph, width, inline_errors=False,
                                    id=f"size-field-{key}")
                    with Horizontal(classes="field"):
                        yield Label("Cost of", classes="field-label")
                        yield Select([("the GPUs to add", "added"), ("the whole fleet (list prices)", "fleet")],
                                     value=form.cost_of, allow_blank=False, compact=True, id="size-cost-of")
                yield SizeGpuGrid(form.gpus, self.session.catalog, id="size-gpus")
                yield Static("", id="size-source", markup=False)
                yield Static("", id="size-problems", markup=False)
            with Vertical(id="size-out"):
                yield Static("", id="size-status", markup=False)
                yield SizeTable(id="size-table", cursor_type="row")
                yield SizeChart("$/h against load (x the targets)", chart_key(), id="size-chart")
                yield DataTable(id="size-sweep", cursor_type="none", show_cursor=False)

    def on_mount(self) -> None:
        #: the last sizing (the table) and the last cost-versus-load sweep (the chart)
        self.size_run: SizeRun | None = None
        self.sweep_run: SizeRun | None = None
        self.request = None
        self.errors: dict[str, str] = {}
        self.notes: list[str] = []
        t = self.query_one(SizeTable)
        for label, key, width in (("scheduler", "s", 9), ("$/h", "c", 9), ("adds", "b", 12),
                                  ("fleet", "f", 11), ("margin", "m", 6), ("saves", "v", 5)):
            t.add_column(label, key=key, width=width)
        sw = self.query_one("#size-sweep", DataTable)
        sw.add_column("load x", width=6)
        sw.add_column("req/s", width=9)
        for s in SIZE_SCHEDULERS:
            sw.add_column(f"{size_label(s)} $/h", width=max(len(size_label(s)) + 4, 9))
        sw.display = False
        self.set_interval(0.25, self._tick)
        self.models_loaded()
        self.query_one(f"#{Field.input_id('models')}").focus()

    # ------------------------------------------------------------- session
    def refresh_view(self) -> None:
        self.revalidate()

    def models_loaded(self) -> None:
        models = self.session.models
        types = None
        if models:
            types = {g for m in models for g in m.gpus} or None
        self.query_one(SizeGpuGrid).show_types(types)
        self.revalidate()

    # ------------------------------------------------------------- changes
    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        key = getattr(event.input, "field_key", None)
        if key is None or self.form.field_value(key) == event.value:
            return
        self.form.set_field(key, event.value)
        if key.startswith("gpu.") and key.endswith(".price"):
            self.query_one(SizeGpuGrid).refresh_source(gpu_key_parts(key)[0])
        self.revalidate()

    @on(Select.Changed, "#size-cost-of")
    def _cost_of(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.form.cost_of = str(event.value)
            self.revalidate()

    def on_descendant_focus(self, event) -> None:
        """The focused GPU row's price source, whole."""
        key = getattr(event.widget, "field_key", None) or ""
        src = self.query_one("#size-source", Static)
        if key.startswith("gpu."):
            g = gpu_key_parts(key)[0]
            grid = self.query_one(SizeGpuGrid)
            price = self.form.gpus[g].price.strip()
            set_text(src, f"{g}: " + (f"${price}/h, {grid.source(g)}" if price else grid.source(g)))
            src.display = True
        else:
            src.display = False

    # ---------------------------------------------------------- validation
    def revalidate(self) -> dict[str, str]:
        req, errors, notes = validate_size(self.form, self.session.form, self.session.store, self.session.catalog)
        self.request, self.errors, self.notes = req, errors, notes
        for key, *_ in FIELDS:
            msg = errors.get(key)
            self.query_one(f"#size-field-{key}", Field).set_error(msg)
        self.query_one(SizeGpuGrid).set_errors(errors)
        lines = [f"! {m}" for m in errors.values()] + [f"note: {m}" for m in notes]
        box = self.query_one("#size-problems", Static)
        set_text(box, "\n".join(lines))
        box.display = bool(lines)
        self._status()
        return errors

    # ------------------------------------------------------------- actions
    @property
    def run(self) -> SizeRun | None:
        """The running job, else the latest one."""
        runs = [r for r in (self.size_run, self.sweep_run) if r is not None]
        running = [r for r in runs if not r.finished]
        if running:
            return running[0]
        return max(runs, key=lambda r: r.id) if runs else None

    def _start(self, kind: str) -> None:
        if self.run is not None and not self.run.finished:
            self.notify("A sizing is running: Escape cancels it.", severity="warning")
            return
        errors = self.revalidate()
        if errors or self.request is None:
            self.show_results(False)
            first = next(iter(errors.values()), "the form is incomplete")
            self.notify(f"{len(errors)} problem(s); first: {first}", severity="error", title="Cannot size")
            return
        run = SizeRun(kind, self.request)
        if kind == "size":
            self.size_run = run
        else:
            self.sweep_run = run
        sw = self.query_one("#size-sweep", DataTable)
        if kind == "sweep":
            sw.clear()
            sw.display = True
            self.query_one(SizeChart).draw([])
        else:
            self._fill_table()
        self._status()
        self.show_results(True)
        target = self._size_job if kind == "size" else self._sweep_job
        self.session.start_job(f"size {kind}", target, run, cancel=run.cancel, on_error=self._job_failed)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "toggle_view":
            return self.narrow  # below 81 columns the form and the results take turns
        return True

    def on_resize(self) -> None:
        self.refresh_bindings()

    def show_results(self, show: bool = True) -> None:
        """Below 81 columns: the results (True) or the form (False) fill the screen."""
        self.set_class(show, "-show-out")
        if not show and not self.query_one("#size-form").has_focus_within:
            self.query_one(f"#{Field.input_id('models')}").focus()
        elif show and self.narrow:
            self.query_one(SizeTable).focus()

    def action_toggle_view(self) -> None:
        self.show_results(not self.has_class("-show-out"))

    def action_size(self) -> None:
        self._start("size")

    def action_sweep(self) -> None:
        self._start("sweep")

    def action_cancel(self) -> None:
        run = self.run
        if run is None or run.finished:
            self.notify("Nothing is being sized.")
            return
        run.cancel.set()
        self._status()

    def _job_failed(self, message: str, log: str) -> None:
        """On the job's thread: an unexpected error (the job's own errors come as SizeDone)."""
        run = self.run
        self.post_message(SizeDone(run.id if run is not None else -1, error=f"{message} (details: {log})"))

    # ---------------------------------------------------- on the job thread
    def _size_job(self, run: SizeRun) -> None:
        progress = self._progress(run)
        try:
            comparison = run_size(run.request, run.cancel, progress)
        except PPipeError as exc:
            self.post_message(SizeDone(run.id, error=str(exc)))
            return
        self.post_message(SizeDone(run.id, comparison=comparison))

    def _sweep_job(self, run: SizeRun) -> None:
        progress = self._progress(run)
        try:
            run_size_sweep(run.request, run.cancel, progress, lambda p: self.post_message(SizePointReady(run.id, p)))
        except PPipeError as exc:
            self.post_message(SizeDone(run.id, error=str(exc)))
            return
        self.post_message(SizeDone(run.id))

    def _progress(self, run: SizeRun):
        def cb(p) -> None:
            self.post_message(SizeProgress(run.id, p))
        return cb

    # ------------------------------------------------------ on the UI thread
    def _run_of(self, run_id: int) -> SizeRun | None:
        for r in (self.size_run, self.sweep_run):
            if r is not None and r.id == run_id:
                return r
        return None

    @on(SizeProgress)
    def _on_progress(self, message: SizeProgress) -> None:
        run = self._run_of(message.run_id)
        if run is None or run.finished:
            return
        run.add_progress(message.progress)
        self._status()

    @on(SizePointReady)
    def _on_point(self, message: SizePointReady) -> None:
        run = self._run_of(message.run_id)
        if run is None:
            return
        run.points.append(message.point)
        self.query_one(SizeChart).draw(run.points)
        self._fill_sweep(run)
        self._status()

    @on(SizeDone)
    def _on_done(self, message: SizeDone) -> None:
        run = self._run_of(message.run_id) if message.run_id >= 0 else self.run
        if run is None or run.finished:
            return
        run.finished = True
        run.error = message.error
        run.comparison = message.comparison
        run.elapsed = max(run.elapsed, 0.0)
        self._fill_table()
        self._status()
        if run.error:
            self.post_message(ShowError("Sizing failed", run.error))
            return
        if run.kind == "size" and run.comparison is not None:
            main = run.comparison.results.get("ppipe")
            entry = sized_entry(run.request, main, self.session.store) if main is not None else None
            if entry is not None:
                self.session.set_current(entry)
                self.notify(f"PPipe: ${main.cost:,.2f}/h, adds {buy_text(main.buy)}. Its plan is on F4; Enter "
                            "opens the highlighted scheduler's.", title="Sized", timeout=8)
            elif main is not None:
                self.notify(f"PPipe: {main.status}. {main.message}", severity="warning", timeout=8)

    def _tick(self) -> None:
        run = self.run
        if run is not None and not run.finished and self.is_current:
            import time

            run.elapsed = time.perf_counter() - run.started
            self._status()

    # ------------------------------------------------------------- drawing
    def _status(self) -> None:
        st = self.query_one("#size-status", Static)
        run = self.run
        req = self.request
        if run is not None and not run.finished:
            what = "sizing" if run.kind == "size" else f"cost vs load ({len(run.points)}/{len(run.request.factors)})"
            state = "cancelling" if run.cancel.is_set() else what
            set_text(st, f"{state} {elapsed(run.elapsed)}: {run.message}  (Escape cancels)")
            return
        if run is not None and run.finished and run.error:
            set_text(st, f"failed: {shorten(run.error, 200)}")
            return
        if run is not None and run.finished and run.kind == "size" and run.comparison is not None:
            res = run.comparison.results
            main = res.get("ppipe")
            parts = []
            for s in SIZE_SCHEDULERS:
                r = res.get(s)
                if r is not None:
                    parts.append(f"{size_label(s)} {'$' + num(r.cost) + '/h' if r.cost is not None else r.status}")
            head = "cancelled" if run.cancel.is_set() else "sized"
            star = any(r.cost is not None and str(r.status) != "optimal" for r in res.values())
            tail = " (* not proven cheapest)" if star else ""
            tail += "; Enter opens a fleet's plan on F4" if main is not None and main.plan is not None else ""
            set_text(st, f"{head}: {', '.join(parts)}{tail}. margin: planned req/s over target x (1 + headroom).")
            return
        if run is not None and run.finished and run.kind == "sweep":
            head = "cancelled" if run.cancel.is_set() else "done"
            set_text(st, f"{head}: cost vs load, {len(run.points)} of {len(run.request.factors)} load factors.")
            return
        if req is None:
            set_text(st, "Fill in the targets and GPUs; problems are listed under the form.")
            return
        sp = req.problem
        targets = ", ".join(f"{shorten(n, 16)} {rate(t)}" for n, t in zip(sp.names, sp.targets))
        h = sp.headroom[0] if len(set(sp.headroom)) == 1 else None
        head = f" +{100 * h:g}% headroom" if h else ("" if h is not None else " + headroom per model")
        set_text(st, f"ready: {targets}{head}; P={sp.max_parts}, SLO x{sp.slo_multiplier:g} from F2. "
                     "Ctrl+R sizes (PPipe, NP, NP 1 type), Ctrl+T: cost vs load.")

    def _fill_table(self) -> None:
        t = self.query_one(SizeTable)
        cursor = t.cursor_row
        t.clear()
        run = self.size_run
        if run is None:
            return
        res = run.comparison.results if run.comparison is not None else {}
        main = res.get("ppipe")
        for s in SIZE_SCHEDULERS:
            r = res.get(s)
            if r is None:
                t.add_row(size_label(s), "..." if not run.finished else "-", "", "", "", "", key=s)
                continue
            cost = num(r.cost) if r.cost is not None else str(r.status)
            if r.cost is not None and str(r.status) != "optimal":
                cost += "*"  # not proven cheapest (time limit, cancelled)
            t.add_row(size_label(s), cost, buy_text(r.buy) if r.cost is not None else "-",
                      fleet_text(r.fleet) if r.cost is not None else "-", margin_text(r.margin),
                      "" if s == "ppipe" else saving_text(main, r), key=s)
        t.move_cursor(row=min(max(cursor, 0), len(SIZE_SCHEDULERS) - 1))

    def _fill_sweep(self, run: SizeRun) -> None:
        sw = self.query_one("#size-sweep", DataTable)
        sw.clear()
        for p in run.points:
            cells = []
            for s in SIZE_SCHEDULERS:
                r = p.results.get(s)
                cells.append(num(r.cost) if r is not None and r.cost is not None else
                             ("-" if r is None else str(r.status)))
            sw.add_row(f"{p.factor:g}", rate(p.total_rate, ""), *cells)

    # ----------------------------------------------------------- open plan
    @on(DataTable.RowSelected, "#size-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._open(str(event.row_key.value))

    def action_open_plan(self) -> None:
        t = self.query_one(SizeTable)
        if 0 <= t.cursor_row < len(SIZE_SCHEDULERS):
            self._open(SIZE_SCHEDULERS[t.cursor_row])

    def _open(self, scheduler: str) -> None:
        run = self.size_run
        res = run.comparison.results.get(scheduler) if run is not None and run.comparison is not None else None
        entry = sized_entry(run.request, res, self.session.store) if res is not None else None
        if entry is None:
            self.notify(f"{size_label(scheduler)} has no plan{': ' + res.message if res is not None and res.message else ''}.",
                        severity="warning")
            return
        self.post_message(ShowPlan(entry))
