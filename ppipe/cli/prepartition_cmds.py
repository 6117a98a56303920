"""``ppipe prepartition``: exact layer-to-chunk pre-partitioning (SPEC section 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ppipe.cli import app
from ppipe.cli.common import JsonOption, err_console, out_console, output_dir, print_json
from ppipe.errors import DataError, InputError, PPipeError


def _layer_root(data: Optional[Path]) -> Path:
    from ppipe.partition.layers import NODE_PROFILES, has_layer_data
    from ppipe.paths import artifact_dir

    root = Path(data).expanduser() if data else artifact_dir()
    if root is None:
        raise InputError("no layer-level data: pass --data ARTIFACT_DIR or set PPIPE_ARTIFACT")
    if not root.exists():
        raise DataError(f"{root}: data directory not found")
    if not has_layer_data(root):
        raise DataError(f"{root}: no layer-level files ({NODE_PROFILES} and models/cuts-no-const)")
    return root


def _resolve(token: str, names: list[str]) -> str:
    if token in names:
        return token
    matches = [n for n in names if n.startswith(token)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InputError(f"model {token!r} is ambiguous: {', '.join(matches[:5])}")
    hint = f" (known: {', '.join(names[:8])}{', ...' if len(names) > 8 else ''})" if names else ""
    raise InputError(f"unknown model {token!r}: no layer-level files{hint}")


def _notes(mp) -> None:
    """Tell the user (stderr) what a chunking change means for the block timings."""
    ref = mp.reference
    if ref is not None and mp.reference_violations:
        err_console.print(
            f"note: {mp.model}: the reference mapping violates its own tag {ref.tag} at K={ref.k}"
            f" ({len(mp.reference_violations)} chunk shares out of bounds, e.g. {mp.reference_violations[0]})",
            markup=False, soft_wrap=True)
    if not mp.changed:
        return
    if ref is None:
        why = "has no reference mapping"
    elif ref.k != mp.result.k:
        why = f"now has {mp.result.k} chunks (reference mapping {ref.tag}: {ref.k})"
    else:
        moved = len(set(ref.boundaries) ^ set(mp.result.boundaries)) // 2
        why = f"chunking differs from the reference mapping {ref.tag} ({moved} of {ref.k - 1} cuts moved)"
    err_console.print(
        f"RE-PROFILE NEEDED: {mp.model} {why}; measured block timings do not apply to these chunks."
        " Profile each new chunk before planning (or use --estimate-profile for a labelled estimate"
        " from layer-level batch-1 latencies).",
        markup=False, soft_wrap=True)


def _existing_outputs(model: str, out: Path, estimate: bool) -> list[Path]:
    """Files writing ``model``'s outputs under ``out`` would replace or remove."""
    from ppipe.partition.layers import MAPPINGS, mapping_files
    from ppipe.profiles.ownformat import PROFILE_SUFFIX

    found = mapping_files(out, model)
    for p in [out / MAPPINGS / model / "chunking.json"] + (
            [out / "profiles" / f"{model}{PROFILE_SUFFIX}"] if estimate else []):
        if p.exists():
            found.append(p)
    return found


def _write_outputs(mp, root: Path, out: Path, estimate: bool) -> dict:
    from ppipe.atomic import write_json_atomic
    from ppipe.partition.layers import MAPPINGS, write_artifact_mapping
    from ppipe.partition.prepartition import chunking_to_json, estimate_profile
    from ppipe.profiles.ownformat import PROFILE_SUFFIX, write_profile_file

    r = mp.result
    files = {}
    m_path, t_path = write_artifact_mapping(out, mp.model, mp.graph.layers, r.boundaries, r.cut_bytes, r.tag)
    files["mapping"] = str(m_path)
    files["trans_size"] = str(t_path)
    files["chunking"] = str(write_json_atomic(out / MAPPINGS / mp.model / "chunking.json", chunking_to_json(mp), indent=1))
    if estimate:
        base = None
        try:
            from ppipe.profiles.artifact import ArtifactSource, looks_like_artifact

            if looks_like_artifact(root) and mp.model in ArtifactSource(root).model_names():
                base = ArtifactSource(root).load(mp.model)
        except PPipeError as exc:
            err_console.print(f"note: {mp.model}: measured block timings unusable ({exc}); estimating batch 1 only",
                              markup=False, soft_wrap=True)
        ref = mp.reference
        if base is not None and (ref is None or ref.k != base.num_chunks):
            base = None
        if base is not None and not mp.changed:
            base.chunk_layers = mp.chunk_layers()
            base.provenance += "; chunk_layers from ppipe prepartition (chunking unchanged)"
            prof = base
        else:
            prof = estimate_profile(mp.graph, r.boundaries, r.cut_bytes, base, ref.boundaries if base is not None else None)
            err_console.print(f"ESTIMATED profile for {mp.model}: {prof.provenance}", markup=False, soft_wrap=True)
        files["profile"] = str(write_profile_file(prof, out / "profiles" / f"{mp.model}{PROFILE_SUFFIX}"))
        files["profile_estimated"] = prof.estimated
    return files


