"""`demo-data` into the database: what lands in the tables (the records through the ingestion path),
determinism across tenants, refusing and replacing an existing tenant, and the sensitive fields being
encrypted at rest."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.db.models import F

from perflink.accounts.models import User
from perflink.audit.chain import verify_chain
from perflink.audit.models import AuditChainHead, AuditEvent
from perflink.core.context import SYSTEM, tenant_context
from perflink.demo import actions
from perflink.demo.actions import DEMO_PASSWORD
from perflink.demo.generate import DemoConfig, DemoData, generate
from perflink.incentives.models import Link
from perflink.ingest.models import (
    Batch,
    ClaimRecord,
    ExitRecord,
    HireRecord,
    IncidentRecord,
    IncidentUnit,
    PaymentRecord,
    PolicyRecord,
    RequisitionRecord,
    SourceSystem,
    TrainingRecord,
)
from perflink.org.models import Employee, EmployeeAssignment, OrgUnit, OrgUnitVersion, Position
from perflink.tenancy.models import Tenant
from tests.factories import make_unit

SMALL = {"employees": 300, "months": 6, "seed": 7, "end": "2026-10"}
RECORD_MODELS = [
    RequisitionRecord,
    HireRecord,
    TrainingRecord,
    ExitRecord,
    PolicyRecord,
    ClaimRecord,
    PaymentRecord,
    IncidentRecord,
]
# How each referenced model is named in a comparison (its natural key).
NATURAL_KEY = {
    Employee: "employee_no",
    OrgUnit: "code",
    Position: "code",
    SourceSystem: "code",
    Batch: "kind",
    RequisitionRecord: "external_id",
    IncidentRecord: "external_id",
}
COMPARED = [
    OrgUnit,
    OrgUnitVersion,
    Position,
    Employee,
    EmployeeAssignment,
    SourceSystem,
    Batch,
    *RECORD_MODELS,
    IncidentUnit,
]
# received_at is when ingestion took the delivery (the clock, like created_at), not generated data.
SKIPPED_FIELDS = {"id", "tenant", "created_at", "updated_at", "path", "received_at"}


def load(slug: str, **options: object) -> str:
    out = StringIO()
    call_command("demo_data", tenant=slug, stdout=out, **{**SMALL, **options})
    return out.getvalue()


def snapshot(tenant: Tenant, model: type[models.Model]) -> list[tuple]:
    """All rows of a model in a tenant, references by natural key, without ids and timestamps."""
    names = []
    for f in model._meta.concrete_fields:
        if f.name in SKIPPED_FIELDS:
            continue
        names.append(f"{f.name}__{NATURAL_KEY[f.related_model]}" if f.is_relation else f.name)
    with tenant_context(tenant):
        return sorted(model.objects.values_list(*names), key=repr)


@pytest.mark.django_db
def test_loads_a_whole_insurer_with_audit_event_and_logins() -> None:
    output = load("demo")
    tenant = Tenant.objects.get(slug="demo")
    data = generate(DemoConfig(employees=300, months=6, seed=7, end_month=date(2026, 10, 1)))
    with tenant_context(tenant):
        assert Employee.objects.count() == len(data.wf)
        for model, kind in [
            (PolicyRecord, "policy"),
            (ClaimRecord, "claim"),
            (PaymentRecord, "payment"),
            (HireRecord, "hire"),
            (TrainingRecord, "training"),
            (ExitRecord, "exit"),
            (RequisitionRecord, "requisition"),
            (IncidentRecord, "incident"),
        ]:
            generated = len(data.records[kind]["external_id"])
            assert model.objects.count() == generated > 0, kind
            # One ingestion batch per kind, everything created, nothing rejected.
            batch = Batch.objects.get(kind=kind)
            assert (batch.channel, batch.file_name, batch.status) == ("demo", "demo-data seed=7", "committed")
            assert (batch.n_rows, batch.n_created, batch.n_rejected) == (generated, generated, 0), kind
            assert set(model.objects.values_list("batch", "version").distinct()) == {(batch.pk, 1)}, kind
            assert not model.objects.exclude(received_at=batch.received_at).exists(), kind
        # The 8 demo deliveries, and the collaboration story's records (survey answers, demand evaluations).
        assert Batch.objects.filter(channel="demo").count() == 8
        assert AuditEvent.objects.filter(action="ingest.batch.commit").count() == Batch.objects.count()
        assert IncidentUnit.objects.count() == len(data.records["incident_unit"]["unit"])
        assert {s.kind for s in SourceSystem.objects.all()} == {
            *("policy", "claims", "hr", "finance", "itops"),
            *("collab", "survey"),  # demand evaluations and survey answers of the collaboration demo
        }
        employees = Employee.objects.count()
        agents = Employee.objects.filter(employment_type="agent").count()
        assert 0.45 < agents / employees < 0.6
        # Values read back through the ORM are the generated ones.
        claim = ClaimRecord.objects.order_by("external_id").first()
        first = data.records["claim"]
        assert claim.reported_at == datetime.fromtimestamp(int(first["reported_at"][0]), UTC)
        assert claim.amount_claimed * 100 == int(first["amount_claimed_fen"][0])
        # One demo.load event with the counts, and an intact chain.
        event = AuditEvent.objects.get(action="demo.load")
        assert event.after["counts"]["policies"] == PolicyRecord.objects.count()
        assert event.after["seed"] == 7
        events = AuditEvent.objects.order_by("seq").values()
        head = AuditChainHead.objects.get()
        assert verify_chain(tenant.pk, events, (head.seq, head.hash)) is None
        # The logins.
        users = {u.username: u for u in User.objects.select_related("employee", "scope_unit")}
        # Besides the logins, department and team heads that cannot log in (no usable password): the other side
        # of the collaboration demo, and the other branches' claims heads, who confirmed finance's link to their
        # claims department, each only their own department's.
        logins = {name: user for name, user in users.items() if user.has_usable_password()}
        heads = {name: user for name, user in users.items() if name not in logins}
        assert heads and all(u.role == "unit_head" for u in heads.values())
        confirmed = Link.objects.filter(status="confirmed", business_metric__code="claim_cycle_days")
        deciders = set(confirmed.values_list("business_unit", flat=True))
        claims_heads = {name: u for name, u in heads.items() if u.scope_unit_id in deciders}
        assert claims_heads and confirmed.count() == len(claims_heads)
        assert all(name.startswith("claims-") for name in claims_heads)
        assert set(logins) == {"admin@demo", "perf@demo", "head@demo", "agent@demo", "auditor@demo"}
        assert users["head@demo"].scope_unit.category == "sales"
        assert users["head@demo"].employee.unit == users["head@demo"].scope_unit
        agent = users["agent@demo"].employee
        assert agent.employment_type == "agent"
        assert agent.status == "active"
        assert agent.unit.path.startswith(users["head@demo"].scope_unit.path)
        assert PolicyRecord.objects.filter(agent=agent).exists()
        assert users["agent@demo"].check_password(DEMO_PASSWORD)
    assert "agent@demo" in output
    assert DEMO_PASSWORD in output


@pytest.mark.django_db
def test_records_reference_the_right_kinds_of_people_and_units() -> None:
    load("refs")
    tenant = Tenant.objects.get(slug="refs")
    with tenant_context(tenant):
        for unit in OrgUnit.objects.select_related("parent"):
            parent_path = unit.parent.path if unit.parent else "/"
            assert unit.path == f"{parent_path}{unit.pk}/"
            assert unit.depth == (unit.parent.depth + 1 if unit.parent else 0)
        assert OrgUnitVersion.objects.count() == OrgUnit.objects.count()
        assert not ClaimRecord.objects.exclude(handler__unit__category="claims").exists()
        assert not ClaimRecord.objects.exclude(unit__category="claims").exists()
        assert not ClaimRecord.objects.filter(handler__employment_type="agent").exists()
        assert not PolicyRecord.objects.exclude(agent__employment_type="agent").exists()
        assert not PolicyRecord.objects.exclude(agent__unit__category="sales").exists()
        assert not PolicyRecord.objects.exclude(unit__category="sales").exists()
        assert not ExitRecord.objects.exclude(employee__status="left").exists()
        assert not ExitRecord.objects.exclude(employee__exit_date=F("exit_date")).exists()
        assert ExitRecord.objects.count() == Employee.objects.filter(status="left").count()
        hires = HireRecord.objects.filter(arrived_on__isnull=False)
        assert hires.exists()
        assert not hires.filter(arrived_on__lte=F("requisition__opened_on")).exists()
        assert not hires.exclude(employee__hire_date=F("arrived_on")).exists()
        claim_numbers = set(ClaimRecord.objects.values_list("claim_no", flat=True))
        assert set(
            PaymentRecord.objects.filter(kind="claim_payment").values_list("reference", flat=True)
        ) <= (claim_numbers)
        assert (
            not PaymentRecord.objects.filter(kind="commission")
            .exclude(payee__employment_type="agent")
            .exists()
        )
        assert IncidentUnit.objects.filter(unit__category="sales").exists()
        moved = EmployeeAssignment.objects.values("employee").annotate(n=models.Count("id")).filter(n=2)
        assert moved.exists()
        assert not EmployeeAssignment.objects.filter(valid_to__lte=F("valid_from")).exists()
        assert not Employee.objects.filter(status="left", exit_date__isnull=True).exists()
        assert Employee.objects.filter(manager__isnull=True).count() == 1  # the group president


@pytest.mark.django_db
def test_same_seed_gives_the_same_rows_in_two_tenants() -> None:
    load("twin-a")
    load("twin-b")
    a, b = Tenant.objects.get(slug="twin-a"), Tenant.objects.get(slug="twin-b")
    for model in COMPARED:
        rows_a, rows_b = snapshot(a, model), snapshot(b, model)
        assert rows_a, model.__name__
        assert rows_a == rows_b, model.__name__


@pytest.mark.django_db
def test_existing_tenant_is_refused_without_replace_and_replaced_with_it() -> None:
    load("again", employees=150, months=3)
    with pytest.raises(CommandError, match="already exists"):
        load("again", employees=150, months=3)
    tenant = Tenant.objects.get(slug="again")
    with tenant_context(tenant):
        before = Employee.objects.count()
    output = load("again", employees=200, months=3, replace=True)
    assert "dropped the earlier data" in output
    with tenant_context(tenant):
        assert Employee.objects.count() > before
        assert sum(u.has_usable_password() for u in User.objects.all()) == 5  # the logins, once each
        assert list(
            AuditEvent.objects.filter(action__startswith="demo.")
            .order_by("seq")
            .values_list("action", flat=True)
        ) == ["demo.load", "demo.replace", "demo.load"]
        events = AuditEvent.objects.order_by("seq").values()
        head = AuditChainHead.objects.get()
        assert verify_chain(tenant.pk, events, (head.seq, head.hash)) is None
    assert "nothing to do" in load("again", if_missing=True)
    assert "agent@again" in load("again", show_logins=True)


@pytest.mark.django_db
def test_replace_refuses_a_tenant_the_demo_did_not_make() -> None:
    call_command("create_tenant", "realco", name="某某人寿", stdout=StringIO())
    tenant = Tenant.objects.get(slug="realco")
    with tenant_context(tenant, SYSTEM):
        make_unit("R-1", "总公司", None, kind="group", unit_type="management", category="general")
    with pytest.raises(CommandError, match="did not create"):
        load("realco", employees=150, months=3, replace=True)
    with tenant_context(tenant):
        assert OrgUnit.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_sensitive_fields_are_encrypted_at_rest() -> None:
    load("secret", employees=150, months=2)
    tenant = Tenant.objects.get(slug="secret")
    with tenant_context(tenant):
        plain = list(Employee.objects.values_list("id_number", "mobile", "bank_account"))
        policy_numbers = list(PolicyRecord.objects.values_list("policy_no", flat=True)[:20])
    plaintexts = {v for row in plain for v in row}
    assert len(plaintexts) > 300
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, mobile, bank_account FROM org_employee WHERE tenant_id = %s", [tenant.pk]
        )
        stored = [v for row in cursor.fetchall() for v in row]
    assert all(v.startswith("enc1:") for v in stored)
    if connection.vendor != "sqlite":
        pytest.skip(
            "the raw file scan needs SQLite; on PostgreSQL the stored column values were checked above"
        )
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(FULL)")
    db_file = Path(connection.settings_dict["NAME"])
    files = [p for p in (db_file, Path(f"{db_file}-wal")) if p.exists()]
    raw = b"".join(p.read_bytes() for p in files)
    # Every run of 11+ digits (and X) anywhere in the database file; no plaintext may be among them.
    runs = b"\n".join(re.findall(rb"[0-9X]{11,}", raw)).decode()
    assert all(p[1:] in runs for p in policy_numbers)  # the scan does see unencrypted numbers
    leaked = [s for s in plaintexts if s in runs]
    assert leaked == []


@pytest.mark.django_db
def test_a_generated_record_that_ingestion_rejects_is_a_generator_bug_and_nothing_is_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo goes through the same validation as an insurer's data: a generated claim paid before it
    was reported is refused, reported as a generator bug, and the whole load is rolled back."""

    def broken(config: DemoConfig) -> DemoData:
        data = generate(config)
        claims = data.records["claim"]
        paid = np.flatnonzero(claims["paid_at"] != -1)[0]
        claims["paid_at"][paid] = claims["reported_at"][paid] - 3600
        return data

    monkeypatch.setattr(actions, "generate", broken)
    with pytest.raises(RuntimeError, match=r"rejected 1 generated claim records \(a demo generator bug\)"):
        load("broken", employees=150, months=2)
    assert not Tenant.objects.filter(slug="broken").exists()
