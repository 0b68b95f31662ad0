"""Named operators over /admin/v1/operators: each one's actions audited under its
own name, a removed operator's token refused, agency tokens refused, and the
token of operator_token_file still the unnamed "operator"."""

from __future__ import annotations

from tests.integration.server.conftest import RunningAxis, admin_routes

G22, H49 = "000.00.00.G22", "000.00.00.H49"


async def _add(axis: RunningAxis, name: str, token: str | None = None) -> str:
    response = await axis.call(
        "POST", "/admin/v1/operators", token=token or axis.operator_token, json_body={"name": name}
    )
    assert response.status == 201, response.body
    data = response.json()
    assert data["name"] == name and data["token"].startswith("op_")
    return str(data["token"])


async def _actors(axis: RunningAxis) -> list[tuple[object, object]]:
    return [
        (e.detail["actor"], e.detail["action"])
        async for e in axis.store.iter_audit()
        if e.event == "operator.action"
    ]


async def test_each_operator_is_named_in_the_audit_of_what_it_did(axis: RunningAxis) -> None:
    await axis.register(G22)
    await axis.register(H49)
    lan = await _add(axis, "lan")
    mai = await _add(axis, "mai.tran", token=lan)  # a named operator may add another

    for token, path in (
        (lan, f"/admin/v1/agencies/{G22}/disable"),
        (mai, f"/admin/v1/agencies/{H49}/disable"),
        (axis.operator_token, f"/admin/v1/agencies/{G22}/enable"),
    ):
        response = await axis.call("POST", path, token=token)
        assert response.status == 200, response.body
    listed = await axis.call("GET", "/admin/v1/operators", token=mai)
    assert [o["name"] for o in listed.json()["items"]] == ["lan", "mai.tran"]
    assert "token" not in listed.body.decode()

    assert (await _actors(axis))[2:] == [  # the first two registered G22 and H49
        ("operator", "POST /admin/v1/operators"),
        ("lan", "POST /admin/v1/operators"),
        ("lan", f"POST /admin/v1/agencies/{G22}/disable"),
        ("mai.tran", f"POST /admin/v1/agencies/{H49}/disable"),
        ("operator", f"POST /admin/v1/agencies/{G22}/enable"),
    ]
    added = [e.detail async for e in axis.store.iter_audit() if e.event == "operator.added"]
    assert added == [{"name": "lan"}, {"name": "mai.tran"}]


async def test_a_removed_operator_is_refused_everywhere_under_admin(axis: RunningAxis) -> None:
    lan = await _add(axis, "lan")
    assert (await axis.call("GET", "/admin/v1/stats", token=lan)).status == 200
    removed = await axis.call("DELETE", "/admin/v1/operators/lan", token=axis.operator_token)
    assert removed.status == 200 and removed.json() == {"name": "lan", "removed": True}

    routes = admin_routes(axis, G22)
    for method, path in routes:
        response = await axis.call(method, path, token=lan, json_body={})
        assert response.status == 401, (method, path, response.status)
        assert response.json()["code"] == "auth.required"
    assert len(routes) >= 28
    again = await axis.call("DELETE", "/admin/v1/operators/lan", token=axis.operator_token)
    assert again.status == 404 and again.json()["code"] == "not-found"


async def test_agency_tokens_and_bad_names_are_refused(axis: RunningAxis) -> None:
    agency = await axis.register(G22)
    for method, path, body in (
        ("POST", "/admin/v1/operators", {"name": "sneaky"}),
        ("GET", "/admin/v1/operators", None),
        ("DELETE", "/admin/v1/operators/x", None),
        ("GET", "/admin/v1/agencies", None),
    ):
        response = await axis.call(method, path, token=agency.token, json_body=body)
        assert response.status == 401, (path, response.body)
    assert await axis.store.list_operators() == []

    for name in ("operator", "Operator", "two words", "a:b", "", "x" * 65):
        response = await axis.call(
            "POST", "/admin/v1/operators", token=axis.operator_token, json_body={"name": name}
        )
        assert response.status == 400, (name, response.body)
    await _add(axis, "lan")
    taken = await axis.call(
        "POST", "/admin/v1/operators", token=axis.operator_token, json_body={"name": "lan"}
    )
    assert taken.status == 409 and taken.json()["code"] == "operator.exists"
