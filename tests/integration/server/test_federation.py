"""Three real axes (two provinces and the national one) relaying signed documents.

A document from an agency of province H26 (axis LGSP-H26) to an agency of
province H27 (axis LGSP-H27) crosses NGSP. Its bytes stay the sender's, so the
sender's signature verifies at the recipient; each axis signs its own receipt
and the sender's trace shows every hop; the recipient's statuses come back
along the path; a province axis that is down for a while gets its backlog once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from lxml import etree

from edoc_axis.app import make_app
from edoc_axis.config import AxisConfig, RetrySettings, load_config
from edoc_axis.core.compose import new_document, new_status
from edoc_axis.edxml import StatusCode, build_document, build_status
from edoc_axis.home import init_home
from edoc_axis.pki import Issued, cert_to_pem, create_ca, issue_certificate
from edoc_axis.service import peers
from edoc_axis.signature import VerificationPolicy, sign_package, verify_package
from edoc_axis.store import Store
from edoc_axis.store.factory import open_store
from tests.waiting import eventually as wait_for

VN = timedelta(hours=7)
H26_SENDER = "000.00.00.H26"
H27_RECIPIENT = "000.00.01.H27"


@dataclass
class Node:
    """One running axis: its config, store and HTTP server (which can go down and up)."""

    name: str
    config: AxisConfig
    store: Store
    operator_token: str
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self, port: int = 0) -> None:
        app = make_app(self.config, self.store, poll_interval_s=0.1)
        self.server = TestServer(app, host="127.0.0.1", port=port)
        await self.server.start_server()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()


@dataclass
class Agency:
    code: str
    issued: Issued
    token: str


class Federation:
    """Three axes, a national CA that issued every agency's certificate, one HTTP session."""

    def __init__(self, nodes: dict[str, Node], ca: Issued, session: aiohttp.ClientSession):
        self.nodes, self.ca, self.session = nodes, ca, session

    async def call(
        self, node: str, method: str, path: str, token: str, **kwargs: Any
    ) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        url = self.nodes[node].url + path
        async with self.session.request(method, url, headers=headers, **kwargs) as response:
            return response.status, await response.read()

    async def register(self, node: str, code: str) -> Agency:
        issued = issue_certificate(self.ca, f"Agency {code}", agency_code=code)
        status, body = await self.call(
            node,
            "POST",
            "/admin/v1/agencies",
            self.nodes[node].operator_token,
            json={
                "code": code,
                "name": f"Agency {code}",
                "delivery_mode": "pull",
                "certificates": [cert_to_pem(issued.cert).decode()],
            },
        )
        assert status == 201, body
        return Agency(code, issued, json.loads(body)["token"])


async def _node(root: Path, name: str, ca_file: Path) -> Node:
    home = init_home(root / name)
    config = load_config(home.config)
    config = dataclasses.replace(
        config,
        axis_name=name,
        trust_anchors=(ca_file,),
        crl_files=(),
        retry=RetrySettings(base_s=0.1, cap_s=0.5, breaker_cool_off_s=0.5),
    )
    store = await open_store(config)
    return Node(name, config, store, home.operator_token)


async def _link(child: Node, parent: Node, region: str) -> None:
    """A province axis and the national one, each knowing the other (tokens exchanged)."""
    now = datetime.now(UTC)
    up, token_for_parent = await peers.add_peer(
        child.store,
        child.config,
        name=parent.name,
        url=parent.url,
        axis_cert_pem=parent.config.axis_cert.read_bytes(),
        serves=("*",),
        at=now,
    )
    down, token_for_child = await peers.add_peer(
        parent.store,
        parent.config,
        name=child.name,
        url=child.url,
        axis_cert_pem=child.config.axis_cert.read_bytes(),
        serves=(region,),
        token=token_for_parent,
        at=now,
    )
    await peers.update_peer(child.store, child.config, up.name, token=token_for_child, at=now)
    assert down.name == child.name


@asynccontextmanager
async def federation(tmp_path: Path) -> AsyncIterator[Federation]:
    ca = create_ca("National CA (test)")
    ca_file = tmp_path / "national-ca.pem"
    ca_file.write_bytes(cert_to_pem(ca.cert))
    nodes = {
        name: await _node(tmp_path, name, ca_file) for name in ("NGSP", "LGSP-H26", "LGSP-H27")
    }
    async with AsyncExitStack() as stack:
        for node in nodes.values():
            await node.start()
            stack.push_async_callback(node.store.close)
            stack.push_async_callback(node.stop)
        await _link(nodes["LGSP-H26"], nodes["NGSP"], "*.H26")
        await _link(nodes["LGSP-H27"], nodes["NGSP"], "*.H27")
        session = await stack.enter_async_context(aiohttp.ClientSession())
        yield Federation(nodes, ca, session)


def signed_document(sender: Agency, recipient: str, number: int) -> bytes:
    package = new_document(
        sender=sender.code,
        recipients=[recipient],
        at=datetime.now(UTC) + VN,
        code_number=str(number),
        subject=f"Công văn liên tỉnh số {number}",
    )
    return sign_package(build_document(package), sender.issued.key, sender.issued.cert)


async def inbox(fed: Federation, node: str, agency: Agency) -> list[dict[str, Any]]:
    status, body = await fed.call(node, "GET", "/api/v1/inbox?limit=100", agency.token)
    assert status == 200, body
    items: list[dict[str, Any]] = json.loads(body)["items"]
    return items


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await wait_for(check, timeout_s=30.0, what=what, poll_s=0.05)


