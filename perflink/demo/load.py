"""Write a generated demo (`DemoData`) into one tenant's tables.

The source records go in through the front door: each of the eight kinds becomes the raw frame its
source system would deliver (`perflink.demo.deliveries`) and is handed to
`perflink.ingest.actions.do_ingest`, the same cleaning, validation and upsert an insurer's own data
goes through; that also makes the kind's `Batch`. Org and people are master data and take a faster
path: units through `do_create_unit` (a few hundred, so paths, versions and audit events come out as
the product makes them), positions, employees (whose sensitive fields the model field encrypts) and
assignments with `bulk_create` (see docs/demo-data.md for why not the roster sync). The caller
(`perflink.demo.actions.do_load_demo`) holds the transaction and the tenant context.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial

import numpy as np
from django.db import connection, models

from perflink.core.context import Actor
from perflink.demo.calendar import NA, to_dates
from perflink.demo.deliveries import DELIVERY_ORDER, delivery
from perflink.demo.generate import DemoData
from perflink.demo.reference import POSITIONS
from perflink.demo.workforce import managers
from perflink.ingest.actions import IngestRejected, do_ingest
from perflink.ingest.kinds import KINDS
from perflink.ingest.models import Batch, IncidentUnit, SourceSystem
from perflink.org.actions import do_create_unit
from perflink.org.models import Employee, EmployeeAssignment, OrgUnit, Position
from perflink.tenancy.models import Tenant

BATCH_SIZE = 2000
INGEST_CHUNK_ROWS = 50_000

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


def _bulk(model: type[models.Model], objs: Iterable[models.Model]) -> list[models.Model]:
    return model.objects.bulk_create(list(objs), batch_size=BATCH_SIZE)


def _pks(pks: np.ndarray, index: np.ndarray) -> list[int | None]:
    """Generator indices -> primary keys (NA -> None)."""
    out = np.where(index == NA, NA, pks[np.maximum(index, 0)])
    return [None if v == NA else v for v in out.tolist()]


@contextmanager
def large_write_cache() -> Iterator[None]:
    """On SQLite, give the connection a 256 MB page cache while the demo is written (the indexes of a
    300,000-row load otherwise thrash the default 2 MB cache); restore the previous size afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


class Writer:
    """Writes one DemoData into one tenant; keeps the primary keys it creates to resolve references."""

    def __init__(self, data: DemoData, tenant: Tenant, actor: Actor) -> None:
        self.data = data
        self.tenant = tenant
        self.actor = actor
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}  # wall time of each step (org, people, each record kind)

    def write(self) -> dict[str, int]:
        with large_write_cache():
            self._timed("org", self.write_org)
            self._timed("people", self.write_people)
            self.write_sources()
            for kind in DELIVERY_ORDER:
                self._timed(kind, partial(self.ingest, kind))
            self.counts["batches"] = Batch.objects.filter(channel="demo").count()
            self.counts["incident_units"] = IncidentUnit.objects.count()
        return self.counts

    def _timed(self, step: str, run: Callable[[], None]) -> None:
        started = time.perf_counter()
        run()
        self.seconds[step] = time.perf_counter() - started

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
        rows = zip(
            _pks(self.employee_pk, a["employee"]),
            _pks(self.unit_pk, a["unit"]),
            _pks(self.position_pk, a["position"]),
            _pks(self.employee_pk, a["manager"]),
            to_dates(a["valid_from"]),
            to_dates(a["valid_to"]),
            strict=True,
        )
        assigned = _bulk(
            EmployeeAssignment,
            (
                EmployeeAssignment(
                    tenant=self.tenant,
                    employee_id=employee,
                    unit_id=unit,
                    position_id=position,
                    manager_id=manager,
                    valid_from=valid_from,
                    valid_to=valid_to,
                )
                for employee, unit, position, manager, valid_from, valid_to in rows
            ),
        )
        self.counts["assignments"] = len(assigned)

    # --- source records, through ingestion ----------------------------------------------------------

    def write_sources(self) -> None:
        systems = _bulk(
            SourceSystem,
            (
                SourceSystem(tenant=self.tenant, code=code, name=name, kind=kind)
                for code, name, kind in SOURCE_SYSTEMS
            ),
        )
        self.system = {s.code: s for s in systems}
        self.counts["source_systems"] = len(systems)

    def ingest(self, kind: str) -> None:
        """Deliver one kind's records to `do_ingest`, in chunks, as one batch. Every record is new to the
        tenant, so everything must be created; a rejected row is a bug in the generator."""
        frame = delivery(self.data, kind)
        try:
            report = do_ingest(
                KINDS[kind],
                frame.iter_slices(INGEST_CHUNK_ROWS),
                source=self.system[SYSTEM_OF_KIND[kind]],
                channel="demo",
                actor=self.actor,
                file_name=f"demo-data seed={self.data.config.seed}",
            )
        except IngestRejected as exc:
            raise RuntimeError(
                f"ingestion rejected {exc.report.rejected} generated {kind} records (a demo generator bug); "
                f"first errors: {exc.report.errors[:5]}"
            ) from exc
        if report.created != frame.height:
            raise RuntimeError(f"{kind}: {frame.height} generated records, but {report.created} created")
        self.counts[COUNT_LABEL[kind]] = report.created


def write_demo(data: DemoData, tenant: Tenant, actor: Actor) -> Writer:
    """Insert everything (row counts per table in `.counts`, seconds per step in `.seconds`, primary keys
    by generator index in `.unit_pk`, `.employee_pk`). Run inside transaction.atomic() and tenant_context()."""
    writer = Writer(data, tenant, actor)
    writer.write()
    return writer
