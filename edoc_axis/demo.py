"""`edoc-axis demo`: the whole life cycle on a temporary axis over the embedded SQLite store.

Three agencies with real codes: Văn phòng Chính phủ sends, UBND tỉnh Quảng
Ninh receives by push through the reference endpoint, UBND tỉnh Nghệ An pulls
its inbox. Documents with attachments are sent, delivered, acknowledged and
answered with statuses; one is recalled. Nothing runs after it returns.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from edoc_axis.client import ApiResponse, AxisClient
from edoc_axis.clock import vietnam_now
from edoc_axis.config import AxisConfig, load_config
from edoc_axis.core.compose import new_document, new_status
from edoc_axis.core.receipt import verify_receipt
from edoc_axis.edxml import (
    Attachment,
    DocumentPackage,
    StatusCode,
    build_document,
    build_status,
    read_package,
    safe_parse,
)
from edoc_axis.endpoint.app import Received, make_endpoint_app
from edoc_axis.endpoint.arrival import arrival_notifier
from edoc_axis.home import init_home
from edoc_axis.pki import Issued, cert_to_pem, issue_certificate, load_certs, load_key
from edoc_axis.runtime import AxisRuntime
from edoc_axis.signature import TrustStore, VerificationPolicy, sign_package, verify_package
from edoc_axis.store.factory import open_store
from edoc_axis.terminal import print_trace

Say = Callable[[str], None]
SENDER = ("000.00.00.G22", "Văn phòng Chính phủ")
PUSHED = ("000.00.00.H49", "UBND tỉnh Quảng Ninh")
PULLER = ("000.00.00.H41", "UBND tỉnh Nghệ An")


NOTES = {
    StatusCode.ACCEPTED: "Đã tiếp nhận, vào sổ văn bản đến",
    StatusCode.ASSIGNED: "Đã phân công xử lý",
    StatusCode.PROCESSING: "Đang xử lý",
    StatusCode.FINISHED: "Đã hoàn thành",
    StatusCode.RECALL_REQUEST: "Đề nghị thu hồi văn bản",
    StatusCode.RECALL_AGREED: "Đồng ý thu hồi",
}


@dataclass
class Agency:
    code: str
    name: str
    issued: Issued
    token: str = ""

    def sign(self, raw: bytes) -> bytes:
        return sign_package(raw, self.issued.key, self.issued.cert)


def _checked(response: ApiResponse, what: str) -> ApiResponse:
    if not response.ok:
        raise RuntimeError(f"{what}: HTTP {response.status} {response.code}: {response.problem}")
    return response


class Demo:
    def __init__(self, root: Path, say: Say) -> None:
        self.root, self.say = root, say
        self.home = init_home(root / "axis")
        config = load_config(self.home.config)
        # Short back-off so a retry, should one happen, is seen within the demo.
        self.config: AxisConfig = dataclasses.replace(
            config, retry=dataclasses.replace(config.retry, base_s=0.2, cap_s=2.0)
        )
        pki = self.home.root / "pki"
        self.ca = Issued(key=load_key(pki / "ca.key.pem"), cert=load_certs(pki / "ca.cert.pem")[0])
        self.axis_cert = load_certs(pki / "axis.cert.pem")[0]
        self.agencies = {
            code: Agency(code, name, issue_certificate(self.ca, name, agency_code=code))
            for code, name in (SENDER, PUSHED, PULLER)
        }
        self.url = ""

    def agency(self, code: str) -> Agency:
        return self.agencies[code]

    async def register(self, endpoint_url: str) -> None:
        async with AxisClient(self.url, self.home.operator_token) as operator:
            for agency in self.agencies.values():
                push = agency.code == PUSHED[0]
                body = {
                    "code": agency.code,
                    "name": agency.name,
                    "delivery_mode": "push" if push else "pull",
                    "endpoint_url": endpoint_url if push else None,
                    "certificates": [cert_to_pem(agency.issued.cert).decode()],
                }
                created = _checked(
                    await operator.request("POST", "/admin/v1/agencies", json_body=body),
                    "register",
                )
                agency.token = created.json()["token"]
                mode = f"push → {endpoint_url}" if push else "pull"
                self.say(f"  registered {agency.code} {agency.name} ({mode})")

    def build(
        self, subject: str, number: str, recipients: list[str], files: dict[str, bytes]
    ) -> bytes:
        attachments = [
            Attachment.from_bytes(f"cid:{i}", name, data, content_type=_content_type(name))
            for i, (name, data) in enumerate(files.items(), start=1)
        ]
        package = new_document(
            sender=SENDER[0],
            sender_name=SENDER[1],
            recipients=recipients,
            subject=subject,
            at=vietnam_now(),
            code_number=number,
            code_notation="VPCP-KSTT",
            recipient_names={PUSHED[0]: PUSHED[1], PULLER[0]: PULLER[1]},
            attachments=attachments,
        )
        return self.agency(SENDER[0]).sign(build_document(package))

    async def send(self, raw: bytes) -> str:
        sender = self.agency(SENDER[0])
        async with AxisClient(self.url, sender.token) as client:
            response = _checked(await client.submit(raw), "send")
        receipt = verify_receipt(response.body, [self.axis_cert])
        receipts = self.root / "receipts"
        receipts.mkdir(exist_ok=True)
        (receipts / f"{receipt.axis_id}.receipt.xml").write_bytes(response.body)
        assert receipt.sha256 == hashlib.sha256(raw).hexdigest()
        self.say(
            f"  accepted {receipt.axis_id}: receipt signed by the axis, digest matches, "
            f"recipients {', '.join(receipt.recipients)}"
        )
        return receipt.axis_id

    async def status(
        self, code: str, axis_id: str, status: StatusCode, to: str, staff: str
    ) -> None:
        agency = self.agency(code)
        async with AxisClient(self.url, agency.token) as client:
            document = read_package((await client.document(axis_id)).body)
            assert isinstance(document, DocumentPackage)
            package = new_status(
                sender=code,
                about_document_id=document.document_id,
                counterparty=to,
                code=status,
                at=vietnam_now(),
                staff=staff,
                department="Văn thư",
                description=NOTES.get(status),
            )
            _checked(await client.post_status(agency.sign(build_status(package))), "status")
        self.say(f"  {code} → {to}: status {status.value} ({status.info.meaning})")

    async def pull(self, code: str) -> list[str]:
        agency = self.agency(code)
        folder = self.root / f"inbox-{code}"
        folder.mkdir(exist_ok=True)
        trust = TrustStore([self.ca.cert])
        saved = []
        async with AxisClient(self.url, agency.token) as client:
            listing = _checked(await client.inbox(), "inbox").json()
            for item in listing["items"]:
                raw = _checked(await client.inbox_document(item["id"]), "fetch").body
                verified = verify_package(safe_parse(raw), VerificationPolicy())
                trust.check(verified.certificate, datetime.now(UTC), verified.chain)
                (folder / f"{item['id']}.edxml").write_bytes(raw)
                _checked(await client.ack(item["id"]), "ack")
                saved.append(item["id"])
                self.say(
                    f"  {code} pulled {item['id']} ({item['subject']}), signature and "
                    "certificate checked, saved, acknowledged → status 01"
                )
        return saved

    async def trace(self, axis_id: str) -> dict[str, Any]:
        async with AxisClient(self.url, self.agency(SENDER[0]).token) as client:
            return dict(_checked(await client.trace(axis_id), "trace").json())


def _content_type(name: str) -> str:
    return "application/pdf" if name.endswith(".pdf") else "text/plain; charset=utf-8"


async def _wait_for(check: Callable[[], Any], timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the demo waited too long for a delivery")
        await asyncio.sleep(0.05)


async def _start_endpoint(demo: Demo, folder: Path) -> tuple[web.AppRunner, str]:
    pushed = demo.agency(PUSHED[0])

    async def answer_arrived(received: Received) -> None:
        notify = arrival_notifier(
            demo.url, pushed.token, pushed.code, key=pushed.issued.key, cert=pushed.issued.cert
        )
        await notify(received)

    app = make_endpoint_app(
        folder, [demo.axis_cert], TrustStore([demo.ca.cert]), on_stored=answer_arrived
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/"


async def _story(demo: Demo, endpoint_dir: Path) -> tuple[str, str]:
    say = demo.say
    say("4. Văn phòng Chính phủ sends two signed documents with attachments:")
    letter = demo.build(
        "V/v triển khai kết nối, liên thông phần mềm quản lý văn bản",
        "12",
        [PUSHED[0], PULLER[0]],
        {
            "cong-van-12.pdf": b"%PDF-1.4\n% demo\n" + "Công văn số 12".encode() * 200,
            "phu-luc.txt": "Phụ lục: danh sách đơn vị".encode(),
        },
    )
    first = await demo.send(letter)
    notice = demo.build(
        "V/v lịch họp giao ban tháng 12",
        "13",
        [PULLER[0]],
        {"lich-hop.txt": "Thứ Hai, 8 giờ".encode()},
    )
    second = await demo.send(notice)

    async def pushed_and_answered() -> bool:
        trace = await demo.trace(first)
        mine = [d for d in trace["deliveries"] if d["agency"] == PUSHED[0]]
        return bool(mine) and mine[0]["state"] == "delivered" and mine[0]["status_code"] == "01"

    await _wait_for(pushed_and_answered)
    say(
        f"5. Pushed to {PUSHED[1]}: its endpoint checked the axis's delivery signature and the "
        f"document's, stored it once under {endpoint_dir / 'documents'} and answered status 01"
    )
    say(f"6. {PULLER[1]} pulls its inbox:")
    await demo.pull(PULLER[0])
    say("7. Statuses flow back to the sender:")
    await demo.status(PUSHED[0], first, StatusCode.ACCEPTED, SENDER[0], "Trần Văn Bình")
    for code in (
        StatusCode.ACCEPTED,
        StatusCode.ASSIGNED,
        StatusCode.PROCESSING,
        StatusCode.FINISHED,
    ):
        await demo.status(PULLER[0], first, code, SENDER[0], "Nguyễn Thị Ngọc Trâm")
    say("8. The sender recalls the second document; the recipient agrees:")
    await demo.status(SENDER[0], second, StatusCode.RECALL_REQUEST, PULLER[0], "Văn thư VPCP")
    await demo.status(
        PULLER[0], second, StatusCode.RECALL_AGREED, SENDER[0], "Nguyễn Thị Ngọc Trâm"
    )
    return first, second


async def run_demo(root: Path, say: Say = print) -> None:
    """Run the whole demo in ``root`` (which must be empty or absent)."""
    demo = Demo(root, say)
    say(f"1. An axis home in {demo.home.root}: config, development CA, axis key, SQLite store")
    store = await open_store(demo.config)
    runtime = AxisRuntime(demo.config, store, poll_interval_s=0.1)
    endpoint: web.AppRunner | None = None
    try:
        demo.url = await runtime.start("127.0.0.1", 0)
        say(f"   the axis listens on {demo.url}")
        endpoint_dir = root / f"endpoint-{PUSHED[0]}"
        endpoint, endpoint_url = await _start_endpoint(demo, endpoint_dir)
        say(f"2. The reference push endpoint of {PUSHED[1]} listens on {endpoint_url}")
        say("3. Three agencies registered through the operator API:")
        await demo.register(endpoint_url)
        first, second = await _story(demo, endpoint_dir)
        for axis_id in (first, second):
            say("")
            print_trace(await demo.trace(axis_id))
        report = await store.verify_audit()
        say("")
        say(f"Audit chain: {report.entries} entries, intact: {report.ok}")
        _where(demo, endpoint_dir)
    finally:
        if endpoint is not None:
            await endpoint.cleanup()
        await runtime.stop()
        await store.close()


def _where(demo: Demo, endpoint_dir: Path) -> None:
    say = demo.say
    say("Where the files are:")
    say(f"  axis home and config     {demo.home.config}")
    say(f"  SQLite store             {demo.config.store_path}")
    say(f"  signed receipts          {demo.root / 'receipts'}")
    say(f"  pushed documents         {endpoint_dir / 'documents'}")
    say(f"  pulled documents         {demo.root / ('inbox-' + PULLER[0])}")
    say(f"  axis certificate         {demo.config.axis_cert}")