async def test_a_document_crosses_three_axes_with_its_signature_and_comes_back_answered(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as fed:
        sender = await fed.register("LGSP-H26", H26_SENDER)
        recipient = await fed.register("LGSP-H27", H27_RECIPIENT)
        raw = signed_document(sender, H27_RECIPIENT, 1)

        status, receipt = await fed.call(
            "LGSP-H26",
            "POST",
            "/api/v1/documents",
            sender.token,
            data=raw,
            headers={"Content-Type": "application/xml"},
        )
        assert status == 202, receipt
        axis_id = etree.fromstring(receipt).findtext("{urn:edoc-axis:receipt:1}AxisId")

        async def arrived() -> bool:
            return len(await inbox(fed, "LGSP-H27", recipient)) == 1

        await eventually(arrived, "the document reached the recipient's axis")
        item = (await inbox(fed, "LGSP-H27", recipient))[0]
        assert item["sender"] == H26_SENDER
        status, got = await fed.call(
            "LGSP-H27", "GET", f"/api/v1/documents/{item['id']}", recipient.token
        )
        assert status == 200
        assert got == raw  # byte for byte the sender's package
        verified = verify_package(etree.fromstring(got), VerificationPolicy())
        assert verified.certificate == sender.issued.cert  # the original sender's signature

        # The recipient acknowledges (01) and accepts (03): both travel back to the sender.
        status, _ = await fed.call(
            "LGSP-H27", "POST", f"/api/v1/inbox/{item['id']}/ack", recipient.token
        )
        assert status in (200, 204)
        answer = new_status(
            sender=H27_RECIPIENT,
            about_document_id=item["document_id"],
            counterparty=H26_SENDER,
            code=StatusCode.ACCEPTED,
            at=datetime.now(UTC) + VN,
            description="Đã tiếp nhận",
        )
        signed_answer = sign_package(
            build_status(answer), recipient.issued.key, recipient.issued.cert
        )
        status, body = await fed.call(
            "LGSP-H27",
            "POST",
            "/api/v1/statuses",
            recipient.token,
            data=signed_answer,
            headers={"Content-Type": "application/xml"},
        )
        assert status in (200, 201, 202), body

        async def answered() -> bool:
            status, body = await fed.call("LGSP-H26", "GET", "/api/v1/statuses", sender.token)
            assert status == 200, body
            codes = [s["status_code"] for s in json.loads(body)["items"]]
            return "03" in codes and "01" in codes

        await eventually(answered, "statuses 01 and 03 came back to the sender")

        # The sender's trace: accepted here, relayed to NGSP (its receipt), relayed to
        # LGSP-H27 (its receipt), and there acknowledged and answered.
        status, body = await fed.call(
            "LGSP-H26", "GET", f"/api/v1/documents/{axis_id}/trace", sender.token
        )
        assert status == 200, body
        trace = json.loads(body)
        first = trace["deliveries"][0]
        assert first["agency"] == H27_RECIPIENT
        assert first["status_code"] == "03"
        hop1 = first["relay"]
        assert hop1["peer"] == "NGSP"
        assert hop1["receipt"]["verified"] is True
        assert hop1["receipt"]["axis"] == "NGSP"
        at_national = hop1["next"]
        assert at_national["axis"] == "NGSP"
        assert at_national["relay_path"] == ["LGSP-H26"]
        hop2 = at_national["deliveries"][0]["relay"]
        assert hop2["receipt"]["axis"] == "LGSP-H27"
        assert hop2["receipt"]["verified"] is True
        at_province = hop2["next"]
        assert at_province["axis"] == "LGSP-H27"
        assert at_province["relay_path"] == ["LGSP-H26", "NGSP"]
        last = at_province["deliveries"][0]
        assert last["state"] == "acknowledged"
        assert last["status_code"] == "03"


async def test_a_province_axis_down_for_a_while_gets_its_backlog_once(tmp_path: Path) -> None:
    async with federation(tmp_path) as fed:
        sender = await fed.register("LGSP-H26", H26_SENDER)
        recipient = await fed.register("LGSP-H27", H27_RECIPIENT)
        down = fed.nodes["LGSP-H27"]
        assert down.server is not None
        port = down.server.port
        await down.stop()
        sent = []
        for number in range(1, 6):
            raw = signed_document(sender, H27_RECIPIENT, number)
            status, body = await fed.call(
                "LGSP-H26",
                "POST",
                "/api/v1/documents",
                sender.token,
                data=raw,
                headers={"Content-Type": "application/xml"},
            )
            assert status == 202, body
            sent.append(raw)

        national = fed.nodes["NGSP"]

        async def waiting_at_national() -> bool:
            stats = await national.store.stats(datetime.now(UTC))
            retried = await national.store.dead_letters(10)
            assert not retried.items, "nothing may die while the province is down"
            return stats.by_state.get("pending", 0) == 5

        await eventually(waiting_at_national, "the backlog waits at NGSP")
        await asyncio.sleep(1.0)  # several failed tries and an opened circuit
        await down.start(port)

        async def all_arrived() -> bool:
            return len(await inbox(fed, "LGSP-H27", recipient)) >= 5

        await eventually(all_arrived, "the backlog reached LGSP-H27")
        await asyncio.sleep(0.5)  # time for a duplicate, if one were coming
        items = await inbox(fed, "LGSP-H27", recipient)
        assert len(items) == 5
        assert len({i["document_id"] for i in items}) == 5
        got = []
        for item in items:
            status, body = await fed.call(
                "LGSP-H27", "GET", f"/api/v1/documents/{item['id']}", recipient.token
            )
            assert status == 200
            got.append(body)
        assert sorted(got) == sorted(sent)
