"""Plan screen areas: the model > pipeline > partition tree, node details, GPU use."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable, Tree

from ppipe.planfile.plan import ModelPlan, Partition, Pipeline
from ppipe_tui.formatting import bar, chunk_range, gpus, ms, pct, rate
from ppipe_tui.state import PlanEntry


@dataclass
class NodeRef:
    kind: str  # plan, model, pipeline, partition
    model: int = -1
    pipeline: int = -1
    partition: int = -1


class PlanTree(Tree[NodeRef]):
    def show(self, entry: PlanEntry | None) -> None:
        self.clear()
        if entry is None:
            self.root.set_label("no plan yet: solve one (F2) or open a saved plan (F7)")
            self.root.data = NodeRef("plan")
            return
        plan = entry.plan
        obj = f"objective {entry.objective:,.1f}  " if entry.objective is not None else ""
        self.root.set_label(Text(f"{obj}{entry.title}"))
        self.root.data = NodeRef("plan")
        for mi, m in enumerate(plan.models):
            used = " ".join(f"{g}:{gpus(v)}" for g, v in m.gpus_used().items()) or "no GPUs"
            mnode = self.root.add(Text(f"{m.name}  {rate(m.xput)}  SLO {ms(m.sla, 1)}  {used}"),
                                  data=NodeRef("model", mi), expand=True)
            for pi, pl in enumerate(m.pipelines):
                pnode = mnode.add(Text(f"p{pi} {'>'.join(pl.gpu_sequence)}  batch {pl.batch_size}  "
                                       f"{rate(pl.xput)}  latency {ms(pl.latency_us, 1)}"),
                                  data=NodeRef("pipeline", mi, pi), expand=True)
                for qi, part in enumerate(pl.partitions):
                    pnode.add_leaf(Text(partition_label(qi, part)), data=NodeRef("partition", mi, pi, qi))
        self.root.expand()


def pool_words(p: Partition) -> str:
    """The pool in plain words: "2 L4 GPUs, each split in 2 (MPS) = 4 workers"."""
    n = float(p.num_gpu)
    text = f"{gpus(n)} {p.gpu} GPU{'' if abs(n - 1) < 1e-9 else 's'}"
    if p.k > 1:
        text += f", each split in {p.k} (MPS) = {p.instances} worker{'' if p.instances == 1 else 's'}"
    return text


def partition_label(qi: int, p: Partition) -> str:
    return (f"[{qi}] chunks {chunk_range(p.start, p.end)}: {pool_words(p)}, batch {p.bs}  "
            f"{ms(p.lat_infer)}  {rate(p.xput)}")


def budget_lines(pl: Pipeline, sla: float, width: int = 20) -> list[str]:
    """The pipeline's planned latency, term by term, against its SLO (text bars)."""
    rows: list[tuple[str, float]] = []
    for qi, p in enumerate(pl.partitions):
        rows.append((f"[{qi}] {p.gpu} infer", float(p.lat_infer)))
        if p.lat_trans:
            rows.append((f"[{qi}] send on", float(p.lat_trans)))
    rows.append(("batch building", float(pl.est_batch_build_lat or 0.0)))
    rows.append(("held back (queue)", float(pl.hist_adjustment or 0.0)))
    total = sum(v for _, v in rows)
    out = [f"latency budget, SLO {ms(sla)}:"]
    for label, v in rows:
        out.append(f"{label:<18} {ms(v):>10} {bar(v / sla if sla else 0, width)}")
    slack = sla - total
    verdict = "meets the SLO" if slack >= -1e-6 else "MISSES the SLO"
    out.append(f"{'total':<18} {ms(total):>10} {bar(total / sla if sla else 0, width)}")
    out.append(f"slack {ms(slack)} ({pct(slack / sla if sla else None)}): {verdict}")
    return out


def details(entry: PlanEntry | None, ref: NodeRef | None, width: int = 60) -> str:
    if entry is None or ref is None:
        return "Move the cursor in the tree for details."
    plan = entry.plan
    if ref.kind == "plan":
        lines = [entry.title, f"status: {entry.status}"]
        if entry.origin:
            lines.append(entry.origin)
        if entry.objective is not None:
            lines.append(f"objective (min req/s / weight): {entry.objective:,.2f}")
        if entry.gap is not None:
            lines.append(f"MIP gap: {pct(entry.gap, 3)}")
        if entry.solve_seconds is not None:
            lines.append(f"solve time: {entry.solve_seconds:.2f} s")
        if entry.message and entry.status != "optimal":
            lines.append(entry.message)
        for i, m in enumerate(plan.models):
            w = f" (weight {entry.weights[i]:g})" if entry.weights else ""
            lines.append(f"- {m.name}: {rate(m.xput)}{w}, {len(m.pipelines)} pipeline(s)")
        return "\n".join(lines)
    m: ModelPlan = plan.models[ref.model]
    if ref.kind == "model":
        cfg = m.config
        lines = [f"model {m.name}", f"throughput {rate(m.xput)}, SLO {ms(m.sla)}",
                 f"pipelines: {len(m.pipelines)}"]
        if cfg.get("est_xput"):
            lines.append(f"est. throughput (batch building): {rate(float(cfg['est_xput']))}")
        if cfg.get("hist_adjustment") is not None:
            lines.append(f"held back for queueing: {ms(float(cfg['hist_adjustment']))}")
        used = m.gpus_used()
        lines.append("GPUs: " + (", ".join(f"{g} {gpus(v)}" for g, v in used.items()) or "none"))
        lines.append("Press S to simulate this model.")
        return "\n".join(lines)
    pl = m.pipelines[ref.pipeline]
    if ref.kind == "pipeline":
        lines = [f"{m.name} pipeline {ref.pipeline}: {' > '.join(pl.gpu_sequence)}",
                 f"batch {pl.batch_size}, throughput {rate(pl.xput)}", ""]
        lines += budget_lines(pl, float(m.sla), max(min(width - 31, 24), 4))
        return "\n".join(lines)
    p = pl.partitions[ref.partition]
    inst = p.instances
    per = p.xput / inst if inst else 0.0
    lines = [f"{m.name} pipeline {ref.pipeline} partition {ref.partition}",
             f"chunks {chunk_range(p.start, p.end)} ({p.end - p.start} of the model's chunks)",
             f"GPU pool: {pool_words(p)}, {p.num_gpu_per_server} per server",
             f"MPS split: {p.k} instance(s) per GPU, {inst} instance(s) in all" if p.k > 1
             else f"whole GPUs: {inst} instance(s)",
             f"batch size {p.bs}",
             f"inference {ms(p.lat_infer)} per batch, sending on {ms(p.lat_trans)}",
             f"throughput {rate(p.xput)} ({rate(per)} per instance)",
             "", *budget_lines(pl, float(m.sla), max(min(width - 31, 24), 4))]
    return "\n".join(lines)


class GpuUseTable(DataTable):
    """GPUs used per type against the cluster's limit."""

    def show(self, entry: PlanEntry | None) -> None:
        self.clear(columns=True)
        self.add_columns("GPU", "used/limit", "use")
        if entry is None:
            return
        used = entry.plan.gpus_used()
        limits = entry.limits or {}
        for g in list(limits) + [g for g in used if g not in limits]:
            u = used.get(g, 0.0)
            lim = limits.get(g)
            share = u / lim if lim else None
            self.add_row(g, f"{gpus(u)}/{lim if lim is not None else '?'}",
                         f"{bar(min(share, 1.0), 5)} {pct(share, 0)}" if share is not None else "limit ?")
