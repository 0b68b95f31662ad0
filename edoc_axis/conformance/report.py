"""Reporting a run: a terminal table, the summary line, JUnit XML and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from lxml import etree

from edoc_axis.conformance.model import Outcome, Result

VERDICT = {Outcome.PASS: "PASS", Outcome.FAIL: "FAIL", Outcome.SKIP: "SKIP"}


def summary(results: Sequence[Result]) -> str:
    """``N passed, N failed, N skipped`` (a line of its own in every report)."""
    counts = {outcome: 0 for outcome in Outcome}
    for result in results:
        counts[result.outcome] += 1
    return (
        f"{counts[Outcome.PASS]} passed, {counts[Outcome.FAIL]} failed, "
        f"{counts[Outcome.SKIP]} skipped"
    )


def result_line(result: Result, id_width: int = 12) -> str:
    """One line per case: verdict, id, required or optional, expected and observed, title."""
    need = "req" if result.case.required else "opt"
    line = (
        f"{VERDICT[result.outcome]}  {result.case.id:<{id_width}} {need}  "
        f"{result.case.title}  [expected {result.expected}; observed {result.observed}]"
    )
    if result.outcome is not Outcome.PASS and result.detail:
        line += f"\n      {result.detail}"
    return line


def write_table(results: Sequence[Result], out: TextIO) -> None:
    """The readable report: every case, then what failed, then the summary line."""
    for result in results:
        out.write(result_line(result) + "\n")
    failed_required = [r for r in results if r.case.required and r.outcome is Outcome.FAIL]
    skipped_required = [r for r in results if r.case.required and r.outcome is Outcome.SKIP]
    out.write("\n")
    if failed_required:
        ids = ", ".join(r.case.id for r in failed_required)
        out.write(f"required cases failed: {ids}\n")
    if skipped_required:
        ids = ", ".join(r.case.id for r in skipped_required)
        out.write(f"required cases skipped (not a full conformance run): {ids}\n")
    out.write(summary(results) + "\n")


def to_json(results: Sequence[Result], target: str) -> str:
    """Machine output: every result and the counts."""
    counts = {str(o): sum(1 for r in results if r.outcome is o) for o in Outcome}
    data = {
        "target": target,
        "summary": summary(results),
        "counts": counts,
        "required_passed": all(r.outcome is Outcome.PASS for r in results if r.case.required),
        "results": [r.as_json() for r in results],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def junit_xml(results: Sequence[Result], suite_name: str = "edoc-axis conformance") -> bytes:
    """JUnit XML (testsuite/testcase/failure/skipped) for CI systems."""
    suite = etree.Element("testsuite")
    suite.set("name", suite_name)
    suite.set("tests", str(len(results)))
    suite.set("failures", str(sum(1 for r in results if r.outcome is Outcome.FAIL)))
    suite.set("errors", "0")
    suite.set("skipped", str(sum(1 for r in results if r.outcome is Outcome.SKIP)))
    suite.set("time", f"{sum(r.duration_s for r in results):.3f}")
    for result in results:
        case = etree.SubElement(suite, "testcase")
        case.set("classname", f"conformance.{result.case.group}")
        case.set("name", f"{result.case.id} {result.case.title}")
        case.set("time", f"{result.duration_s:.3f}")
        props = etree.SubElement(case, "properties")
        for name, value in (
            ("clause", result.case.clause),
            ("required", str(result.case.required).lower()),
            ("expected", result.expected),
            ("observed", result.observed),
        ):
            prop = etree.SubElement(props, "property")
            prop.set("name", name)
            prop.set("value", value)
        if result.outcome is Outcome.FAIL:
            failure = etree.SubElement(case, "failure")
            failure.set("message", result.detail or "failed")
            failure.text = f"expected {result.expected}; observed {result.observed}"
        elif result.outcome is Outcome.SKIP:
            etree.SubElement(case, "skipped").set("message", result.detail)
    return etree.tostring(suite, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_junit(results: Sequence[Result], path: Path) -> None:
    path.write_bytes(junit_xml(results))
