"""/metrics per agency with bounded labels, and docs/alerts.yml: promtool
accepts it and every metric it names is exposed by a running axis."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from edoc_axis.server.operator_metrics import OTHER, refusal_codes
from tests.external import require_program
from tests.integration.server.conftest import RunningAxis
from tests.integration.server.test_operator_api import _dead_letter

G22, H49 = "000.00.00.G22", "000.00.00.H49"
ALERTS = Path(__file__).resolve().parents[3] / "docs" / "alerts.yml"
_PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "and",
    "or",
    "time",
    "max",
    "min",
    "without",
    "on",
    "unless",
    "humanizeDuration",
    "value",
    "labels",
}


def _series(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


async def test_per_agency_series(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49, mode="push", endpoint="https://h49.example.test/edoc")
    await _dead_letter(axis, sender, H49)
    await axis.submit(axis.document(sender, [H49]), sender)  # unsigned: refused
    await axis.call("GET", "/admin/v1/audit/verify", token=axis.operator_token)
    series = _series((await axis.call("GET", "/metrics")).body.decode())
    assert series[f'edoc_agency_deliveries{{agency="{H49}",state="dead"}}'] == 1
    assert series["edoc_dead_letters"] == 1
    assert series[f'edoc_agency_accepted_last_hour{{agency="{G22}"}}'] == 1
    assert series[f'edoc_agency_refused_last_hour{{agency="{G22}",code="signature.missing"}}'] == 1
    assert series[f'edoc_agency_certificate_expiry_seconds{{agency="{G22}"}}'] > 360 * 86400
    assert series["edoc_audit_chain_ok"] == 1
    assert series["edoc_audit_last_verified_timestamp_seconds"] > 0
    agencies = {m.group(1) for m in re.finditer(r'agency="([^"]*)"', "\n".join(series))}
    assert agencies <= {G22, H49, OTHER}  # registered agencies only
    codes = {m.group(1) for m in re.finditer(r'code="([^"]*)"', "\n".join(series))}
    assert codes <= refusal_codes() | {"other"}


async def test_alert_rules_name_only_exposed_metrics(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49, mode="push", endpoint="https://h49.example.test/edoc")
    await _dead_letter(axis, sender, H49)
    await axis.submit(axis.document(sender, [H49]), sender)
    text = (await axis.call("GET", "/metrics")).body.decode()
    exposed = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")} | {
        line.split()[2] + "_total" for line in text.splitlines() if line.startswith("# TYPE ")
    }
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    wanted = {
        "EdocOldestUndeliveredTooOld",
        "EdocDeadLetters",
        "EdocRefusalSpike",
        "EdocCertificateExpiresSoon",
        "EdocAuditChainBroken",
    }
    assert wanted <= set(alerts)
    for name, rule in alerts.items():
        expr = re.sub(r"\[[^\]]*\]|\"[^\"]*\"|\([a-z_, ]*\)(?= *\()", " ", rule["expr"])
        names = set(re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", expr)) - _PROMQL_WORDS
        metrics = {n for n in names if n.startswith("edoc_")}
        assert metrics, name
        assert metrics <= exposed, (name, metrics - exposed)
        assert names - metrics <= {"agency", "code"}, (name, names - metrics)


def test_promtool_accepts_the_rules() -> None:
    promtool = require_program("promtool")
    done = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout
