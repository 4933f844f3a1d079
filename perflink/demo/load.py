"""Write a generated demo (`DemoData`) into one tenant's tables.

Org units go through `do_create_unit` (a few hundred, so paths, versions and audit events come out as
the product makes them). Employees, and the rows whose keys later rows need, use `bulk_create` (which
also encrypts the sensitive employee fields); the big record tables go column-wise through
`perflink.demo.fastinsert`. The tenant is set explicitly on every row. The caller
(`perflink.demo.actions.do_load_demo`) holds the transaction and the tenant context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import models

from perflink.core.context import Actor
from perflink.demo.calendar import NA, to_dates, to_datetimes
from perflink.demo.fastinsert import (
    db_dates,
    db_datetime,
    db_datetimes,
    db_ids,
    db_money,
    insert_columns,
    large_write_cache,
)
from perflink.demo.generate import DemoData
from perflink.demo.reference import POSITIONS
from perflink.demo.workforce import managers
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
from perflink.org.actions import do_create_unit
from perflink.org.models import Employee, EmployeeAssignment, OrgUnit, Position
from perflink.tenancy.models import Tenant

BATCH_SIZE = 2000

# (code, name, kind) of the source systems, and which system delivers each record kind.
SOURCE_SYSTEMS = (
    ("POLICY", "保单管理系统", "policy"),
    ("CLAIMS", "理赔系统", "claims"),
    ("HR", "人力资源系统", "hr"),
    ("FINANCE", "财务系统", "finance"),
    ("ITOPS", "IT运维平台", "itops"),
)
SYSTEM_OF_KIND = {
    "requisition": "HR",
    "hire": "HR",
    "training": "HR",
    "exit": "HR",
    "policy": "POLICY",
    "claim": "CLAIMS",
    "payment": "FINANCE",
    "incident": "ITOPS",
}
COUNT_LABEL = {
    "requisition": "requisitions",
    "hire": "hires",
    "training": "training",
    "exit": "exits",
    "policy": "policies",
    "claim": "claims",
    "payment": "payments",
    "incident": "incidents",
}


def _plain(frame: dict[str, np.ndarray]) -> dict[str, Any]:
    """Text columns as lists of plain `str` (database drivers want no numpy scalars)."""
    return {k: [str(x) for x in v.tolist()] if v.dtype.kind in "OU" else v for k, v in frame.items()}


def _bulk(model: type[models.Model], objs: Iterable[models.Model]) -> list[models.Model]:
    return model.objects.bulk_create(list(objs), batch_size=BATCH_SIZE)


class Writer:
    """Writes one DemoData into one tenant; keeps the primary keys it creates to resolve references."""

    def __init__(self, data: DemoData, tenant: Tenant, actor: Actor) -> None:
        self.data = data
        self.tenant = tenant
        self.actor = actor
        self.counts: dict[str, int] = {}

    def write(self) -> dict[str, int]:
        with large_write_cache():
            self.write_org()
            self.write_people()
            self.write_sources()
            for kind, writer in self.record_writers().items():
                self.counts[COUNT_LABEL[kind]] = writer(_plain(self.data.records[kind]))
            self.counts["incident_units"] = self.write_incident_units(self.data.records["incident_unit"])
        return self.counts

    # --- org and people -----------------------------------------------------------------------------

    def write_org(self) -> None:
        created: list[OrgUnit] = []
        for plan in self.data.org.units:
            created.append(
                do_create_unit(
                    code=plan.code,
                    name=plan.name,
                    name_en=plan.name_en,
                    kind=plan.kind,
                    unit_type=plan.unit_type,
                    category=plan.category,
                    parent=created[plan.parent] if plan.parent != NA else None,
                    opened_on=plan.opened_on,
                    actor=self.actor,
                )
            )
        self.unit_pk = np.array([u.pk for u in created], dtype=np.int64)
        positions = _bulk(
            Position,
            (
                Position(tenant=self.tenant, code=code, name=name, name_en=name_en, is_manager=is_manager)
                for code, name, name_en, is_manager in POSITIONS
            ),
        )
        self.position_pk = np.array([p.pk for p in positions], dtype=np.int64)
        self.counts["org_units"] = len(created)
        self.counts["positions"] = len(positions)

    def write_people(self) -> None:
        org, wf = self.data.org, self.data.wf
        n = len(wf)
        cols = wf.columns
        current = wf.current_unit
        manager = managers(org, wf, current, np.arange(n))
        status = np.where(wf.exit_day != NA, "left", "active").astype(object)
        # A few staff are on leave (deterministically: every 199th).
        status[(wf.exit_day == NA) & ~wf.is_agent & ~wf.is_head & (np.arange(n) % 199 == 3)] = "on_leave"
        hire, exit_ = to_dates(wf.hire_day), to_dates(wf.exit_day)
        self.employee_pk = np.full(n, NA, dtype=np.int64)
        # Managers must exist before their reports: heads top-down by depth, then everyone else.
        depth = np.zeros(len(org.units), dtype=np.int64)
        for u, plan in enumerate(org.units):
            depth[u] = depth[plan.parent] + 1 if plan.parent != NA else 0
        wave = np.where(wf.is_head, depth[wf.unit0], depth.max() + 1)
        for w in np.unique(wave):
            members = np.flatnonzero(wave == w)
            objs = [
                Employee(
                    tenant=self.tenant,
                    employee_no=cols["employee_no"][i],
                    name=cols["name"][i],
                    gender=str(wf.gender[i]),
                    unit_id=int(self.unit_pk[current[i]]),
                    position_id=int(self.position_pk[wf.position[i]]),
                    manager_id=None if manager[i] == NA else int(self.employee_pk[manager[i]]),
                    employment_type="agent" if wf.is_agent[i] else "staff",
                    hire_date=hire[i],
                    exit_date=exit_[i],
                    status=str(status[i]),
                    email=cols["email"][i],
                    id_number=cols["id_number"][i],
                    mobile=cols["mobile"][i],
                    bank_account=cols["bank_account"][i],
                )
                for i in members.tolist()
            ]
            _bulk(Employee, objs)
            self.employee_pk[members] = [o.pk for o in objs]
        a = self.data.assignments
        self.counts["employees"] = n
        self.counts["assignments"] = insert_columns(
            EmployeeAssignment,
            {
                "tenant_id": [self.tenant.pk] * len(a["employee"]),
                "employee_id": db_ids(self.employee_pk, a["employee"]),
                "unit_id": db_ids(self.unit_pk, a["unit"]),
                "position_id": db_ids(self.position_pk, a["position"]),
                "manager_id": db_ids(self.employee_pk, a["manager"]),
                "valid_from": db_dates(a["valid_from"]),
                "valid_to": db_dates(a["valid_to"]),
            },
        )

    # --- source systems and batches -----------------------------------------------------------------

    def write_sources(self) -> None:
        systems = _bulk(
            SourceSystem,
            (
                SourceSystem(tenant=self.tenant, code=code, name=name, kind=kind)
                for code, name, kind in SOURCE_SYSTEMS
            ),
        )
        self.system = {s.code: s for s in systems}
        self.batch: dict[str, Batch] = {}
        for kind, code in SYSTEM_OF_KIND.items():
            self.batch[kind] = Batch(
                tenant=self.tenant,
                source_system=self.system[code],
                kind=kind,
                channel="demo",
                file_name=f"demo-data seed={self.data.config.seed}",
                created_by_label="demo-data",
                received_at=self.data.cal.as_of,
                n_created=len(self.data.records[kind]["external_id"]),
                n_rows=len(self.data.records[kind]["external_id"]),
            )
        _bulk(Batch, self.batch.values())
        self.counts["source_systems"] = len(systems)
        self.counts["batches"] = len(self.batch)

    def _source(self, kind: str, n: int) -> dict[str, list[Any]]:
        """The provenance columns every record of a kind shares: received when the snapshot was taken."""
        return {
            "tenant_id": [self.tenant.pk] * n,
            "source_system_id": [self.system[SYSTEM_OF_KIND[kind]].pk] * n,
            "batch_id": [self.batch[kind].pk] * n,
            "received_at": [db_datetime(self.data.cal.as_of)] * n,
            "version": [1] * n,
        }

    def _source_fields(self, kind: str) -> dict[str, Any]:
        """The same for rows written with bulk_create."""
        return {
            "tenant": self.tenant,
            "source_system_id": self.system[SYSTEM_OF_KIND[kind]].pk,
            "batch_id": self.batch[kind].pk,
            "received_at": self.data.cal.as_of,
            "version": 1,
        }

    # --- records --------------------------------------------------------------------------------------

    def record_writers(self) -> dict[str, Callable[[dict[str, Any]], int]]:
        return {
            "requisition": self.write_requisitions,
            "hire": self.write_hires,
            "training": self.write_training,
            "exit": self.write_exits,
            "incident": self.write_incidents,
            "policy": self.write_policies,
            "claim": self.write_claims,
            "payment": self.write_payments,
        }

    def write_requisitions(self, f: dict[str, Any]) -> int:
        src = self._source_fields("requisition")
        requesting = db_ids(self.unit_pk, f["requesting_unit"])
        recruiting = db_ids(self.unit_pk, f["recruiting_unit"])
        opened, target, closed = (
            to_dates(f["opened_on"]),
            to_dates(f["target_date"]),
            to_dates(f["closed_on"]),
        )
        objs = [
            RequisitionRecord(
                **src,
                external_id=f["external_id"][i],
                requisition_no=f["requisition_no"][i],
                requesting_unit_id=requesting[i],
                recruiting_unit_id=recruiting[i],
                position_title=f["position_title"][i],
                positions=int(f["positions"][i]),
                opened_on=opened[i],
                target_date=target[i],
                closed_on=closed[i],
            )
            for i in range(len(opened))
        ]
        _bulk(RequisitionRecord, objs)
        self.requisition_pk = np.array([o.pk for o in objs], dtype=np.int64)
        return len(objs)

    def write_hires(self, f: dict[str, Any]) -> int:
        return insert_columns(
            HireRecord,
            {
                **self._source("hire", len(f["external_id"])),
                "external_id": f["external_id"],
                "requisition_id": db_ids(self.requisition_pk, f["requisition"]),
                "candidate_name": f["candidate_name"],
                "channel": f["channel"],
                "offer_on": db_dates(f["offer_on"]),
                "arrived_on": db_dates(f["arrived_on"]),
                "employee_id": db_ids(self.employee_pk, f["employee"]),
            },
        )

    def write_training(self, f: dict[str, Any]) -> int:
        return insert_columns(
            TrainingRecord,
            {
                **self._source("training", len(f["external_id"])),
                "external_id": f["external_id"],
                "employee_id": db_ids(self.employee_pk, f["employee"]),
                "course": f["course"],
                "completed_on": db_dates(f["completed_on"]),
                "passed": [None if v == NA else bool(v) for v in f["passed"].tolist()],
                "score": [None if v == NA else Decimal(v).scaleb(-1) for v in f["score_tenths"].tolist()],
            },
        )

    def write_exits(self, f: dict[str, Any]) -> int:
        return insert_columns(
            ExitRecord,
            {
                **self._source("exit", len(f["external_id"])),
                "external_id": f["external_id"],
                "employee_id": db_ids(self.employee_pk, f["employee"]),
                "exit_date": db_dates(f["exit_date"]),
                "reason": f["reason"],
            },
        )

    def write_policies(self, f: dict[str, Any]) -> int:
        return insert_columns(
            PolicyRecord,
            {
                **self._source("policy", len(f["external_id"])),
                "external_id": f["external_id"],
                "policy_no": f["external_id"],
                "product_line": f["product_line"],
                "agent_id": db_ids(self.employee_pk, f["agent"]),
                "unit_id": db_ids(self.unit_pk, f["unit"]),
                "applied_on": db_dates(f["applied_on"]),
                "issued_on": db_dates(f["issued_on"]),
                "terminated_on": db_dates(f["terminated_on"]),
                "first_year_premium": db_money(f["first_year_premium_fen"]),
                "annualised_premium": db_money(f["annualised_premium_fen"]),
                "status": f["status"],
            },
        )

    def write_claims(self, f: dict[str, Any]) -> int:
        return insert_columns(
            ClaimRecord,
            {
                **self._source("claim", len(f["external_id"])),
                "external_id": f["external_id"],
                "claim_no": f["external_id"],
                "line": f["line"],
                "handler_id": db_ids(self.employee_pk, f["handler"]),
                "unit_id": db_ids(self.unit_pk, f["unit"]),
                **{
                    k: db_datetimes(f[k])
                    for k in (
                        "reported_at",
                        "registered_at",
                        "assessed_at",
                        "approved_at",
                        "paid_at",
                        "closed_at",
                    )
                },
                "amount_claimed": db_money(f["amount_claimed_fen"]),
                "amount_paid": db_money(f["amount_paid_fen"]),
                "satisfaction": [None if v == NA else v for v in f["satisfaction"].tolist()],
                "catastrophe_tag": f["catastrophe_tag"],
            },
        )

    def write_payments(self, f: dict[str, Any]) -> int:
        return insert_columns(
            PaymentRecord,
            {
                **self._source("payment", len(f["external_id"])),
                "external_id": f["external_id"],
                "kind": f["kind"],
                "reference": f["reference"],
                "payee_id": db_ids(self.employee_pk, f["payee"]),
                "unit_id": db_ids(self.unit_pk, f["unit"]),
                "requested_at": db_datetimes(f["requested_at"]),
                "approved_at": db_datetimes(f["approved_at"]),
                "paid_at": db_datetimes(f["paid_at"]),
                "amount": db_money(f["amount_fen"]),
            },
        )

    def write_incidents(self, f: dict[str, Any]) -> int:
        src = self._source_fields("incident")
        started, ended = to_datetimes(f["started_at"]), to_datetimes(f["ended_at"])
        objs = [
            IncidentRecord(
                **src,
                external_id=f["external_id"][i],
                system=f["system"][i],
                severity=f["severity"][i],
                started_at=started[i],
                ended_at=ended[i],
                affected_transactions=int(f["affected_transactions"][i]),
            )
            for i in range(len(started))
        ]
        _bulk(IncidentRecord, objs)
        self.incident_pk = np.array([o.pk for o in objs], dtype=np.int64)
        return len(objs)

    def write_incident_units(self, f: dict[str, np.ndarray]) -> int:
        return insert_columns(
            IncidentUnit,
            {
                "tenant_id": [self.tenant.pk] * len(f["unit"]),
                "incident_id": db_ids(self.incident_pk, f["incident"]),
                "unit_id": db_ids(self.unit_pk, f["unit"]),
            },
        )


def write_demo(data: DemoData, tenant: Tenant, actor: Actor) -> Writer:
    """Insert everything (row counts per table in `.counts`, primary keys by generator index in `.unit_pk`,
    `.employee_pk`). Run inside transaction.atomic() and tenant_context()."""
    writer = Writer(data, tenant, actor)
    writer.write()
    return writer
