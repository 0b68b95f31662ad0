"""A short, bounded run of the intake fuzz target (the long one is `make fuzz`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.external import unavailable

TARGET = Path(__file__).with_name("fuzz_intake.py")
ROOT = Path(__file__).resolve().parents[2]
SECONDS = 5


def test_fuzz_target_runs_without_crash_or_slow_input(tmp_path: Path) -> None:
    try:
        import atheris  # noqa: F401
    except ImportError:
        unavailable("atheris is not installed (pip install -e '.[test]')")
    corpus, artifacts = tmp_path / "corpus", tmp_path / "artifacts"
    artifacts.mkdir()
    run = subprocess.run(
        [
            sys.executable,
            str(TARGET),
            str(corpus),
            f"-max_total_time={SECONDS}",
            "-timeout=10",  # an input slower than this is a finding
            "-rss_limit_mb=2048",
            "-max_len=200000",
            f"-artifact_prefix={artifacts}/",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
        check=False,
    )
    findings = sorted(p.name for p in artifacts.iterdir())
    assert run.returncode == 0 and not findings, run.stderr[-4000:]
    assert "Done" in run.stderr, run.stderr[-2000:]
    assert len(list(corpus.iterdir())) >= 14  # the seeds were written and kept
