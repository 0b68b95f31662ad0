"""The whole benchmark run: prepare, ceiling, axis at full rate, axis at half rate, extras."""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edoc_axis.bench.large import large_phase
from edoc_axis.bench.phases import axis_phase, ceiling_phase, latency_ms, named
from edoc_axis.bench.processes import start_ceiling
from edoc_axis.bench.rig import PULLER, Rig, new_rig
from edoc_axis.bench.scale import preload
from edoc_axis.bench.workload import signed_documents
from edoc_axis.pki.authority import KeyType
from edoc_axis.terminal import Progress


@dataclass(frozen=True)
class BenchOptions:
    docs: int = 4000
    concurrency: int = 32
    size: int = 10 * 1024
    key_type: KeyType = "rsa"
    scale: int = 0
    large_mb: int = 0
    processes: int = 1
    folder: Path | None = None
    keep: bool = False


@dataclass
class Workloads:
    main: list[bytes]
    half: list[bytes]
    scaled: list[bytes]
    alone: list[bytes]  # to the pull recipient only, for intake without deliveries


def _prepare(rig: Rig, options: BenchOptions) -> Workloads:
    counts = {"main": options.docs, "half": max(options.docs // 2, 1)}
    if options.scale:
        counts["scaled"] = options.docs
    counts["alone"] = max(options.docs // 2, 1)
    progress = Progress(sum(counts.values()), "signing documents")
    sets = {
        name: signed_documents(
            rig.sender(),
            [PULLER[0]] if name == "alone" else rig.recipients(),
            count,
            options.size,
            tag=name,
            progress=progress.advance,
        )
        for name, count in counts.items()
    }
    progress.close()
    return Workloads(sets["main"], sets["half"], sets.get("scaled", []), sets["alone"])


def _uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return os.environ.get("EDOC_AXIS_UVLOOP", "1") != "0"


async def _measure(rig: Rig, work: Workloads, options: BenchOptions) -> dict[str, Any]:
    c = options.concurrency
    ceiling = start_ceiling(rig.folder)
    try:
        progress = Progress(len(work.main), "bare ceiling")
        bare = await named(
            "bare ceiling", ceiling_phase(ceiling.url, work.main, c, progress.advance), rig.folder
        )
        progress.close()
    finally:
        ceiling.stop()
    rig.start_processes()
    await rig.register()
    progress = Progress(len(work.main), "axis, full rate")
    full = await named(
        "axis, full rate", axis_phase(rig, work.main, c, on_done=progress.advance), rig.folder
    )
    progress.close()
    half_rate = max(full.intake.rate / 2, 1.0)
    progress = Progress(len(work.half), "axis, half rate")
    half = await named(
        "axis, half rate",
        axis_phase(rig, work.half, max(2 * c, 64), rate=half_rate, on_done=progress.advance),
        rig.folder,
    )
    progress.close()
    progress = Progress(len(work.alone), "axis, intake alone")
    alone = await named(
        "axis, intake alone",
        axis_phase(rig, work.alone, c, on_done=progress.advance, deliver_meanwhile=False),
        rig.folder,
    )
    progress.close()
    assert rig.axis is not None
    report: dict[str, Any] = {
        "ceiling": {
            "accepted_per_s": round(bare.rate, 1),
            "latency_ms": latency_ms(bare),
            "errors": dict(bare.errors),
        },
        "intake": full.summary(),
        "half_rate": {"target_per_s": round(half_rate, 1), **half.summary()},
        "intake_alone": {
            **alone.summary(),
            "ratio_to_ceiling": round(alone.intake.rate / max(bare.rate, 1e-9), 3),
        },
        "axis_peak_rss_bytes": rig.axis.peak_rss_bytes(),
    }
    if options.scale:
        report["scale"] = await _scale(rig, work, options, full.intake.rate)
    if options.large_mb:
        report["large"] = await large_phase(rig, options.large_mb * 1024 * 1024)
    return report


async def _scale(
    rig: Rig, work: Workloads, options: BenchOptions, empty_rate: float
) -> dict[str, Any]:
    rig.stop_axis()
    seconds = await preload(rig, options.scale)
    rig.start_processes()
    progress = Progress(len(work.scaled), f"axis with {options.scale} stored")
    scaled = await axis_phase(rig, work.scaled, options.concurrency, on_done=progress.advance)
    progress.close()
    return {
        "preloaded": options.scale,
        "preload_seconds": round(seconds, 1),
        "empty_store_per_s": round(empty_rate, 1),
        **scaled.summary(),
        "ratio_to_empty": round(scaled.intake.rate / max(empty_rate, 1e-9), 3),
    }


def _store_bytes(rig: Rig) -> int:
    paths = [rig.store_path, rig.store_path.with_name(rig.store_path.name + "-wal")]
    return sum(path.stat().st_size for path in paths if path.exists())


def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Run everything; return the JSON report (see ``report.py`` for the fields)."""
    folder = options.folder or Path(tempfile.mkdtemp(prefix="edoc-axis-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    rig = new_rig(folder, options.key_type, options.processes)
    try:
        work = _prepare(rig, options)
        report = asyncio.run(_measure(rig, work, options))
    finally:
        rig.stop()
    stored = report["intake"]["accepted"] + report["half_rate"]["accepted"]
    stored += report["intake_alone"]["accepted"]
    stored += report.get("scale", {}).get("accepted", 0) + report.get("scale", {}).get(
        "preloaded", 0
    )
    report["store_bytes_per_document"] = round(_store_bytes(rig) / max(stored, 1))
    report["ratio_to_ceiling"] = round(
        report["intake"]["accepted_per_s"] / max(report["ceiling"]["accepted_per_s"], 1e-9), 3
    )
    report["settings"] = {
        "documents": options.docs,
        "concurrency": options.concurrency,
        "size_bytes": len(work.main[0]) if work.main else options.size,
        "key_type": options.key_type,
        "axis_processes": options.processes,
        "uvloop": _uvloop(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "folder": str(folder) if options.keep else None,
    }
    if not options.keep and options.folder is None:
        shutil.rmtree(folder, ignore_errors=True)
    return report
