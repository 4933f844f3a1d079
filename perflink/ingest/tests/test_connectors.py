"""Pull connectors against a local HTTP server: paging, the incremental cursor, retries, failures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, tenant_context
from perflink.core.errors import Conflict, TenantScopeError, ValidationFailed
from perflink.ingest import connectors
from perflink.ingest.actions import source_system_for
from perflink.ingest.connectors import (
    backoff_delay,
    do_create_connector,
    do_queue_run,
    do_update_connector,
    fetch,
    run_connector,
    run_due_connectors,
)
from perflink.ingest.models import Batch, ClaimRecord, PullConnector, PullRun
from perflink.org.models import Employee
from tests.factories import World

# --- a source system on the loopback interface -------------------------------------------------------


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Source:
    """What the fake claims system holds and how it misbehaves. Pages are counted from 1."""

    records: list[dict[str, Any]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    broken: set[int] = field(default_factory=set)  # pages answering 500 on every try
    hiccups: dict[int, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)  # answered first
    slow: dict[int, float] = field(default_factory=dict)  # page -> seconds to stall, once
    descending: bool = False
    redirect: str = ""
    body: bytes | None = None  # a fixed raw answer
    url: str = ""

    def answer(self, path: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.redirect:
            return 302, {"Location": self.redirect}, b""
        if self.body is not None:
            return 200, {"Content-Type": "application/json"}, self.body
        size = int(q.get("page_size", "5"))
        if "offset" in q:
            start = int(q["offset"])
        elif "page" in q:
            start = (int(q["page"]) - 1) * size
        else:
            start = int(q.get("after", "0"))
        page = start // size + 1
        if page in self.broken:
            return 500, {}, b"database is down"
        if self.hiccups.get(page):
            status, headers = self.hiccups[page].pop(0)
            return status, headers, b"busy"
        if page in self.slow:
            time.sleep(self.slow.pop(page))
        rows = self.records
        if "updated_since" in q:
            since = datetime.fromisoformat(q["updated_since"])
            rows = [r for r in rows if datetime.fromisoformat(r["updated_at"]) >= since]  # inclusive
        rows = sorted(rows, key=lambda r: datetime.fromisoformat(r["updated_at"]), reverse=self.descending)
        items = rows[start : start + size]
        token = str(start + size) if start + size < len(rows) else None
        body = {"data": {"items": items}, "next": token}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:
        source: Source = self.server.source
        url = urlsplit(self.path)
        q = dict(parse_qsl(url.query))
        source.seen.append(Seen(url.path, q, dict(self.headers)))
        status, headers, body = source.answer(url.path, q)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[], Source]]:
    """Start local sources (127.0.0.1, a free port, one thread each); all are stopped at teardown."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start() -> Source:
        source = Source()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.source = source  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        source.url = f"http://127.0.0.1:{server.server_port}/api/claims"
        return source

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def source(serve: Callable[[], Source]) -> Source:
    return serve()


def claim(world: World, i: int, **extra: Any) -> dict[str, Any]:
    """Claim number i, changed at 08:00 + i minutes on 2 March."""
    return {
        "claim_no": f"C{i:05d}",
        "line": "auto",
        "handler": world.staff.employee_no,
        "unit": world.hr.code,
        "reported_at": "2026-03-01T09:00:00+08:00",
        "amount_claimed": 1234.56,
        "updated_at": f"2026-03-02T{8 + i // 60:02d}:{i % 60:02d}:00+08:00",
        **extra,
    }


def make_connector(world: World, source: Source, **options: Any) -> PullConnector:
    settings = {
        "records_path": "data.items",
        "cursor_field": "updated_at",
        "cursor_param": "updated_since",
        "auth_header_value": "Bearer s3cret-token",
        "page_size": 5,
        "backoff_seconds": 1.0,
        **options,
    }
    with tenant_context(world.tenant, SYSTEM):
        return do_create_connector(
            name=settings.pop("name", "claims-api"),
            source_system=source_system_for("claim"),
            kind=settings.pop("kind", "claim"),
            url=settings.pop("url", source.url),
            actor=SYSTEM,
            **settings,
        )


