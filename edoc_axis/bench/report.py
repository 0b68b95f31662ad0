"""The benchmark's report: the JSON document and the table printed from it.

JSON fields (all rates per second, latencies in milliseconds):
``settings`` (documents, concurrency, size_bytes, key_type, uvloop, cpus),
``ceiling`` (accepted_per_s, latency_ms, errors), ``intake`` and
``half_rate`` (accepted_per_s, latency_ms {p50, p95, p99}, errors, delivered,
delivered_per_s, pulled_during_intake_per_s, pushed_during_intake_per_s,
backlog_at_intake_end, drained, axis_cpu_ms_per_document),
``intake_alone`` (the same figures and its own ``ratio_to_ceiling``: documents to
the pull recipient only, which starts pulling when intake has ended),
``ratio_to_ceiling``, ``axis_peak_rss_bytes``, ``store_bytes_per_document``,
and when asked ``scale`` and ``large``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def _ms(latency: dict[str, float]) -> str:
    return f"{latency['p50']:.1f} / {latency['p95']:.1f} / {latency['p99']:.1f}"


def _errors(*sections: dict[str, Any]) -> str:
    merged: dict[str, int] = {}
    for section in sections:
        for key in ("errors", "delivery_errors"):
            for code, count in section.get(key, {}).items():
                merged[code] = merged.get(code, 0) + count
    return ", ".join(f"{code}: {n}" for code, n in sorted(merged.items())) or "none"


def rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(figure, value) lines of the table."""
    settings, intake = report["settings"], report["intake"]
    ceiling, half, alone = report["ceiling"], report["half_rate"], report["intake_alone"]
    e2e = intake["delivered_per_s"] / max(intake["accepted_per_s"], 1e-9)
    lines = [
        ("workload", f"{settings['documents']} docs of {settings['size_bytes']} B, "
                     f"{settings['key_type'].upper()}, {settings['concurrency']} clients, "
                     f"{settings.get('axis_processes', 1)} axis process(es)"),
        ("bare ceiling (parse + verify)", f"{ceiling['accepted_per_s']:.0f} docs/s"),
        ("axis intake", f"{intake['accepted_per_s']:.0f} docs/s"),
        ("ratio axis / ceiling", f"{report['ratio_to_ceiling']:.0%}"),
        ("  intake alone (delivery after)", f"{alone['accepted_per_s']:.0f} docs/s "
                                            f"({alone['ratio_to_ceiling']:.0%} of the ceiling)"),
        ("delivered end to end", f"{intake['delivered_per_s']:.0f} docs/s ({e2e:.0%} of intake)"),
        ("  while intake ran: pull / push", f"{intake['pulled_during_intake_per_s']:.0f} / "
                                            f"{intake['pushed_during_intake_per_s']:.0f} docs/s"),
        ("backlog when intake ended", f"{intake['backlog_at_intake_end']} "
                                      f"({'drained' if intake['drained'] else 'NOT drained'})"),
        ("intake latency p50/p95/p99", f"{_ms(intake['latency_ms'])} ms"),
        (f"at half rate ({half['target_per_s']:.0f}/s) p50/p95/p99",
         f"{_ms(half['latency_ms'])} ms"),
        ("axis CPU per document", f"{intake['axis_cpu_ms_per_document']:.2f} ms"),
        ("axis peak RSS", f"{report['axis_peak_rss_bytes'] / MIB:.0f} MiB"),
        ("store per document", f"{report['store_bytes_per_document'] / 1024:.1f} KiB"),
        ("errors", _errors(intake, half, alone)),
    ]  # fmt: skip
    return lines + _scale_rows(report) + _large_rows(report)


def _scale_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    scale = report.get("scale")
    if not scale:
        return []
    return [
        (f"intake with {scale['preloaded']} stored", f"{scale['accepted_per_s']:.0f} docs/s "
         f"({scale['ratio_to_empty']:.0%} of empty; preload {scale['preload_seconds']:.0f} s)"),
        ("  latency p50/p95/p99", f"{_ms(scale['latency_ms'])} ms"),
    ]  # fmt: skip


def _large_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    large = report.get("large")
    if not large:
        return []
    growth = large["peak_rss_growth_bytes"]
    shown = "unknown" if growth is None else f"{growth / MIB:.0f} MiB"
    refused = ", ".join(f"{k}: {v}" for k, v in large["concurrent"]["refused"].items()) or "none"
    return [
        (f"one {large['size_bytes'] / MIB:.0f} MiB document",
         f"{'accepted' if large['accepted'] else 'REFUSED'} in {large['seconds']:.1f} s, "
         f"peak RSS +{shown} (limit {large['growth_limit_bytes'] / MIB:.0f} MiB)"),
        (f"  {large['concurrent']['sent']} at once",
         f"{large['concurrent']['accepted']} accepted, refused {refused}"),
        *_fetch_rows(large.get("fetch")),
        *_agency_rows(large),
    ]  # fmt: skip


def _fetch_rows(fetch: dict[str, Any] | None) -> list[tuple[str, str]]:
    if fetch is None:
        return []
    growth = fetch["peak_rss_growth_bytes"]
    shown = "unknown" if growth is None else f"+{growth / MIB:.0f} MiB"
    what = "its exact bytes" if fetch["status"] == 200 and fetch["exact"] else "NOT its bytes"
    return [("  fetched by its recipient", f"{what} in {fetch['seconds']:.1f} s, peak RSS {shown}")]


def _agency_rows(large: dict[str, Any]) -> list[tuple[str, str]]:
    """What the same size cost the agencies' own tools (``edoc receive``, ``edoc endpoint``)."""
    rows = []
    received = large.get("edoc_receive")
    if received is not None:
        idle = received["idle_peak_rss_bytes"]
        growth = "unknown" if idle is None else f"+{(received['peak_rss_bytes'] - idle) / MIB:.0f}"
        saved = received["exit_code"] == 0 and received["exact"]
        what = "saved its exact bytes" if saved else f"FAILED (exit {received['exit_code']})"
        rows.append(
            (
                "  saved by `edoc receive`",
                f"{what} in {received['seconds']:.1f} s, peak RSS {growth} MiB over an idle run",
            )
        )
    pushed = large.get("endpoint")
    if pushed is not None:
        growth = pushed["peak_rss_growth_bytes"]
        shown = "unknown" if growth is None else f"+{growth / MIB:.0f} MiB"
        rows.append(
            (
                "  pushed to `edoc endpoint`",
                f"{pushed['state']} in {pushed['seconds']:.1f} s, its peak RSS {shown}",
            )
        )
    return rows


def render(report: dict[str, Any]) -> str:
    lines = rows(report)
    width = max(len(name) for name, _ in lines)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in lines)


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