@app.command("prepartition")
def prepartition_cmd(
    model: Optional[str] = typer.Argument(None, help="Model name (or unique prefix)."),
    all_models: bool = typer.Option(False, "--all", help="Every model with layer-level files in the data folder."),
    chunks: Optional[int] = typer.Option(None, "--chunks", "-k", help="Chunk count K (default: the reference mapping's, else 10, at most the layer count)."),
    ladder: Optional[str] = typer.Option(None, "--ladder", help="Balance steps LB-UB,... tried in order (default: 0.7-1.3,0.5-1.5,0.5-2.0,0.5-2.5,0.5-3.0,0.5-3.5,0.5-4.0,0.4-4.0)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Artifact-layout folder with layer-level files (models/node-profile-no-const, cuts-no-const, shapes; prepartition_mappings for reference mappings). Default: $PPIPE_ARTIFACT."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write prepartition_mappings/{model}/ CSVs (+ chunking.json) under this folder."),
    estimate_profile: bool = typer.Option(False, "--estimate-profile", help="Also write OUT/profiles/{model}.profile.json, estimated from layer-level batch-1 latencies (labelled as such) where the chunking changed."),
    prefer_reference: bool = typer.Option(True, "--prefer-reference/--no-prefer-reference", help="Among chunkings of minimal cut size, keep the reference mapping's chunk starts where possible (its block timings are measured)."),
    force: bool = typer.Option(False, "--force", help="Replace existing mapping and profile files under --out (otherwise refused: they may be the data's own)."),
    as_json: bool = JsonOption,
) -> None:
    """Split models' layers into K balanced chunks with minimal total cut size (exact; SPEC section 2)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ppipe.partition.layers import layer_models
    from ppipe.partition.prepartition import DEFAULT_LADDER, parse_ladder, prepartition_model

    if (model is None) == (not all_models):
        raise InputError("give one MODEL or --all")
    if estimate_profile and out is None:
        raise InputError("--estimate-profile needs an output folder (-o DIR)")
    steps = parse_ladder(ladder) if ladder is not None else list(DEFAULT_LADDER)
    if chunks is not None and chunks < 1:
        raise InputError(f"--chunks must be at least 1, got {chunks}")
    output_dir(out, "--out")
    root = _layer_root(data)
    names = layer_models(root)
    targets = names if all_models else [_resolve(model, names)]
    if not targets:
        raise DataError(f"{root}: no models with layer-level files")

    results, failures = [], []
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=len(targets) < 2) as progress:
        task = progress.add_task("pre-partitioning", total=len(targets))
        for name in targets:
            progress.update(task, description=f"pre-partitioning {name[:40]}")
            try:
                mp = prepartition_model(root, name, chunks, steps, prefer_reference)
                row = mp.to_json()
            except PPipeError as exc:
                if not all_models:
                    raise type(exc)(f"model {name}: {exc}") from None
                failures.append((name, exc))
                progress.console.print(f"ppipe: error: model {name}: {exc}", markup=False, soft_wrap=True)
            else:
                results.append((mp, row))
            progress.advance(task)

    if out is not None and results:
        # every model's outputs checked before any is written: existing data (the artifact's
        # own reference mappings, say) is replaced only with --force
        if not force:
            existing = [p for mp, _ in results for p in _existing_outputs(mp.model, Path(out), estimate_profile)]
            if existing:
                more = f" and {len(existing) - 1} more file(s)" if len(existing) > 1 else ""
                raise InputError(f"--out {out}: {existing[0]}{more} would be replaced; --force replaces them")
        for mp, row in results:
            row["files"] = _write_outputs(mp, root, Path(out), estimate_profile)
    for mp, _ in results:
        _notes(mp)
    if as_json:
        print_json([row for _, row in results])
    else:
        from rich.table import Table

        t = Table(title=f"pre-partition ({len(results)} models)", title_justify="left")
        for col in ("model", "layers", "K", "step", "cut MB", "ref step", "ref MB", "changed", "ms"):
            t.add_column(col, overflow="fold")
        for mp, row in results:
            ref = row["reference"]
            t.add_row(mp.model, str(row["layers"]), str(row["chunks"]), row["tag"],
                      f"{row['total_cut_bytes'] / 1e6:.3f}",
                      ref["tag"] + ("" if ref["satisfies_own_tag"] else " (violated)") if ref else "-",
                      f"{ref['total_cut_bytes'] / 1e6:.3f}" if ref else "-",
                      "yes" if row["chunking_changed"] else "no", f"{row['seconds'] * 1000:.1f}")
        out_console.print(t)
        if out is not None:
            err_console.print(f"wrote {len(results)} models under {out}", markup=False)
    if failures:
        kinds = {type(exc) for _, exc in failures}
        err = kinds.pop() if len(kinds) == 1 else PPipeError
        raise err(f"{len(failures)} of {len(targets)} models failed: {', '.join(n for n, _ in failures)}")
