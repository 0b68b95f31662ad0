"""`edoc-axis demo --federation`: three axes relaying one signed document across provinces.

Two province axes (LGSP-H26, LGSP-H27) and the national one (NGSP) run in
this process, each with its own home, key, SQLite store and HTTP port. They
are linked as two operators would link them, through the operator API
(/admin/v1/peers, tokens exchanged both ways). One national CA issued every
agency's certificate and every axis trusts it. An agency of province H26
sends a signed document to an agency of province H27: LGSP-H26 relays it to
NGSP, NGSP to LGSP-H27, where the recipient pulls the sender's exact bytes,
checks the sender's signature, acknowledges (01) and accepts (03); both
statuses travel back along the path. Every line printed is read from the
axes' answers. Nothing runs after it returns.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edoc_axis.client import AxisClient
from edoc_axis.clock import vietnam_now
from edoc_axis.config import AxisConfig, RetrySettings, load_config
from edoc_axis.core.compose import new_document, new_status
from edoc_axis.core.receipt import Receipt, verify_receipt
from edoc_axis.demo import NOTES, Agency, Say, _checked, _wait_for
from edoc_axis.edxml import (
    Attachment,
    DocumentPackage,
    StatusCode,
    build_document,
    build_status,
    read_package,
    safe_parse,
)
from edoc_axis.home import init_home
from edoc_axis.pki import cert_to_pem, create_ca, issue_certificate, load_certs
from edoc_axis.runtime import AxisRuntime
from edoc_axis.signature import TrustStore, VerificationPolicy, verify_package
from edoc_axis.store import Store
from edoc_axis.store.factory import open_store
from edoc_axis.terminal import local_time, print_trace

NATIONAL = "NGSP"
# (axis, the pattern of agency codes the national axis routes down to it)
PROVINCES = (("LGSP-H26", "*.H26"), ("LGSP-H27", "*.H27"))
SENDER = ("000.00.00.H26", "UBND tỉnh (mã H26)", "LGSP-H26")
RECIPIENT = ("000.00.01.H27", "Đơn vị trực thuộc tỉnh (mã H27)", "LGSP-H27")


@dataclass
class Axis:
    """One running axis of the federation: its home, config, store and listening runtime."""

    name: str
    home: Path
    config: AxisConfig
    store: Store
    operator_token: str
    runtime: AxisRuntime | None = None

    @property
    def url(self) -> str:
        assert self.runtime is not None
        return self.runtime.url

    @property
    def cert_pem(self) -> str:
        return self.config.axis_cert.read_text()

    def operator(self) -> AxisClient:
        return AxisClient(self.url, self.operator_token)


class Federation:
    def __init__(self, root: Path, say: Say) -> None:
        self.root, self.say = root, say
        self.ca = create_ca("National CA (edoc-axis federation demo)")
        self.ca_file = root / "national-ca.pem"
        root.mkdir(parents=True, exist_ok=True)
        self.ca_file.write_bytes(cert_to_pem(self.ca.cert))
        self.axes: dict[str, Axis] = {}
        self.agencies: dict[str, tuple[Agency, str]] = {}  # code -> (agency, its axis)

    async def open_axis(self, name: str) -> Axis:
        home = init_home(self.root / name)
        config = dataclasses.replace(
            load_config(home.config),
            axis_name=name,
            trust_anchors=(self.ca_file,),
            crl_files=(),
            # Short back-off so a retry, should one happen, is seen within the demo.
            retry=RetrySettings(base_s=0.2, cap_s=2.0, breaker_cool_off_s=1.0),
        )
        axis = Axis(name, home.root, config, await open_store(config), home.operator_token)
        self.axes[name] = axis
        axis.runtime = AxisRuntime(config, axis.store, poll_interval_s=0.1)
        await axis.runtime.start("127.0.0.1", 0)
        return axis

    async def close(self) -> None:
        for axis in reversed(self.axes.values()):
            if axis.runtime is not None:
                await axis.runtime.stop()
            await axis.store.close()

    async def link(self, province: Axis, national: Axis, region: str) -> None:
        """Each operator registers the other axis; each gives the other its token."""
        async with province.operator() as operator:
            up = _checked(
                await operator.request(
                    "POST",
                    "/admin/v1/peers",
                    json_body={
                        "name": national.name,
                        "url": national.url,
                        "axis_cert_pem": national.cert_pem,
                        "serves": ["*"],
                    },
                ),
                f"{province.name}: add peer {national.name}",
            ).json()
        async with national.operator() as operator:
            down = _checked(
                await operator.request(
                    "POST",
                    "/admin/v1/peers",
                    json_body={
                        "name": province.name,
                        "url": province.url,
                        "axis_cert_pem": province.cert_pem,
                        "serves": [region],
                        "token": up["token"],
                    },
                ),
                f"{national.name}: add peer {province.name}",
            ).json()
        async with province.operator() as operator:
            _checked(
                await operator.request(
                    "POST", f"/admin/v1/peers/{national.name}", json_body={"token": down["token"]}
                ),
                f"{province.name}: token for {national.name}",
            )
        self.say(
            f"  {province.name} → {national.name}: everything not local "
            f"({', '.join(up['serves'])}); {national.name} → {province.name}: "
            f"{', '.join(down['serves'])}; tokens exchanged both ways"
        )

    async def register(self, axis: Axis, code: str, name: str) -> Agency:
        issued = issue_certificate(self.ca, name, agency_code=code)
        agency = Agency(code, name, issued)
        async with axis.operator() as operator:
            created = _checked(
                await operator.request(
                    "POST",
                    "/admin/v1/agencies",
                    json_body={
                        "code": code,
                        "name": name,
                        "delivery_mode": "pull",
                        "certificates": [cert_to_pem(issued.cert).decode()],
                    },
                ),
                f"register {code} on {axis.name}",
            ).json()
        agency.token = created["token"]
        self.agencies[code] = (agency, axis.name)
        self.say(f"  {code} {name} on {axis.name} (pull), certificate of the national CA")
        return agency

    def client(self, code: str) -> AxisClient:
        agency, axis = self.agencies[code]
        return AxisClient(self.axes[axis].url, agency.token)


def _document(sender: Agency) -> bytes:
    package = new_document(
        sender=sender.code,
        sender_name=sender.name,
        recipients=[RECIPIENT[0]],
        subject="V/v phối hợp giải quyết thủ tục hành chính liên tỉnh",
        at=vietnam_now(),
        code_number="27",
        code_notation="UBND-VP",
        recipient_names={RECIPIENT[0]: RECIPIENT[1]},
        attachments=[
            Attachment.from_bytes(
                "cid:1",
                "cong-van-27.pdf",
                b"%PDF-1.4\n% federation demo\n" + "Công văn số 27".encode() * 200,
                content_type="application/pdf",
            )
        ],
    )
    return sender.sign(build_document(package))


async def _send(fed: Federation, sender: Agency, raw: bytes) -> Receipt:
    axis = fed.axes[SENDER[2]]
    async with fed.client(sender.code) as client:
        response = _checked(await client.submit(raw), "send")
    receipt = verify_receipt(response.body, load_certs(axis.config.axis_cert))
    (fed.root / "receipt.xml").write_bytes(response.body)
    digest = hashlib.sha256(raw).hexdigest()
    if receipt.sha256 != digest:
        raise RuntimeError(f"{axis.name}'s receipt names another digest: {receipt.sha256}")
    fed.say(
        f"  {receipt.axis_name} accepted it as {receipt.axis_id} at "
        f"{local_time(receipt.accepted_at.isoformat())}: receipt signed by {receipt.axis_name} "
        f"(verified), sha256 {digest[:16]}… matches the bytes sent"
    )
    return receipt


async def _pull(fed: Federation, recipient: Agency, sent: Receipt) -> DocumentPackage:
    """The recipient fetches, checks the original sender's signature, acknowledges (01)."""
    folder = fed.root / f"inbox-{recipient.code}"
    folder.mkdir(exist_ok=True)
    async with fed.client(recipient.code) as client:
        items = _checked(await client.inbox(), "inbox").json()["items"]
        if len(items) != 1:
            raise RuntimeError(f"{recipient.code}'s inbox holds {len(items)} documents, not 1")
        item = items[0]
        raw = _checked(await client.inbox_document(item["id"]), "fetch").body
        digest = hashlib.sha256(raw).hexdigest()
        verified = verify_package(safe_parse(raw), VerificationPolicy())
        TrustStore([fed.ca.cert]).check(verified.certificate, datetime.now(UTC), verified.chain)
        signer = fed.agencies[SENDER[0]][0].issued.cert
        same_bytes = "the same" if digest == sent.sha256 else "NOT the same"
        fed.say(
            f"  {recipient.code} pulled {item['id']} from {RECIPIENT[2]} (sender {item['sender']})"
        )
        fed.say(
            f"  sha256 {digest[:16]}… is {same_bytes} as in the sender's receipt at "
            f"{SENDER[2]}: the exact bytes, never re-serialised"
        )
        if verified.certificate != signer:
            raise RuntimeError("the document is not signed by the sender's certificate")
        fed.say(
            f"  the signature verifies with {SENDER[0]}'s own certificate "
            "(issued by the national CA, checked here)"
        )
        (folder / f"{item['id']}.edxml").write_bytes(raw)
        _checked(await client.ack(item["id"]), "ack")
        fed.say(
            f"  saved, acknowledged on {RECIPIENT[2]}, which makes of it status 01 to the sender"
        )
        package = read_package(raw)
        assert isinstance(package, DocumentPackage)
        return package


