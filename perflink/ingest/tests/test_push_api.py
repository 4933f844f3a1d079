"""POST /api/v1/ingest/{kind}: bulk upsert, idempotency, atomicity, partial mode, auth."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from perflink.accounts.actions import do_create_token
from perflink.core.context import SYSTEM, tenant_context
from perflink.ingest.models import Batch, ClaimRecord
from tests.factories import World


@pytest.fixture
def token(world: World) -> str:
    with tenant_context(world.tenant):
        _, secret = do_create_token(
            name="理赔系统", permissions=["ingest.push", "ingest.view"], created_by=None, actor=SYSTEM
        )
    return secret


def _records(world: World, n: int, amount: str = "1000") -> list[dict]:
    return [
        {
            "claim_no": f"C{i:05d}",
            "line": "auto",
            "handler": world.staff.employee_no,
            "unit": world.hr.code,
            "reported_at": "2026-03-01T09:00:00+08:00",
            "paid_at": "2026-03-03 10:00",
            "amount_claimed": amount,
            "satisfaction": "满意",
        }
        for i in range(n)
    ]


def _post(token: str, body: dict, key: str | None = None, kind: str = "claim"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return Client().post(
        f"/api/v1/ingest/{kind}", json.dumps(body), content_type="application/json", **headers
    )


def test_push_then_resend_is_a_no_op(world: World, token: str) -> None:
    records = _records(world, 10_000)
    first = _post(token, {"records": records})
    assert first.status_code == 200, first.content
    assert (first.json()["created"], first.json()["rejected"]) == (10_000, 0)
    again = _post(token, {"records": records})
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 10_000)
    with tenant_context(world.tenant):
        assert ClaimRecord.objects.count() == 10_000


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(world: World, token: str) -> None:
    body = {"records": _records(world, 3)}
    first = _post(token, body, key="req-1")
    replay = _post(token, body, key="req-1")
    assert replay.status_code == 200 and replay.json() == first.json()
    with tenant_context(world.tenant):
        assert Batch.objects.count() == 1
    other = _post(token, {"records": _records(world, 4)}, key="req-1")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"


def test_one_bad_record_rejects_the_request_and_names_it(world: World, token: str) -> None:
    records = _records(world, 5)
    records[4]["paid_at"] = "yesterday"
    response = _post(token, {"records": records})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "records_rejected"
    assert body["report"]["errors"] == [
        {
            "index": 4,
            "field": "paid_at",
            "value": "yesterday",
            "reason": "not a date-time (e.g. 2024-01-05 13:30)",
        }
    ]
    with tenant_context(world.tenant):
        assert ClaimRecord.objects.count() == 0


def test_partial_mode_writes_the_valid_records(world: World, token: str) -> None:
    records = _records(world, 5)
    records[1]["handler"] = "nobody"
    body = _post(token, {"records": records, "partial": True}).json()
    assert (body["created"], body["rejected"]) == (4, 1)
    assert body["errors"][0]["index"] == 1


def test_unknown_kind_wrong_token_and_missing_permission(world: World, token: str) -> None:
    assert _post(token, {"records": []}, kind="spaceship").status_code == 404
    assert _post("pl_bad_token", {"records": []}).status_code == 401
    with tenant_context(world.tenant):
        _, reader = do_create_token(name="只读", permissions=["org.view"], created_by=None, actor=SYSTEM)
    denied = _post(reader, {"records": _records(world, 1)})
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"


def test_too_many_records_is_a_validation_error(world: World, token: str) -> None:
    response = _post(token, {"records": [{}] * 10_001})
    assert response.status_code == 422


def test_records_land_in_the_token_tenant_only(world: World, other_world: World, token: str) -> None:
    _post(token, {"records": _records(world, 2)})
    with tenant_context(other_world.tenant):
        assert ClaimRecord.objects.count() == 0
