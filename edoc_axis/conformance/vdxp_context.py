"""The VDXP run context: the suite's agencies, each also connected as a VDXP system."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from edoc_axis.conformance.context import AxisTarget, RunContext, http_session
from edoc_axis.conformance.model import CaseFailed, CaseSkipped, Probe
from edoc_axis.conformance.setup import SetupFailed
from edoc_axis.vdxp_client import VdxpAnswer, VdxpClient, sdk_timestamp

# The roles that get a VDXP system: the sender's and the recipient's.
VDXP_ROLES = ("sender", "recipient")


@dataclass(frozen=True)
class VdxpSystemCreds:
    system_id: str
    secret: str


async def register_systems(
    url: str, operator_token: str, target: AxisTarget
) -> dict[str, VdxpSystemCreds]:
    """``--setup``: a system for the sender and one for the recipient, via /admin/v1/systems."""
    systems: dict[str, VdxpSystemCreds] = {}
    headers = {"Authorization": f"Bearer {operator_token}"}
    async with http_session(30, target.tls) as session:
        for role in VDXP_ROLES:
            system_id = f"conf.{role}.{secrets.token_hex(3)}"
            body = {"system_id": system_id, "agencies": [target.agencies[role].code]}
            async with session.post(
                f"{url.rstrip('/')}/admin/v1/systems", json=body, headers=headers
            ) as response:
                data = await response.json(content_type=None)
                if response.status != 201:
                    raise SetupFailed(f"registering VDXP system {system_id}: {data}")
            systems[role] = VdxpSystemCreds(system_id, str(data["secret"]))
    return systems


class VdxpRunContext(RunContext):
    """A RunContext that also speaks VDXP as the sender's and the recipient's systems."""

    def __init__(
        self,
        target: AxisTarget,
        systems: dict[str, VdxpSystemCreds],
        *,
        prefix: str = "/vdxp",
        timeout_s: float = 30.0,
    ) -> None:
        super().__init__(target, timeout_s=timeout_s)
        self.systems = systems
        self.endpoint = target.url.rstrip("/") + prefix
        self.timestamp = sdk_timestamp(datetime.now(UTC))

    def vdxp(self, role: str) -> VdxpClient:
        creds = self.systems.get(role)
        if creds is None:
            raise CaseSkipped(f"needs a VDXP system for '{role}' (--setup or --vdxp-system)")
        return self.as_system(creds.system_id, creds.secret)

    def as_system(self, system_id: str, secret: str) -> VdxpClient:
        assert self._session is not None, "use 'async with VdxpRunContext(...)'"
        return VdxpClient(self._session, self.endpoint, system_id, secret, self.timestamp)

    async def vdxp_send(self, probe: Probe, raw: bytes, sender: str = "sender") -> str:
        """Send a package over VDXP as ``sender``'s system and require OK; its DocId."""
        answer = await self.vdxp(sender).send(raw, self.code(sender))
        expect_ok(probe, answer)
        return str(answer.json()["DocId"])


def _shown(answer: VdxpAnswer) -> str:
    try:
        data: Any = answer.json()
    except ValueError:
        return f"HTTP {answer.http_status} (not JSON)"
    if not isinstance(data, dict):
        return f"HTTP {answer.http_status} (not a JSON object)"
    return f"{data.get('status')} {data.get('ErrorCode')}"


def expect_ok(probe: Probe, answer: VdxpAnswer) -> dict[str, Any]:
    """Require status OK with ErrorCode "0"; the answer's JSON."""
    probe.expected, probe.observed = "OK 0", _shown(answer)
    if probe.observed != "OK 0":
        raise CaseFailed(f"expected OK 0, got {probe.observed}: {answer.body[:200]!r}")
    data: dict[str, Any] = answer.json()
    return data


def expect_fail(probe: Probe, answer: VdxpAnswer, code: str) -> None:
    """Require a FAIL answer with ``code`` that the client can read (HTTP 200, JSON)."""
    probe.expected, probe.observed = f"FAIL {code}", _shown(answer)
    if answer.http_status != 200 or probe.observed != probe.expected:
        raise CaseFailed(
            f"expected FAIL {code} (HTTP 200), got HTTP {answer.http_status} {probe.observed}"
        )