async def _answer(fed: Federation, recipient: Agency, document: DocumentPackage) -> None:
    package = new_status(
        sender=recipient.code,
        about_document_id=document.document_id,
        counterparty=SENDER[0],
        code=StatusCode.ACCEPTED,
        at=vietnam_now(),
        staff="Lê Thị Hồng",
        department="Văn thư",
        description=NOTES[StatusCode.ACCEPTED],
    )
    async with fed.client(recipient.code) as client:
        _checked(await client.post_status(recipient.sign(build_status(package))), "status")
    code = StatusCode.ACCEPTED
    fed.say(f"  {recipient.code} → {SENDER[0]}: status {code.value} ({code.info.meaning})")


async def _statuses_back(fed: Federation, receipt: Receipt) -> list[dict[str, Any]]:
    """The statuses about the document at the sender's axis, once 01 and 03 are there."""
    found: list[dict[str, Any]] = []

    async def arrived() -> bool:
        nonlocal found
        async with fed.client(SENDER[0]) as client:
            items = _checked(await client.statuses(), "statuses").json()["items"]
        found = [s for s in items if s.get("id") == receipt.axis_id]
        codes = {s["status_code"] for s in found}
        return {"01", "03"} <= codes

    await _wait_for(arrived, timeout_s=30.0)
    return sorted(found, key=lambda s: datetime.fromisoformat(s["received_at"]))


