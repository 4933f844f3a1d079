"""The connectors API: the secret goes in and never comes out; runs are queued, not run in the request."""

from __future__ import annotations

import pytest
from django.test import Client

from perflink.core.context import tenant_context
from perflink.ingest.models import PullConnector, SourceSystem
from tests.factories import World

API = "/api/v1/ingest/connectors"


@pytest.fixture
def admin(world: World) -> Client:
    with tenant_context(world.tenant):
        SourceSystem.objects.create(code="claims", name="理赔系统", kind="claims")
    client = Client()
    client.force_login(world.users["performance_admin"])
    return client


def _create(client: Client, **extra) -> dict:
    body = {
        "name": "理赔增量",
        "source": "claims",
        "kind": "claim",
        "url": "https://claims.example.cn/api/claims",
        "auth_header_value": "Bearer s3cret",
        "cursor_field": "updated_at",
        "cursor_param": "updated_since",
    }
    response = client.post(API, body | extra, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_read_and_the_secret_never_leaves(world: World, admin: Client) -> None:
    created = _create(admin)
    assert created["config"]["auth_header_value"] == "***"
    listed = admin.get(API).json()
    assert [c["config"]["name"] for c in listed] == ["理赔增量"]
    assert "s3cret" not in admin.get(f"{API}/{created['id']}").content.decode()
    with tenant_context(world.tenant):
        assert PullConnector.objects.get().auth_header_value == "Bearer s3cret"


def test_bad_settings_name_the_field(world: World, admin: Client) -> None:
    response = admin.post(
        API,
        {"name": "x", "source": "claims", "kind": "claim", "url": "ftp://x"},
        content_type="application/json",
    )
    assert response.status_code in (400, 422) and response.json()["field"] == "url"
    unknown = admin.post(
        API,
        {"name": "x", "source": "nope", "kind": "claim", "url": "https://x.cn"},
        content_type="application/json",
    )
    assert unknown.status_code == 404 and unknown.json()["field"] == "source"


def test_run_is_queued_and_patch_changes_only_what_is_sent(world: World, admin: Client) -> None:
    created = _create(admin, interval_minutes=0)
    queued = admin.post(f"{API}/{created['id']}/run", content_type="application/json")
    assert queued.status_code == 202 and queued.json()["next_run_at"] is not None
    patched = admin.patch(f"{API}/{created['id']}", {"page_size": 50}, content_type="application/json").json()
    assert patched["config"]["page_size"] == 50 and patched["config"]["cursor_field"] == "updated_at"
    assert admin.get(f"{API}/{created['id']}/runs").json() == {"items": [], "count": 0}


def test_auditors_read_but_cannot_change(world: World, admin: Client) -> None:
    created = _create(admin)
    auditor = Client()
    auditor.force_login(world.users["auditor"])
    assert auditor.get(API).status_code == 200
    assert auditor.post(f"{API}/{created['id']}/run").status_code == 403
