"""Three real axes on ephemeral ports: NGSP and the province axes LGSP-H26, LGSP-H27.

Every agency certificate is issued by one national CA that every axis trusts;
each axis has its own key (its receipts and relay signatures). The province
axes and NGSP know each other as peers, tokens exchanged as two operators would.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from edoc_axis.app import make_app
from edoc_axis.config import AxisConfig, RetrySettings, load_config
from edoc_axis.core.compose import new_document
from edoc_axis.core.delivery_auth import DeliveryFacts, delivery_headers
from edoc_axis.edxml import build_document
from edoc_axis.home import init_home
from edoc_axis.keyfiles import load_certs, load_key
from edoc_axis.pki import Issued, cert_to_pem, create_ca, issue_certificate
from edoc_axis.service import peers
from edoc_axis.signature import sign_package
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
    schema: str | None = None  # on PostgreSQL: the schema its tables are in

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

    def __init__(
        self,
        nodes: dict[str, Node],
        ca: Issued,
        session: aiohttp.ClientSession,
        tokens: dict[tuple[str, str], str],
    ):
        self.nodes, self.ca, self.session = nodes, ca, session
        # (axis, peer) -> the token ``axis`` issued for ``peer`` to present to it
        self.tokens = tokens

    async def call(
        self, node: str, method: str, path: str, token: str, **kwargs: Any
    ) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        url = self.nodes[node].url + path
        async with self.session.request(method, url, headers=headers, **kwargs) as response:
            return response.status, await response.read()

    async def submit(self, node: str, sender: Agency, raw: bytes) -> tuple[int, bytes]:
        """``sender`` posts a signed document to its own axis ``node``."""
        return await self.call(
            node,
            "POST",
            "/api/v1/documents",
            sender.token,
            data=raw,
            headers={"Content-Type": "application/xml"},
        )

    def issue(self, code: str) -> Issued:
        """A certificate of the national CA for ``code`` (every axis trusts it)."""
        return issue_certificate(self.ca, f"Agency {code}", agency_code=code)

    async def register(self, node: str, code: str, *, endpoint: str | None = None) -> Agency:
        """An agency of ``node``: pull, or push to ``endpoint``."""
        issued = self.issue(code)
        status, body = await self.call(
            node,
            "POST",
            "/admin/v1/agencies",
            self.nodes[node].operator_token,
            json={
                "code": code,
                "name": f"Agency {code}",
                "delivery_mode": "push" if endpoint else "pull",
                "endpoint_url": endpoint,
                "certificates": [cert_to_pem(issued.cert).decode()],
            },
        )
        assert status == 201, body
        return Agency(code, issued, json.loads(body)["token"])


Configure = Callable[[str, AxisConfig], AxisConfig]


async def _node(
    root: Path, name: str, ca_file: Path, dsn: str | None = None, configure: Configure | None = None
) -> Node:
    """An axis over SQLite, or over PostgreSQL (a schema of its own) with ``dsn``."""
    home = init_home(root / name)
    config = load_config(home.config)
    config = dataclasses.replace(
        config,
        axis_name=name,
        trust_anchors=(ca_file,),
        crl_files=(),
        retry=RetrySettings(base_s=0.1, cap_s=0.5, breaker_cool_off_s=0.5),
    )
    if configure is not None:
        config = configure(name, config)
    if dsn is None:
        store = await open_store(config)
    else:
        from edoc_axis.store.postgresql import PostgresStore

        schema = f"fed_{secrets.token_hex(6)}"
        store = PostgresStore(dsn, migrate=True, schema=schema, min_size=1, max_size=5)
        await store.open()
        return Node(name, config, store, home.operator_token, schema=schema)
    return Node(name, config, store, home.operator_token)


async def _link(child: Node, parent: Node, region: str, tokens: dict[tuple[str, str], str]) -> None:
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
    tokens[(child.name, parent.name)] = token_for_parent
    tokens[(parent.name, child.name)] = token_for_child


@asynccontextmanager
async def federation(
    tmp_path: Path, national_dsn: str | None = None, configure: Configure | None = None
) -> AsyncIterator[Federation]:
    """The three axes; NGSP on PostgreSQL with ``national_dsn``; ``configure`` changes
    an axis's configuration (by its name) before it starts."""
    ca = create_ca("National CA (test)")
    ca_file = tmp_path / "national-ca.pem"
    ca_file.write_bytes(cert_to_pem(ca.cert))
    nodes = {
        name: await _node(
            tmp_path, name, ca_file, national_dsn if name == "NGSP" else None, configure
        )
        for name in ("NGSP", "LGSP-H26", "LGSP-H27")
    }
    async with AsyncExitStack() as stack:
        for node in nodes.values():
            await node.start()
            stack.push_async_callback(node.store.close)
            stack.push_async_callback(node.stop)
        tokens: dict[tuple[str, str], str] = {}
        await _link(nodes["LGSP-H26"], nodes["NGSP"], "*.H26", tokens)
        await _link(nodes["LGSP-H27"], nodes["NGSP"], "*.H27", tokens)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        yield Federation(nodes, ca, session, tokens)


def signed_document(
    sender: Agency, recipient: str, number: int, *, subject: str | None = None
) -> bytes:
    package = new_document(
        sender=sender.code,
        recipients=[recipient],
        at=datetime.now(UTC) + VN,
        code_number=str(number),
        subject=subject or f"Công văn liên tỉnh số {number}",
    )
    return sign_package(build_document(package), sender.issued.key, sender.issued.cert)


async def inbox(fed: Federation, node: str, agency: Agency) -> list[dict[str, Any]]:
    status, body = await fed.call(node, "GET", "/api/v1/inbox?limit=100", agency.token)
    assert status == 200, body
    items: list[dict[str, Any]] = json.loads(body)["items"]
    return items


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await wait_for(check, timeout_s=30.0, what=what, poll_s=0.05)


async def relay(
    fed: Federation,
    to_axis: str,
    as_peer: str,
    body: bytes,
    *,
    recipient: str,
    path: str | None = None,
    token: str | None = None,
    signed_by: str | None = None,
    kind: str = "document",
) -> tuple[int, bytes]:
    """A relay as peer ``as_peer`` makes it (its token, its axis signature), changeable."""
    signer = fed.nodes[signed_by or as_peer].config
    facts = DeliveryFacts(
        kind=kind,
        axis_id="relay-test",
        sender="-",
        recipient=recipient,
        attempt=1,
        timestamp=int(datetime.now(UTC).timestamp()),
    )
    headers = delivery_headers(
        facts, body, load_key(signer.axis_key), load_certs(signer.axis_cert)[0]
    )
    headers["Content-Type"] = "application/xml"
    headers[peers.H_PATH] = path if path is not None else as_peer
    return await fed.call(
        to_axis,
        "POST",
        "/api/v1/relay",
        token if token is not None else fed.tokens[(to_axis, as_peer)],
        data=body,
        headers=headers,
    )