Chain = list[tuple[str, dict[str, Any] | None, bool]]


def _chain(trace: dict[str, Any], agency: str) -> Chain:
    """Each axis after the sender's, read from the sender's trace: (axis, the delivery to
    ``agency`` as that axis shows it, whether the receipt it signed verified)."""
    chain: Chain = []
    mine = [d for d in trace["deliveries"] if d["agency"] == agency]
    relay = mine[0].get("relay") if mine else None
    while relay:
        following = relay.get("next") or {}
        verified = bool((relay.get("receipt") or {}).get("verified"))
        mine = [d for d in following.get("deliveries", []) if d["agency"] == agency]
        chain.append((relay["peer"], mine[0] if mine else None, verified))
        relay = mine[0].get("relay") if mine else None
    return chain


async def _trace(fed: Federation, receipt: Receipt) -> dict[str, Any]:
    async with fed.client(SENDER[0]) as client:
        return dict(_checked(await client.trace(receipt.axis_id), "trace").json())


def _codes(delivery: dict[str, Any] | None) -> set[str]:
    return {s["status_code"] for s in (delivery or {}).get("statuses", [])}


async def _story(fed: Federation) -> Receipt:
    say = fed.say
    sender, _ = fed.agencies[SENDER[0]]
    recipient, _ = fed.agencies[RECIPIENT[0]]
    say(f"4. {SENDER[0]} sends a signed document with an attachment to {RECIPIENT[0]}:")
    raw = _document(sender)
    receipt = await _send(fed, sender, raw)

    async def in_inbox() -> bool:
        async with fed.client(recipient.code) as client:
            return bool(_checked(await client.inbox(), "inbox").json()["items"])

    await _wait_for(in_inbox, timeout_s=30.0)
    chain = _chain(await _trace(fed, receipt), RECIPIENT[0])
    path = " → ".join([SENDER[2], *(axis for axis, _, _ in chain)])
    verified = sum(1 for _, _, ok in chain if ok)
    say(
        f"5. It reached {RECIPIENT[2]} by relay, {path} (from the sender's trace: "
        f"{verified} of {len(chain)} hop receipts signed by the next axis and verified):"
    )
    if verified != len(chain) or not chain or chain[-1][0] != RECIPIENT[2]:
        raise RuntimeError(f"the relay path is not the expected one with verified receipts: {path}")
    document = await _pull(fed, recipient, receipt)
    say("6. The recipient accepts the document:")
    await _answer(fed, recipient, document)
    statuses = await _statuses_back(fed, receipt)
    trace = await _trace(fed, receipt)
    at_sender = [d for d in trace["deliveries"] if d["agency"] == RECIPIENT[0]]
    parts = [(SENDER[2], at_sender[0] if at_sender else None)]
    parts += [(axis, delivery) for axis, delivery, _ in _chain(trace, RECIPIENT[0])]
    holding = [axis for axis, delivery in reversed(parts) if {"01", "03"} <= _codes(delivery)]
    say(
        f"7. The statuses came back along the path: 01 and 03 are recorded at "
        f"{' → '.join(holding)}; at the sender's axis:"
    )
    for status in statuses:
        say(
            f"  {local_time(status['received_at'])}  {SENDER[0]} has status "
            f"{status['status_code']} {status['meaning']} (from {status['from']})"
        )
    return receipt


