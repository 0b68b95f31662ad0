"""What an axis refuses from a peer axis, and the directory peers route by.

Each attack is made the way a peer would make a relay (its token, its axis
signature, a relay path) with one thing wrong, against real axes.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

from edoc_axis.config import AxisConfig
from edoc_axis.core.compose import new_status
from edoc_axis.edxml import StatusCode, build_status, read_package
from edoc_axis.signature import sign_package
from tests.integration.server.federation_kit import (
    H26_SENDER,
    H27_RECIPIENT,
    VN,
    Agency,
    Federation,
    federation,
    inbox,
    relay,
    signed_document,
)


def code_of(answer: tuple[int, bytes]) -> tuple[int, str | None]:
    status, body = answer
    return status, json.loads(body).get("code") if status >= 400 else None


async def _two_agencies(fed: Federation) -> tuple[Agency, Agency]:
    return (
        await fed.register("LGSP-H26", H26_SENDER),
        await fed.register("LGSP-H27", H27_RECIPIENT),
    )


async def test_a_relay_must_come_from_a_registered_peer_with_its_own_key(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as fed:
        sender, _ = await _two_agencies(fed)
        raw = signed_document(sender, H27_RECIPIENT, 1)
        forged = await relay(fed, "NGSP", "LGSP-H26", raw, recipient=H27_RECIPIENT, token="edoc_x")
        assert code_of(forged) == (401, "relay.unknown-peer")
        # the right token, but the relay signed with another axis's key
        other_key = await relay(
            fed, "NGSP", "LGSP-H26", raw, recipient=H27_RECIPIENT, signed_by="LGSP-H27"
        )
        assert code_of(other_key) == (401, "relay.unknown-peer")
        # an agency's own token is no peer's
        as_agency = await relay(
            fed, "NGSP", "LGSP-H26", raw, recipient=H27_RECIPIENT, token=sender.token
        )
        assert code_of(as_agency) == (401, "relay.unknown-peer")
        assert await fed.nodes["NGSP"].store.find_document(H26_SENDER, "x") is None
        stats = await fed.nodes["NGSP"].store.stats(datetime.now(UTC))
        assert sum(stats.by_state.values()) == 0  # nothing stored, nothing queued


async def test_loops_and_long_paths_are_refused_before_the_body_is_read(tmp_path: Path) -> None:
    async with federation(tmp_path) as fed:
        sender, _ = await _two_agencies(fed)
        raw = signed_document(sender, H27_RECIPIENT, 1)
        loop = await relay(
            fed, "NGSP", "LGSP-H26", raw, recipient=H27_RECIPIENT, path="LGSP-H26,NGSP,X"
        )
        assert code_of(loop) == (422, "relay.loop")
        long_path = ",".join(f"AXIS-{n}" for n in range(5)) + ",LGSP-H26"
        hops = await relay(fed, "NGSP", "LGSP-H26", raw, recipient=H27_RECIPIENT, path=long_path)
        assert code_of(hops) == (422, "relay.hops")
        no_path = await relay(fed, "NGSP", "LGSP-H26", raw, recipient=H27_RECIPIENT, path="")
        assert code_of(no_path) == (400, "relay.invalid")
        # back to an axis the document already crossed: LGSP-H27 sent it, NGSP would
        # have to relay it back there
        back = await relay(
            fed, "NGSP", "LGSP-H26", raw, recipient=H27_RECIPIENT, path="LGSP-H27,LGSP-H26"
        )
        assert code_of(back) == (422, "relay.loop")


async def test_a_peer_relays_only_for_the_region_it_serves_and_never_for_local_agencies(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as fed:
        await _two_agencies(fed)
        # LGSP-H26 claims a sender of province H27: NGSP lets it serve *.H26 only
        stranger = await fed.register("LGSP-H27", "000.00.09.H27")
        raw = signed_document(stranger, H26_SENDER, 1)
        outside = await relay(fed, "NGSP", "LGSP-H26", raw, recipient=H26_SENDER)
        assert code_of(outside) == (403, "relay.not-allowed")
        # NGSP serves "*" for LGSP-H26, yet never for LGSP-H26's own agencies
        local = await fed.register("LGSP-H26", "000.00.05.H26")
        raw = signed_document(local, H26_SENDER, 2)
        impersonated = await relay(fed, "LGSP-H26", "NGSP", raw, recipient=H26_SENDER)
        assert code_of(impersonated) == (403, "relay.not-allowed")


async def test_the_hop_checks_the_signature_and_the_recipient_itself(tmp_path: Path) -> None:
    async with federation(tmp_path) as fed:
        sender, _ = await _two_agencies(fed)
        raw = signed_document(sender, H27_RECIPIENT, 1)
        tampered = raw.replace("Công văn".encode(), "Công vǎn".encode())
        assert tampered != raw
        changed = await relay(fed, "NGSP", "LGSP-H26", tampered, recipient=H27_RECIPIENT)
        assert code_of(changed)[0] == 422
        assert code_of(changed)[1] in ("signature.invalid", "signature.digest")
        # a recipient the package does not name
        other = await fed.register("LGSP-H27", "000.00.02.H27")
        unnamed = await relay(fed, "NGSP", "LGSP-H26", raw, recipient=other.code)
        assert code_of(unnamed) == (400, "relay.invalid")


async def test_the_same_document_over_two_paths_is_stored_and_delivered_once(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as fed:
        sender, recipient = await _two_agencies(fed)
        raw = signed_document(sender, H27_RECIPIENT, 1)
        first = await relay(
            fed, "LGSP-H27", "NGSP", raw, recipient=H27_RECIPIENT, path="LGSP-H26,NGSP"
        )
        assert first[0] == 202, first[1]
        again = await relay(fed, "LGSP-H27", "NGSP", raw, recipient=H27_RECIPIENT, path="NGSP")
        assert again[0] == 200, again[1]
        assert again[1] == first[1]  # the same receipt: the same stored document
        items = await inbox(fed, "LGSP-H27", recipient)
        assert len(items) == 1
        # other bytes under the same DocumentId are a conflict, as at any intake
        other = signed_document(sender, H27_RECIPIENT, 1, subject="Công văn đã sửa")
        assert other != raw
        conflict = await relay(fed, "LGSP-H27", "NGSP", other, recipient=H27_RECIPIENT)
        assert code_of(conflict) == (409, "document.conflict")


async def test_directories_sync_with_versions_and_tie_signers_to_senders(tmp_path: Path) -> None:
    async with federation(tmp_path) as fed:
        sender, recipient = await _two_agencies(fed)
        op = {name: node.operator_token for name, node in fed.nodes.items()}

        async def sync(axis: str, peer: str) -> dict[str, object]:
            status, body = await fed.call(axis, "POST", f"/admin/v1/peers/{peer}/sync", op[axis])
            assert status == 200, body
            report: dict[str, object] = json.loads(body)
            return report

        # what LGSP-H27 gives NGSP: its agency, its code forms, level, certificate
        status, body = await fed.call(
            "LGSP-H27", "GET", "/api/v1/relay/directory", fed.tokens[("LGSP-H27", "NGSP")]
        )
        assert status == 200, body
        listing = json.loads(body)
        assert listing["axis"] == "LGSP-H27"
        (entry,) = listing["agencies"]
        assert entry["code"] == H27_RECIPIENT
        assert entry["level"] == 2
        assert entry["codes"]["qcvn102"] == [H27_RECIPIENT]
        assert entry["certificates"][0].startswith("-----BEGIN CERTIFICATE-----")
        status, _ = await fed.call("LGSP-H27", "GET", "/api/v1/relay/directory", recipient.token)
        assert status == 401  # only peers read it

        national = await sync("NGSP", "LGSP-H27")
        assert national["added"] == [H27_RECIPIENT]
        assert (await sync("NGSP", "LGSP-H27"))["unchanged"] is True
        province = await sync("LGSP-H26", "NGSP")
        assert province["added"] == [H27_RECIPIENT]  # H26's own sender is never taken
        remote = await fed.nodes["LGSP-H26"].store.get_agency(H27_RECIPIENT)
        assert remote is not None and remote.peer == "NGSP"
        assert remote.name == f"Agency {H27_RECIPIENT}"
        assert len(remote.certificate_fingerprints) == 1  # its certificate came along

        # A status relayed for the recipient but signed by another of the national
        # CA's certificates: now that the recipient's certificate is known, refused.
        await sync("NGSP", "LGSP-H26")
        raw = signed_document(sender, H27_RECIPIENT, 1)
        status, _ = await fed.submit("LGSP-H26", sender, raw)
        assert status == 202
        impostor = fed.issue(H27_RECIPIENT)
        answer = new_status(
            sender=H27_RECIPIENT,
            about_document_id=read_package(raw).document_id,
            counterparty=H26_SENDER,
            code=StatusCode.ACCEPTED,
            at=datetime.now(UTC) + VN,
            description="giả mạo",
        )
        forged = sign_package(build_status(answer), impostor.key, impostor.cert)
        refused = await relay(
            fed,
            "LGSP-H26",
            "NGSP",
            forged,
            recipient=H26_SENDER,
            kind="status",
            path="LGSP-H27,NGSP",
        )
        assert code_of(refused) == (422, "certificate.not-agency")

        # a new agency at LGSP-H27 moves the directory's version
        await fed.register("LGSP-H27", "000.00.03.H27")
        assert (await sync("NGSP", "LGSP-H27"))["added"] == ["000.00.03.H27"]
        assert recipient.code == H27_RECIPIENT


async def test_a_test_peers_agencies_are_test_agencies_removable_with_what_they_sent(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as fed:
        node = fed.nodes["LGSP-H27"]
        op = node.operator_token
        status, body = await fed.call(
            "LGSP-H27",
            "POST",
            "/admin/v1/peers",
            op,
            json={
                "name": "conformance-x",
                "url": "http://127.0.0.1:9",
                "axis_cert_pem": fed.nodes["NGSP"].config.axis_cert.read_text(),
                "serves": ["*.H31"],
                "test": True,
            },
        )
        assert status == 201, body
        token = json.loads(body)["token"]
        status, body = await fed.call(
            "LGSP-H27",
            "POST",
            "/admin/v1/agencies",
            op,
            json={"code": "000.00.09.H27", "name": "Test recipient", "test": True},
        )
        assert status == 201, body
        stranger = Agency("000.00.07.H31", fed.issue("000.00.07.H31"), "")
        raw = signed_document(stranger, "000.00.09.H27", 1)
        relayed = await relay(
            fed,
            "LGSP-H27",
            "NGSP",
            raw,
            recipient="000.00.09.H27",
            token=token,
            path="conformance-x",
        )
        assert relayed[0] == 202, relayed[1]
        sender = await node.store.get_agency("000.00.07.H31")
        assert sender is not None and sender.test and sender.peer == "conformance-x"
        status, body = await fed.call("LGSP-H27", "DELETE", "/admin/v1/agencies/000.00.09.H27", op)
        assert status == 200, body
        status, body = await fed.call("LGSP-H27", "DELETE", "/admin/v1/agencies/000.00.07.H31", op)
        assert status == 200, body
        assert await node.store.get_agency("000.00.07.H31") is None


async def test_operators_peer_changes_keep_the_registry_honest(tmp_path: Path) -> None:
    async with federation(tmp_path) as fed:
        await _two_agencies(fed)
        op = fed.nodes["NGSP"].operator_token

        async def admin(method: str, path: str, **kwargs: object) -> tuple[int, dict[str, object]]:
            status, body = await fed.call("NGSP", method, path, op, **kwargs)
            return status, json.loads(body)

        status, body = await admin(
            "POST",
            "/admin/v1/peers",
            json={
                "name": "LGSP-H27",
                "url": "http://127.0.0.1:9",
                "axis_cert_pem": fed.nodes["LGSP-H27"].config.axis_cert.read_text(),
                "serves": ["*.H27"],
            },
        )
        assert (status, body["code"]) == (409, "peer.exists")
        status, body = await admin("POST", "/admin/v1/peers/LGSP-H27/sync")
        assert status == 200 and body["added"] == [H27_RECIPIENT], body

        # disabled: its agencies with it, and a sync would revive them: refused
        status, _ = await admin("POST", "/admin/v1/peers/LGSP-H27/disable")
        assert status == 200
        remote = await fed.nodes["NGSP"].store.get_agency(H27_RECIPIENT)
        assert remote is not None and remote.state == "disabled"
        status, body = await admin("POST", "/admin/v1/peers/LGSP-H27/sync")
        assert (status, body["code"]) == (409, "peer.disabled")
        remote = await fed.nodes["NGSP"].store.get_agency(H27_RECIPIENT)
        assert remote is not None and remote.state == "disabled"

        # enabled again: the next sync applies the whole directory, not "unchanged"
        status, body = await admin("POST", "/admin/v1/peers/LGSP-H27/enable")
        assert status == 200 and body["directory_version"] is None, body
        status, body = await admin("POST", "/admin/v1/peers/LGSP-H27/sync")
        assert status == 200 and body["unchanged"] is False, body

        # a peer that does not answer: a problem, not a crash
        port = fed.nodes["LGSP-H27"].server.port  # type: ignore[union-attr]
        await fed.nodes["LGSP-H27"].stop()
        status, body = await admin("POST", "/admin/v1/peers/LGSP-H27/sync")
        assert (status, body["code"]) == (503, "unavailable"), body
        await fed.nodes["LGSP-H27"].start(port)


async def test_a_peer_has_its_own_rate_not_an_agencys(tmp_path: Path) -> None:
    def slow_agencies_slower_peers(name: str, config: AxisConfig) -> AxisConfig:
        if name != "LGSP-H27":
            return config
        return dataclasses.replace(
            config,
            limits=dataclasses.replace(config.limits, rate_per_s=0.001, rate_burst=1),
            federation=dataclasses.replace(
                config.federation, peer_rate_per_s=0.001, peer_rate_burst=3
            ),
        )

    async with federation(tmp_path, configure=slow_agencies_slower_peers) as fed:
        sender, recipient = await _two_agencies(fed)
        # an agency of LGSP-H27 submits once: its own bucket holds 1
        raw = signed_document(recipient, H26_SENDER, 99)
        assert (await fed.submit("LGSP-H27", recipient, raw))[0] == 202
        assert (await fed.submit("LGSP-H27", recipient, raw))[0] == 429
        # the peer gets its 3, far more than one agency's 1, then 429
        statuses = []
        for number in range(1, 5):
            raw = signed_document(sender, H27_RECIPIENT, number)
            statuses.append((await relay(fed, "LGSP-H27", "NGSP", raw, recipient=H27_RECIPIENT))[0])
        assert statuses[:3] == [202, 202, 202]
        assert statuses[3] == 429
