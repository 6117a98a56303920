"""What a plan was made with: scheduler, cluster, profiles (fingerprinted), ppipe version.

A plan file is the artifact's JSON list, one entry per model. The record lives
under the key :data:`PROVENANCE_KEY` of the *first* entry, after the reference's
own keys, so a reference plan (which has none) is read and written byte-identically,
and the artifact's readers, which look up the keys they know, are not disturbed.
A file that has the record keeps it on a round trip (unknown keys are kept).

This module only reads attributes of the profiles it is given (``name``,
``cut_bytes``, ``latency``, ``runtime_us``): it imports nothing from the profile
layer. To check an opened plan against the current profiles, call both
:func:`provenance_problems` (the recorded fingerprints) and
``ppipe.planning.check.check_plan`` (the plan's numbers against the profiles,
with :func:`recorded_limits` as the GPU limits).
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable

import numpy as np

PROVENANCE_KEY = "ppipe_provenance"
FINGERPRINT_PREFIX = "sha256:"


def profile_fingerprint(profile: Any) -> str:
    """A short hash of everything of a profile the planner reads (chunk latencies,
    cut sizes, runtimes): equal profiles give equal fingerprints on any machine."""
    h = hashlib.sha256()
    h.update(str(profile.name).encode())
    h.update(np.ascontiguousarray(np.asarray(profile.cut_bytes, dtype=np.float64)).tobytes())
    for gpu in sorted(profile.latency):
        for k in sorted(profile.latency[gpu]):
            t = np.ascontiguousarray(np.asarray(profile.latency[gpu][k], dtype=np.float64))
            h.update(f"|{gpu}|{k}|{t.shape}".encode())
            h.update(t.tobytes())
    for gpu in sorted(getattr(profile, "runtime_us", {}) or {}):
        h.update(f"|rt|{gpu}|{float(profile.runtime_us[gpu])!r}".encode())
    return FINGERPRINT_PREFIX + h.hexdigest()[:16]


def _num(v: float) -> int | float:
    f = float(v)
    return int(f) if f.is_integer() else f


def make_provenance(*, scheduler: str, gpus: Iterable[str], counts: Iterable[int], bw_gbps: float,
                    profiles: Iterable[Any], profile_source: str, weights: Iterable[float] | None = None,
                    slo_multiplier: float | None = None, max_parts: int | None = None,
                    mps_levels: Iterable[int] | None = None, gpus_per_server: Iterable[int] | None = None,
                    version: str | None = None, settings: dict | None = None) -> dict:
    """The record to store in a plan (see :func:`set_provenance`).

    Each profile's own origin goes in ``profile_origins`` (``{name: {"source", "estimated"}}``),
    so a plan that mixes measured and estimated profiles says which is which; ``settings``
    holds the solve's other choices (SLO discount, method, fill, ...), JSON values only."""
    if version is None:
        from ppipe import __version__ as version
    cluster: dict[str, Any] = {"gpus": [str(g) for g in gpus], "counts": [int(c) for c in counts],
                               "bw_gbps": _num(bw_gbps)}
    if mps_levels is not None:
        cluster["mps_levels"] = [int(v) for v in mps_levels]
    if gpus_per_server is not None:
        cluster["gpus_per_server"] = [int(v) for v in gpus_per_server]
    rec: dict[str, Any] = {"ppipe_version": str(version), "scheduler": str(scheduler), "cluster": cluster}
    if weights is not None:
        rec["weights"] = [_num(w) for w in weights]
    if slo_multiplier is not None:
        rec["slo_multiplier"] = _num(slo_multiplier)
    if max_parts is not None:
        rec["max_parts"] = int(max_parts)
    profiles = list(profiles)
    rec["profile_source"] = str(profile_source)
    rec["profiles"] = {str(p.name): profile_fingerprint(p) for p in profiles}
    rec["profile_origins"] = {str(p.name): {"source": str(getattr(p, "source", "") or ""),
                                            "estimated": bool(getattr(p, "estimated", False))} for p in profiles}
    if settings:
        rec["settings"] = dict(settings)
    return rec


def mixed_sources(rec: dict | None) -> list[str] | None:
    """The estimated models of a record that mixes measured and estimated profiles, else None."""
    origins = (rec or {}).get("profile_origins")
    if not isinstance(origins, dict) or not origins:
        return None
    est = [n for n, o in origins.items() if isinstance(o, dict) and o.get("estimated")]
    return est if est and len(est) < len(origins) else None


def get_provenance(plan: Any) -> dict | None:
    """The plan's record, or None (reference plans have none)."""
    if not plan.models:
        return None
    rec = plan.models[0].extra.get(PROVENANCE_KEY)
    return rec if isinstance(rec, dict) else None


def set_provenance(plan: Any, record: dict) -> None:
    """Store ``record`` in the plan (written with it by ``write_plan``)."""
    if plan.models:
        plan.models[0].extra[PROVENANCE_KEY] = record


def recorded_limits(plan: Any) -> dict[str, int] | None:
    """GPU type -> count of the cluster the plan was made for, from the record."""
    rec = get_provenance(plan)
    cl = rec.get("cluster") if rec else None
    try:
        return {str(g): int(c) for g, c in zip(cl["gpus"], cl["counts"])}
    except (TypeError, KeyError, ValueError):
        return None


def provenance_problems(plan: Any, store: Any) -> list[str]:
    """How the profiles ``store`` has now differ from those the plan was made with
    (one line each; empty when they match or the plan records none).

    ``store`` needs ``get(name)`` (raising for an unknown model) and ``describe()``."""
    rec = get_provenance(plan)
    if not rec or not isinstance(rec.get("profiles"), dict):
        return []
    out = []
    for name, fp in rec["profiles"].items():
        try:
            prof = store.get(name)
        except Exception:  # noqa: BLE001 - any lookup failure means: not available here
            out.append(f"{name}: no profile here (the plan was made with {rec.get('profile_source') or '?'})")
            continue
        now = profile_fingerprint(prof)
        if now != fp:
            out.append(f"{name}: the profiles differ from those the plan was made with "
                       f"({rec.get('profile_source') or '?'}, {fp}; now {now})")
    return out
