from __future__ import annotations

import getpass
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perflink.core.context import Actor, tenant_context
from perflink.core.errors import DomainError
from perflink.metrics.actions import do_calculate, do_install_library, do_publish_run
from perflink.metrics.calc import reproduce
from perflink.metrics.choices import RunTrigger
from perflink.metrics.models import MetricDefinition
from perflink.metrics.selectors import get_run, run_frame
from perflink.tenancy.models import Tenant


class Command(BaseCommand):
    help = (
        "Calculate every metric, score and weighted total of a period and store the run. "
        "Example: perflink calc --tenant demo --period 2026-03 --json"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--period", help="YYYY-MM, YYYY-Qn or YYYY, e.g. 2026-03")
        parser.add_argument(
            "--reproduce",
            type=int,
            metavar="RUN_ID",
            help="compute a stored run again from what it stored and say whether every number is identical",
        )
        parser.add_argument("--json", action="store_true", help="print the run's summary as one JSON object")
        parser.add_argument("--publish", action="store_true", help="publish the run once calculated")
        parser.add_argument(
            "--install-library",
            action="store_true",
            help="first add the product's metric library and default templates if the tenant lacks them",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        actor = Actor("system", None, f"cli:{getpass.getuser()}")
        if options["reproduce"]:
            self._reproduce(tenant, options["reproduce"], as_json=options["json"])
            return
        if not options["period"]:
            raise CommandError("give --period (e.g. 2026-03), or --reproduce RUN_ID")
        with tenant_context(tenant, actor):
            try:
                if options["install_library"] or not MetricDefinition.objects.exists():
                    year = int(options["period"][:4])
                    do_install_library(years=range(year - 2, year + 2), actor=actor)
                run = do_calculate(options["period"], actor=actor, trigger=RunTrigger.CLI)
                if options["publish"]:
                    do_publish_run(run, actor=actor)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
            totals = run_frame(run, "totals")
        summary = {
            "tenant": tenant.slug,
            "period": run.period,
            "run": run.number,
            "run_id": run.pk,
            "fingerprint": run.fingerprint,
            "published": run.published_at is not None,
            **{k: v for k, v in run.summary.items() if k != "changed_records"},
            "changed_records": len(run.summary.get("changed_records", [])),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, default=str))
            return
        t = run.summary.get("timings", {})
        self.stdout.write(f"{tenant.slug} {run.period} run #{run.number} ({run.fingerprint[:12]})")
        self.stdout.write(
            f"  records read {run.summary['records_total']:,}, values {run.summary['values']:,}, "
            f"scored subjects {run.summary['subjects']:,}"
        )
        self.stdout.write(
            f"  load {t.get('load_s', 0):.3f} s, compute {t.get('compute_s', 0):.3f} s, "
            f"persist {t.get('persist_s', 0):.3f} s, total {t.get('total_s', 0):.3f} s"
        )
        if run.summary.get("missing_calendar_years"):
            self.stdout.write(
                self.style.WARNING(
                    f"  no working-day calendar for: {run.summary['missing_calendar_years']} (enter the holidays)"
                )
            )
        by_coverage = totals.group_by("template", "coverage").len().sort("template", "coverage")
        for template, coverage, n in by_coverage.iter_rows():
            self.stdout.write(f"  {template:<28} {coverage:<9} {n:>6}")

    def _reproduce(self, tenant: Tenant, run_id: int, *, as_json: bool) -> None:
        with tenant_context(tenant):
            try:
                run = get_run(run_id)
            except DomainError as exc:
                raise CommandError(f"tenant {tenant.slug} has no run {run_id}") from exc
            outcome = reproduce(run)
        if as_json:
            body = {
                "run_id": run.pk,
                "period": run.period,
                "identical": outcome.identical,
                **outcome.differences,
            }
            self.stdout.write(json.dumps(body))
        elif outcome.identical:
            self.stdout.write(
                self.style.SUCCESS(f"run {run} ({run.fingerprint[:12]}): every number reproduced exactly")
            )
        else:
            self.stdout.write(self.style.ERROR(f"run {run}: rows that differ: {outcome.differences}"))
        if not outcome.identical:
            raise SystemExit(1)
