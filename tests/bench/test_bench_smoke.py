"""`edoc-axis bench`, run tiny: it completes, reports every field and sees no errors.

A benchmark, not a test of speed: nothing here asserts a rate or a latency.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edoc_axis.cli.axis import main

pytestmark = pytest.mark.timeout(300)


def test_bench_runs_tiny_and_reports_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["bench", "--docs", "20", "--concurrency", "2", "--json", str(out),
            "--scale", "50", "--large-mb", "1", "--dir", str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "ratio axis / ceiling" in table
    assert "while intake ran: pull / push" in table
    assert "intake alone (delivery after)" in table
    report = json.loads(out.read_text(encoding="utf-8"))
    for section in ("ceiling", "intake", "half_rate", "intake_alone"):
        assert report[section]["errors"] == {}, report[section]
        assert report[section]["accepted_per_s"] > 0
    for section in ("intake", "half_rate", "intake_alone"):
        figures = report[section]
        assert figures["accepted"] == figures["documents"]
        assert figures["drained"] and figures["delivered"] == figures["accepted"]
        assert figures["delivery_errors"] == {}
        assert set(figures["latency_ms"]) == {"p50", "p95", "p99"}
        ways = (figures["pulled_during_intake_per_s"], figures["pushed_during_intake_per_s"])
        assert min(ways) >= 0  # no more delivered while intake ran than was accepted:
        assert sum(ways) * figures["seconds"] <= figures["accepted"] + 1  # (rounding)
    assert report["ratio_to_ceiling"] > 0
    alone = report["intake_alone"]
    assert alone["pulled_during_intake_per_s"] == alone["pushed_during_intake_per_s"] == 0
    assert alone["ratio_to_ceiling"] > 0
    assert report["axis_peak_rss_bytes"] > 0
    assert report["store_bytes_per_document"] > 0
    assert report["intake"]["axis_cpu_ms_per_document"] > 0
    assert report["scale"]["preloaded"] == 50 and report["scale"]["errors"] == {}
    assert report["large"]["accepted"] and report["large"]["errors"] == {}
    fetch = report["large"]["fetch"]  # by its pull recipient, read a piece at a time
    assert (fetch["status"], fetch["exact"]) == (200, True)
    received = report["large"]["edoc_receive"]  # the agencies' tools, measured the same way
    assert (received["exit_code"], received["exact"]) == (0, True)
    assert received["peak_rss_bytes"] > 0 and received["idle_peak_rss_bytes"] > 0
    assert report["large"]["endpoint"]["state"] == "delivered"
    assert "saved by `edoc receive`" in table and "pushed to `edoc endpoint`" in table
    assert report["settings"]["documents"] == 20


def test_bench_on_postgresql_with_several_nodes_prints_a_row_per_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_dsn: str
) -> None:
    out = tmp_path / "nodes.json"
    argv = ["bench", "--store", "postgresql", "--nodes", "1,2", "--dsn", postgres_dsn,
            "--docs", "20", "--concurrency", "2", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:2] == ["nodes", "intake/s"]
    assert [line.split()[0] for line in table[2:4]] == ["1", "2"]
    assert table[4].startswith("audit chain: ")
    report = json.loads(out.read_text(encoding="utf-8"))
    for run, nodes in zip(report["runs"], (1, 2), strict=True):
        assert run["nodes"] == nodes
        assert run["errors"] == {} and run["accepted"] == 20
        assert run["drained"] and run["delivered"] == 20
        assert run["db_bytes_per_document"] > 0
        assert run["docs_per_s_per_node_core"] > 0
        assert run["audit_entries_per_document"] >= 3  # accepted, delivered, acked at least
    assert report["audit_ceiling_per_s"] > 0


def test_nodes_need_the_postgresql_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--nodes", "2"]) == 2
    assert "--nodes needs --store postgresql" in capsys.readouterr().err