def pull(world: World, connector: PullConnector, delays: list[float] | None = None) -> PullRun:
    with tenant_context(world.tenant, SYSTEM):
        return run_connector(connector, actor=SYSTEM, sleep=(delays if delays is not None else []).append)


def stored(world: World) -> list[str]:
    with tenant_context(world.tenant):
        return sorted(ClaimRecord.objects.values_list("claim_no", flat=True))


def pages_asked(source: Source) -> list[str | None]:
    return [s.query.get("page") for s in source.seen]


# --- a full run and the incremental cursor -----------------------------------------------------------


def test_a_full_run_stores_every_page_and_moves_the_cursor_to_the_newest_record(
    world: World, source: Source
) -> None:
    source.records = [claim(world, i) for i in range(15)]
    connector = make_connector(world, source)

    run = pull(world, connector)

    assert (run.status, run.pages, run.records, run.created, run.error) == ("succeeded", 3, 15, 15, "")
    assert stored(world) == [f"C{i:05d}" for i in range(15)]
    assert connector.cursor_value == "2026-03-02T08:14:00+08:00" == run.cursor_after
    assert connector.last_status == "succeeded" and connector.next_run_at > timezone.now()
    assert pages_asked(source) == ["1", "2", "3", "4"]  # the empty fourth page ends the run
    assert all("updated_since" not in s.query and s.query["page_size"] == "5" for s in source.seen)
    assert source.seen[0].headers["Authorization"] == "Bearer s3cret-token"
    with tenant_context(world.tenant):
        batches = Batch.objects.filter(pk__in=run.batch_ids)
        assert {b.channel for b in batches} == {"pull"} and batches.count() == 3
        assert ClaimRecord.objects.get(claim_no="C00000").amount_claimed == Decimal("1234.56")
        event = AuditEvent.objects.get(action="ingest.pull.run")
        assert event.after["status"] == "succeeded" and event.after["created"] == 15


def test_the_next_run_sends_the_cursor_and_stores_only_what_changed(world: World, source: Source) -> None:
    source.records = [claim(world, i) for i in range(15)]
    connector = make_connector(world, source)
    pull(world, connector)
    source.seen.clear()
    source.records[3] = claim(world, 3, amount_claimed=99, updated_at="2026-03-02T09:30:00+08:00")
    source.records += [claim(world, i) for i in range(100, 103)]  # 09:40 .. 09:42

    run = pull(world, connector)

    assert {s.query["updated_since"] for s in source.seen} == {"2026-03-02T08:14:00+08:00"}
    # The cursor is inclusive: the boundary record comes again, unchanged.
    assert (run.status, run.records, run.created, run.updated, run.unchanged) == ("succeeded", 5, 3, 1, 1)
    assert connector.cursor_value == "2026-03-02T09:42:00+08:00"
    assert len(stored(world)) == 18


# --- failures: half-way, transient, invalid data ---------------------------------------------------


