"""Property-based conformance of the whole API against its own OpenAPI schema (Schemathesis).

The app is called in-process through WSGI, with a tenant that has data: as an integration token
(reads) and as the tenant administrator's browser session (every write, CSRF token included). For
every operation Schemathesis generates valid and invalid requests; no answer may be a server error,
and every answer must be documented: its status code, content type and body shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings

from config.wsgi import application
from perflink.accounts.actions import do_create_token
from perflink.core.context import SYSTEM, tenant_context
from tests.factories import World

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.negative_data_rejection,
]
CSRF = "c" * 32


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """Run WSGI requests inside the test's transaction: Django would otherwise close the test's
    database connection at the start and end of every request (the test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def token_credentials(world: World, in_process_requests: None) -> dict[str, Any]:
    """Tenant alpha's integration token, with every permission a token may hold."""
    with tenant_context(world.tenant, SYSTEM):
        _, secret = do_create_token(
            name="fuzz",
            permissions=["org.view", "employee.view", "ingest.push"],
            created_by=None,
            actor=SYSTEM,
        )
    return {"headers": {"Authorization": f"Bearer {secret}"}, "cookies": {}}


@pytest.fixture
def session_credentials(world: World, in_process_requests: None) -> dict[str, Any]:
    """Tenant alpha's administrator, logged in, sending the CSRF token like the browser does."""
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(world.users["tenant_admin"])
    return {
        "headers": {"X-CSRFToken": CSRF},
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF},
    }


# Loaded from the running app, as a client would (the schema itself needs no database).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@schema.include(method="GET").parametrize()
@FUZZ
def test_the_api_conforms_to_its_schema_for_a_token(case: Any, token_credentials: dict[str, Any]) -> None:
    case.call_and_validate(checks=CHECKS, **token_credentials)


@schema.parametrize()
@FUZZ
def test_the_api_conforms_to_its_schema_for_a_session(case: Any, session_credentials: dict[str, Any]) -> None:
    # The schema also offers bearer auth; a bearer header that names no token is refused outright
    # (even beside a valid session), so keep Schemathesis from inventing one here.
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.call_and_validate(checks=CHECKS, **session_credentials)


# --- the ingest API: fixed paths are reachable beside /ingest/{kind}; 422 bodies match the schema -----


def test_ingest_kinds_and_batches_are_reachable(world: World) -> None:
    with tenant_context(world.tenant, SYSTEM):
        _, secret = do_create_token(
            name="r", permissions=["ingest.view", "ingest.push"], created_by=None, actor=SYSTEM
        )
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    assert client.get("/api/v1/ingest/kinds").status_code == 200
    assert client.get("/api/v1/ingest/batches").status_code == 200


def test_ingest_push_validation_errors_match_the_documented_422(world: World) -> None:
    from config.api import api

    schema_422 = api.get_openapi_schema()["paths"]["/api/v1/ingest/{kind}"]["post"]["responses"][422]
    ref = schema_422["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    required = set(api.get_openapi_schema()["components"]["schemas"][ref].get("required", []))
    with tenant_context(world.tenant, SYSTEM):
        _, secret = do_create_token(name="p", permissions=["ingest.push"], created_by=None, actor=SYSTEM)
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    body = client.post("/api/v1/ingest/claim", {}, content_type="application/json").json()
    assert required <= set(body), f"a 422 lacks {required - set(body)}"