async def run_federation_demo(root: Path, say: Say = print) -> None:
    """Run the federation demo in ``root`` (which must be empty or absent)."""
    fed = Federation(root, say)
    try:
        say(
            f"1. Three axes, each with its own home, key and SQLite store under {root}, "
            f"and one national CA ({fed.ca_file.name}) that every axis trusts:"
        )
        for name in (PROVINCES[0][0], NATIONAL, PROVINCES[1][0]):
            axis = await fed.open_axis(name)
            say(f"  {name:9} listens on {axis.url}")
        say("2. The operators link each province axis with the national one (/admin/v1/peers):")
        for name, region in PROVINCES:
            await fed.link(fed.axes[name], fed.axes[NATIONAL], region)
        say("3. One agency in each province, registered on its own province's axis:")
        for code, name, home_axis in (SENDER, RECIPIENT):
            await fed.register(fed.axes[home_axis], code, name)
        receipt = await _story(fed)
        say("")
        say(f"The sender's trace, as {SENDER[2]} shows it (each later axis asked for its part):")
        print_trace(await _trace(fed, receipt))
        say("")
        for axis in fed.axes.values():
            report = await axis.store.verify_audit()
            say(f"Audit chain of {axis.name}: {report.entries} entries, intact: {report.ok}")
        _where(fed)
    finally:
        await fed.close()


def _where(fed: Federation) -> None:
    say = fed.say
    say("Where the files are:")
    say(f"  national CA certificate  {fed.ca_file}")
    for axis in fed.axes.values():
        say(f"  {axis.name + ' home':24} {axis.home} (SQLite {axis.config.store_path.name})")
    say(f"  sender's signed receipt  {fed.root / 'receipt.xml'}")
    say(f"  pulled document          {fed.root / ('inbox-' + RECIPIENT[0])}")