def test_a_source_failing_half_way_keeps_what_was_stored_and_the_next_run_resumes(
    world: World, source: Source
) -> None:
    source.records = [claim(world, i) for i in range(15)]
    source.broken = {2}
    connector = make_connector(world, source)
    delays: list[float] = []

    run = pull(world, connector, delays)

    assert run.status == "partial" and run.pages == 1
    assert "page 2: HTTP 500" in run.error and "(4 attempts)" in run.error
    assert stored(world) == [f"C{i:05d}" for i in range(5)]
    assert connector.cursor_value == "2026-03-02T08:04:00+08:00"  # page 1's newest, not further
    assert pages_asked(source) == ["1", "2", "2", "2", "2"]
    # Three retries, exponential with jitter: within [b/2, b] for b = 1, 2, 4 seconds.
    assert len(delays) == 3
    for delay, ceiling in zip(delays, (1, 2, 4), strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(run.notes) == 3 and "retry 1 of 3" in run.notes[0]

    source.broken.clear()
    source.seen.clear()
    again = pull(world, connector)

    assert source.seen[0].query["updated_since"] == "2026-03-02T08:04:00+08:00"
    assert (again.status, again.created, again.unchanged) == ("succeeded", 10, 1)
    assert stored(world) == [f"C{i:05d}" for i in range(15)]
    assert connector.cursor_value == "2026-03-02T08:14:00+08:00"


def test_a_transient_503_is_retried_after_the_time_the_source_asks(world: World, source: Source) -> None:
    source.records = [claim(world, i) for i in range(3)]
    source.hiccups = {1: [(503, {"Retry-After": "7"}), (429, {})]}
    connector = make_connector(world, source)
    delays: list[float] = []

    run = pull(world, connector, delays)

    assert (run.status, run.created, run.requests) == ("succeeded", 3, 4)
    assert delays[0] == 7.0 and 1.0 <= delays[1] <= 2.0
    assert "HTTP 503" in run.notes[0] and "HTTP 429" in run.notes[1]


def test_a_timeout_is_retried(world: World, source: Source) -> None:
    source.records = [claim(world, i) for i in range(3)]
    source.slow = {1: 1.0}
    connector = make_connector(world, source, timeout_seconds=0.2)
    delays: list[float] = []

    run = pull(world, connector, delays)

    assert run.status == "succeeded" and len(delays) == 1
    assert "did not answer in time" in run.notes[0]


def test_a_page_with_an_invalid_record_stops_the_run_before_the_cursor_passes_it(
    world: World, source: Source
) -> None:
    source.records = [claim(world, i) for i in range(15)]
    source.records[7]["handler"] = "NOBODY"  # page 2, third record
    connector = make_connector(world, source)
    delays: list[float] = []

    run = pull(world, connector, delays)

    assert run.status == "failed" and run.pages == 1 and run.rejected == 1
    assert "page 2 rejected" in run.error and "page 2 record 2, handler = 'NOBODY'" in run.error
    assert run.errors[0]["page"] == 2 and run.errors[0]["field"] == "handler"
    assert stored(world) == [f"C{i:05d}" for i in range(5)]
    assert connector.cursor_value == "2026-03-02T08:04:00+08:00"
    assert pages_asked(source) == ["1", "2"] and delays == []  # page 3 never asked for, no retries


def test_an_answer_that_is_not_json_fails_without_retrying(world: World, source: Source) -> None:
    source.body = b"<html>maintenance</html>"
    run = pull(world, make_connector(world, source), [])
    assert run.status == "failed" and "not JSON" in run.error and run.requests == 1


def test_a_missing_records_path_is_named(world: World, source: Source) -> None:
    source.body = json.dumps({"items": []}).encode()
    run = pull(world, make_connector(world, source), [])
    assert run.status == "failed" and "no 'data.items'" in run.error


def test_a_wrong_token_is_not_retried_and_hints_at_the_auth_header(world: World, source: Source) -> None:
    source.hiccups = {1: [(401, {})]}
    run = pull(world, make_connector(world, source), [])
    assert run.status == "failed" and "HTTP 401" in run.error and "auth header" in run.error
    assert run.requests == 1


def test_a_source_that_ignores_the_page_parameter_is_stopped(world: World, source: Source) -> None:
    source.body = json.dumps({"data": {"items": [claim(world, 1)]}}).encode()
    run = pull(world, make_connector(world, source), [])
    assert run.status == "partial" and "ignore the 'page' parameter" in run.error
    assert run.pages == 1 and len(source.seen) == 2


# --- mapping, pagination styles, sorting ---------------------------------------------------------


def test_field_map_renames_remote_fields_and_unmapped_ones_are_reported(world: World, source: Source) -> None:
    source.records = [
        {
            "caseNo": f"R{i}",
            "lob": "车险",
            "handler": {"no": world.staff.employee_no},
            "unit": world.hr.code,
            "reportTime": "2026-03-01 09:00",
            "claimed": "500",
            "updated_at": f"2026-03-02T08:0{i}:00+08:00",
            "internalNote": "x",
        }
        for i in range(3)
    ]
    field_map = {
        "caseNo": "claim_no",
        "lob": "line",
        "handler.no": "handler",
        "reportTime": "reported_at",
        "claimed": "amount_claimed",
    }
    run = pull(world, make_connector(world, source, field_map=field_map))

    assert (run.status, run.created) == ("succeeded", 3), run.error
    assert run.ignored_fields == ["internalNote"]  # the cursor field is used, so not reported
    with tenant_context(world.tenant):
        record = ClaimRecord.objects.get(claim_no="R1")
        assert (record.line, record.handler_id) == ("auto", world.staff.pk)


def test_offset_and_token_pagination(world: World, serve: Callable[[], Source]) -> None:
    by_offset, by_token = serve(), serve()
    by_offset.records = by_token.records = [claim(world, i) for i in range(12)]
    offset_run = pull(
        world, make_connector(world, by_offset, name="by-offset", pagination="offset", page_param="offset")
    )
    assert [s.query["offset"] for s in by_offset.seen] == ["0", "5", "10", "12"]
    assert (offset_run.status, offset_run.pages, offset_run.created) == ("succeeded", 3, 12)

    token_run = pull(
        world,
        make_connector(
            world, by_token, name="by-token", pagination="cursor", page_param="after", next_cursor_path="next"
        ),
    )
    assert [s.query.get("after") for s in by_token.seen] == [None, "5", "10"]  # no token: the last page
    assert (token_run.status, token_run.pages, token_run.unchanged) == ("succeeded", 3, 12)


def test_an_unsorted_source_holds_the_cursor_until_the_run_completes(world: World, source: Source) -> None:
    source.records = [claim(world, i) for i in range(15)]
    source.descending = True
    source.broken = {2}
    connector = make_connector(world, source, cursor_sorted=False, max_retries=0)

    failed = pull(world, connector)
    assert failed.status == "partial" and len(stored(world)) == 5
    assert connector.cursor_value == ""  # the newest records came first: older ones are not yet stored

    source.broken.clear()
    done = pull(world, connector)
    assert done.status == "succeeded" and connector.cursor_value == "2026-03-02T08:14:00+08:00"


def test_a_sorting_promise_broken_mid_run_is_noticed(world: World, source: Source) -> None:
    source.records = [claim(world, i) for i in range(10)]
    source.descending = True
    connector = make_connector(world, source)

    run = pull(world, connector)

    assert run.status == "succeeded" and any("not sorted" in n for n in run.notes)
    assert connector.cursor_value == "2026-03-02T08:09:00+08:00"


def test_an_employee_roster_is_pulled_and_applied_at_once(world: World, source: Source) -> None:
    source.records = [
        {
            "employee_no": f"N{i:03d}",
            "name": f"新员工{i}",
            "unit": world.hr.code,
            "employment_type": "staff",
            "hire_date": "2026-01-05",
            "manager": "N000" if i else None,
            "updated_at": f"2026-03-02T08:0{i}:00+08:00",
        }
        for i in range(7)
    ]
    source.descending = True  # the manager N000 arrives on the last page
    run = pull(world, make_connector(world, source, kind="employee", name="hr-roster"))

    assert (run.status, run.pages, run.created) == ("succeeded", 2, 7), run.error
    with tenant_context(world.tenant):
        assert Employee.objects.get(employee_no="N006").manager.employee_no == "N000"


# --- safety --------------------------------------------------------------------------------------


def test_the_auth_header_value_is_encrypted_at_rest(world: World, source: Source) -> None:
    connector = make_connector(world, source)
    with connection.cursor() as cur:
        cur.execute("SELECT auth_header_value FROM ingest_pullconnector WHERE id = %s", [connector.pk])
        raw = cur.fetchone()[0]
    assert raw.startswith("enc1:") and "s3cret" not in raw
    with tenant_context(world.tenant):
        assert PullConnector.objects.get(pk=connector.pk).auth_header_value == "Bearer s3cret-token"
        created = AuditEvent.objects.get(action="ingest.pull.connector.create")
    assert created.after["auth_header_value"] == "***"


def test_a_redirect_to_another_host_is_not_followed(world: World, serve: Callable[[], Source]) -> None:
    source, elsewhere = serve(), serve()
    source.redirect = elsewhere.url.replace("127.0.0.1", "localhost")
    run = pull(world, make_connector(world, source), [])
    assert run.status == "failed" and "redirected to another host" in run.error
    assert elsewhere.seen == [] and run.requests == 1


def test_denied_addresses_are_refused(world: World, source: Source, settings: Any) -> None:
    settings.PERFLINK_PULL_DENIED_NETWORKS = ["127.0.0.0/8"]
    run = pull(world, make_connector(world, source), [])
    assert run.status == "failed" and "may not reach" in run.error and source.seen == []


def test_an_oversized_page_is_refused(world: World, source: Source, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "MAX_PAGE_BYTES", 100)
    source.records = [claim(world, i) for i in range(5)]
    run = pull(world, make_connector(world, source), [])
    assert run.status == "failed" and "larger than" in run.error and run.requests == 1


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"url": "ftp://files.example/claims"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "https://user:pw@claims.example/api"}, "url"),
        ({"field_map": {"caseNo": "case_number"}}, "field_map"),
        ({"field_map": {"a": "claim_no", "b": "claim_no"}}, "field_map"),
        ({"cursor_param": ""}, "cursor_param"),
        ({"pagination": "cursor"}, "next_cursor_path"),
        ({"page_size": 0}, "page_size"),
        ({"auth_header_name": "X Bad"}, "auth_header_name"),
        ({"kind": "spaceship"}, "kind"),
    ],
)
def test_a_configuration_that_could_not_run_is_refused(
    world: World, source: Source, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        make_connector(world, source, **options)
    assert exc.value.field == field


def test_backoff_is_exponential_jittered_and_capped() -> None:
    assert backoff_delay(0, 2.0, rng=lambda: 0.0) == 1.0
    assert backoff_delay(2, 2.0, rng=lambda: 1.0) == 8.0
    assert backoff_delay(20, 2.0, rng=lambda: 1.0) == connectors.BACKOFF_CAP


# --- tenants and the schedule --------------------------------------------------------------------


def test_a_connector_writes_into_its_own_tenant_only(
    world: World, other_world: World, serve: Callable[[], Source]
) -> None:
    alpha, beta = serve(), serve()
    alpha.records = [claim(world, i) for i in range(3)]
    beta.records = [claim(other_world, i) for i in range(4)]
    make_connector(world, alpha)
    make_connector(other_world, beta)
    later = timezone.now() + timedelta(seconds=1)

    runs = run_due_connectors(later, sleep=[].append)

    assert {(r.tenant_id, r.created) for r in runs} == {(world.tenant.pk, 3), (other_world.tenant.pk, 4)}
    assert len(stored(world)) == 3 and len(stored(other_world)) == 4
    with tenant_context(world.tenant):
        mine = PullConnector.objects.get()
    with tenant_context(other_world.tenant), pytest.raises(TenantScopeError):
        run_connector(mine, actor=SYSTEM)


def test_only_enabled_due_connectors_run_and_the_next_run_is_scheduled(world: World, source: Source) -> None:
    source.records = [claim(world, 1)]
    due = make_connector(world, source, interval_minutes=30)
    make_connector(world, source, name="on-demand", interval_minutes=0)
    off = make_connector(world, source, name="switched-off")
    with tenant_context(world.tenant, SYSTEM):
        do_update_connector(off, changes={"enabled": False}, actor=SYSTEM)
    now = timezone.now() + timedelta(seconds=1)

    runs = run_due_connectors(now, sleep=[].append)

    assert [r.connector_id for r in runs] == [due.pk]
    with tenant_context(world.tenant):
        due.refresh_from_db()
        off.refresh_from_db()
    assert due.next_run_at > now + timedelta(minutes=29) and off.next_run_at is None
    assert run_due_connectors(now, sleep=[].append) == []  # not due again yet


def test_an_on_demand_connector_queued_from_the_web_runs_at_the_next_check(
    world: World, source: Source
) -> None:
    source.records = [claim(world, 1)]
    connector = make_connector(world, source, interval_minutes=0)
    assert connector.next_run_at is None
    with tenant_context(world.tenant, SYSTEM):
        do_queue_run(connector, actor=SYSTEM)

    runs = run_due_connectors(timezone.now() + timedelta(seconds=1), sleep=[].append)

    assert [r.created for r in runs] == [1]
    with tenant_context(world.tenant):
        connector.refresh_from_db()
    assert connector.next_run_at is None  # on demand only: not scheduled again


def test_a_running_connector_is_not_started_twice(world: World, source: Source) -> None:
    connector = make_connector(world, source)
    with tenant_context(world.tenant):
        PullConnector.objects.filter(pk=connector.pk).update(
            locked_until=timezone.now() + timedelta(minutes=5)
        )
    with pytest.raises(Conflict):
        pull(world, connector)
    assert run_due_connectors(timezone.now() + timedelta(seconds=1), sleep=[].append) == []
    assert source.seen == []


def test_resetting_the_cursor_makes_the_next_run_fetch_everything(world: World, source: Source) -> None:
    source.records = [claim(world, i) for i in range(3)]
    connector = make_connector(world, source)
    pull(world, connector)
    with tenant_context(world.tenant, SYSTEM):
        do_update_connector(connector, changes={"cursor_value": ""}, actor=SYSTEM)
    source.seen.clear()
    run = pull(world, connector)
    assert "updated_since" not in source.seen[0].query and run.unchanged == 3


def test_a_stopped_process_records_the_run_and_frees_the_connector(world: World, source: Source) -> None:
    source.records = [claim(world, i) for i in range(15)]
    source.broken = {2}
    connector = make_connector(world, source)

    def stop(_seconds: float) -> None:
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM while waiting to retry page 2

    with tenant_context(world.tenant, SYSTEM), pytest.raises(KeyboardInterrupt):
        run_connector(connector, actor=SYSTEM, sleep=stop)
    with tenant_context(world.tenant):
        run = PullRun.objects.get()
        connector.refresh_from_db()
    assert (run.status, run.error) == ("partial", "interrupted: the process was stopped")
    assert connector.locked_until is None and connector.cursor_value == "2026-03-02T08:04:00+08:00"


# --- the command ---------------------------------------------------------------------------------


def test_pull_command_runs_a_connector_and_fails_loudly(
    world: World, source: Source, capsys: pytest.CaptureFixture[str]
) -> None:
    source.records = [claim(world, i) for i in range(6)]
    make_connector(world, source, max_retries=1, backoff_seconds=0.0)

    call_command("pull", "--tenant", world.tenant.slug, "--connector", "claims-api")
    out = capsys.readouterr().out
    assert "claims-api: succeeded — 2 pages, 6 records: created 6" in out
    assert "cursor (start) → 2026-03-02T08:05:00+08:00" in out

    source.records.append(claim(world, 50))
    source.broken = {1}
    with pytest.raises(CommandError, match="claims-api: failed: page 1: HTTP 500"):
        call_command("pull", "--tenant", world.tenant.slug, "--connector", "claims-api")
    with pytest.raises(CommandError, match="no connector 'nope'"):
        call_command("pull", "--tenant", world.tenant.slug, "--connector", "nope")

    call_command("pull", "--tenant", world.tenant.slug, "--list")
    assert "claims-api: claim from claims" in capsys.readouterr().out


def test_pull_due_runs_what_is_due_and_then_nothing(
    world: World, source: Source, capsys: pytest.CaptureFixture[str]
) -> None:
    source.records = [claim(world, 1)]
    make_connector(world, source)

    call_command("pull", "--due")
    assert f"[{world.tenant.slug}] claims-api: succeeded — 1 page, 1 record" in capsys.readouterr().out
    call_command("pull", "--due")
    assert capsys.readouterr().out.strip() == "nothing due"
