"""The audit trail is append-only and hash-chained; `perflink audit verify` finds tampering."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from perflink.audit.actions import record_event
from perflink.audit.models import AppendOnlyError, AuditEvent
from perflink.audit.selectors import verify_tenant_chain
from perflink.core.context import Actor, request_context, tenant_context
from perflink.org.actions import do_update_employee
from tests.factories import World


def _events(world: World) -> list[AuditEvent]:
    with tenant_context(world.tenant):
        return list(AuditEvent.objects.order_by("seq"))


def _verify(world: World) -> str | None:
    with tenant_context(world.tenant):
        problem = verify_tenant_chain(world.tenant)
    return None if problem is None else str(problem)


def test_given_actions_when_written_then_each_has_an_event_with_actor_request_and_masked_values(
    world: World,
) -> None:
    actor = Actor("user", world.users["tenant_admin"].pk, "tenant_admin@alpha")
    with tenant_context(world.tenant, actor), request_context("req-12345678"):
        do_update_employee(world.staff, changes={"mobile": "13900001111", "name": "王五一"}, actor=actor)
        event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "org.employee.update"
    assert event.actor_label == "tenant_admin@alpha"
    assert event.request_id == "req-12345678"
    assert event.before["name"] == "王五" and event.after["name"] == "王五一"
    assert event.before["mobile"] == "138****5678" and event.after["mobile"] == "139****1111"
    assert "13900001111" not in str(event.after)


def test_given_untouched_chain_then_verify_finds_it_intact(world: World) -> None:
    assert len(_events(world)) > 10
    assert _verify(world) is None


def test_events_cannot_be_changed_or_deleted_through_the_application(world: World) -> None:
    with tenant_context(world.tenant):
        event = AuditEvent.objects.first()
        event.action = "forged"
        with pytest.raises(AppendOnlyError):
            event.save()
        with pytest.raises(AppendOnlyError):
            event.delete()
        with pytest.raises(AppendOnlyError):
            AuditEvent.objects.filter(pk=event.pk).update(action="forged")
        with pytest.raises(AppendOnlyError):
            AuditEvent.objects.all().delete()


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cur:
        cur.execute(sql, params)


def test_given_a_row_edited_with_raw_sql_then_verify_names_that_entry(world: World) -> None:
    victim = _events(world)[4]
    _raw("UPDATE audit_auditevent SET actor_label = %s WHERE id = %s", ["mallory", victim.pk])
    problem = _verify(world)
    assert problem is not None and f"#{victim.seq} " in problem and "edited" in problem


def test_given_a_row_edited_and_rehashed_then_the_next_link_breaks(world: World) -> None:
    events = _events(world)
    victim = events[3]
    _raw("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, victim.pk])
    problem = _verify(world)
    assert problem is not None and f"#{victim.seq} " in problem


def test_given_a_middle_row_deleted_then_verify_reports_the_gap(world: World) -> None:
    victim = _events(world)[5]
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [victim.pk])
    problem = _verify(world)
    assert problem is not None and f"#{victim.seq + 1} " in problem and "deleted or inserted" in problem


def test_given_the_last_row_deleted_then_the_chain_head_disagrees(world: World) -> None:
    victim = _events(world)[-1]
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [victim.pk])
    problem = _verify(world)
    assert problem is not None and "chain head" in problem


def test_given_a_row_inserted_behind_the_back_then_verify_fails(world: World) -> None:
    last = _events(world)[-1]
    _raw(
        "INSERT INTO audit_auditevent (tenant_id, seq, at, actor_kind, actor_id, actor_label, action, object_type,"
        " object_id, object_repr, before, after, request_id, ip, prev_hash, hash)"
        " VALUES (%s, %s, %s, 'user', NULL, 'mallory', 'forged', '', '', '', NULL, NULL, '', '', %s, %s)",
        [world.tenant.pk, last.seq + 1, last.at, last.hash, "a" * 64],
    )
    problem = _verify(world)
    assert problem is not None and f"#{last.seq + 1} " in problem


def test_chains_are_per_tenant_and_tampering_one_does_not_break_the_other(
    world: World, other_world: World
) -> None:
    victim = _events(world)[2]
    _raw("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["forged", victim.pk])
    assert _verify(world) is not None
    assert _verify(other_world) is None
    assert _events(other_world)[0].seq == 1


@pytest.mark.django_db(transaction=True)
def test_record_event_refuses_to_run_outside_a_transaction(world: World) -> None:
    with tenant_context(world.tenant), pytest.raises(RuntimeError, match="transaction"):
        record_event("x", None)
    before = len(_events(world))
    with tenant_context(world.tenant), transaction.atomic():
        assert record_event("x", None).seq == before + 1


def test_verify_command_exit_codes(
    world: World, other_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "alpha: intact" in out and "beta: intact" in out
    victim = _events(world)[1]
    _raw("UPDATE audit_auditevent SET object_repr = %s WHERE id = %s", ["x", victim.pk])
    with pytest.raises(SystemExit) as exc:
        call_command("audit", "verify", "--tenant", "alpha")
    assert exc.value.code == 1
    assert f"alpha: BROKEN at entry #{victim.seq} (id {victim.pk})" in capsys.readouterr().err
    call_command("audit", "verify", "--tenant", "beta")


def test_cli_entry_point_lists_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "perflink.cli", "--help"], capture_output=True, text=True, check=True
    )
    for name in ("demo-data", "create-tenant", "create-user", "audit", "keys"):
        assert name in out.stdout
