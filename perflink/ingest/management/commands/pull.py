from __future__ import annotations

import getpass
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from perflink.core.context import Actor, tenant_context
from perflink.core.errors import Conflict
from perflink.ingest.choices import PullStatus
from perflink.ingest.connectors import run_connector, run_due_connectors
from perflink.ingest.models import PullConnector, PullRun
from perflink.tenancy.models import Tenant


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Pull records from source systems' HTTP APIs through the configured connectors. "
        "On demand: perflink pull --tenant demo --connector claims-api. "
        "For cron: perflink pull --due. As a scheduler process: perflink pull --loop --every 60. "
        "List a tenant's connectors: perflink pull --tenant demo --list"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--connector", help="run this connector now (needs --tenant)")
        what.add_argument("--due", action="store_true", help="run every connector that is due, then exit")
        what.add_argument(
            "--loop", action="store_true", help="keep running what is due, every --every seconds"
        )
        what.add_argument("--list", action="store_true", help="list the tenant's connectors (needs --tenant)")
        parser.add_argument("--tenant", help="tenant slug")
        parser.add_argument("--every", type=float, default=60.0, help="seconds between checks with --loop")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["connector"] or options["list"]:
            tenant = self._tenant(options.get("tenant"))
            if options["list"]:
                self._list(tenant)
            else:
                self._run_one(tenant, options["connector"])
        elif options["due"]:
            runs = run_due_connectors(report=self._report)
            if not runs:
                self.stdout.write("nothing due")
            bad = [r for r in runs if r.status != PullStatus.SUCCEEDED]
            if bad:
                raise CommandError(f"{len(bad)} of {len(runs)} runs did not succeed")
        else:
            self._loop(options["every"])

    def _tenant(self, slug: str | None) -> Tenant:
        if not slug:
            raise CommandError("--tenant is needed with --connector and --list")
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant {slug!r}")
        return tenant

    def _run_one(self, tenant: Tenant, name: str) -> None:
        actor = Actor("system", None, f"cli:{getpass.getuser()}")
        with tenant_context(tenant, actor):
            connector = PullConnector.objects.filter(name=name).first()
            if connector is None:
                names = ", ".join(PullConnector.objects.values_list("name", flat=True)) or "none"
                raise CommandError(f"no connector {name!r} in tenant {tenant.slug!r} (connectors: {names})")
            if not connector.enabled:
                self.stdout.write(f"{name}: disabled for the schedule; running it on demand")
            try:
                run = run_connector(connector, actor=actor)
            except Conflict as exc:
                raise CommandError(exc.message) from exc
            self._report(connector, run, "")
        if run.status != PullStatus.SUCCEEDED:
            raise CommandError(f"{name}: {run.status}: {run.error}")

    def _list(self, tenant: Tenant) -> None:
        with tenant_context(tenant):
            connectors = list(PullConnector.objects.select_related("source_system"))
        if not connectors:
            self.stdout.write(f"tenant {tenant.slug!r} has no pull connectors")
        for c in connectors:
            every = f"every {c.interval_minutes} min" if c.interval_minutes else "on demand"
            state = "enabled" if c.enabled else "disabled"
            last = (
                f"{c.last_status} at {timezone.localtime(c.last_run_at):%Y-%m-%d %H:%M}"
                if c.last_run_at
                else "never run"
            )
            nxt = f", next {timezone.localtime(c.next_run_at):%Y-%m-%d %H:%M}" if c.next_run_at else ""
            self.stdout.write(
                f"{c.name}: {c.kind} from {c.source_system.code} <{c.url}> — {state}, {every}; {last}{nxt}; "
                f"cursor {c.cursor_value or '(none)'}"
            )

    def _loop(self, every: float) -> None:
        if every < 1:
            raise CommandError("--every must be at least 1 second")
        self.stdout.write(f"pull scheduler: checking every {every:g} s (Ctrl-C stops)")
        # SIGTERM (systemd, docker stop) stops like Ctrl-C: the page being stored is rolled back and the
        # run is recorded as interrupted, so the connector is free for the next start.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while True:
                close_old_connections()
                run_due_connectors(report=self._report)
                close_old_connections()
                self.stdout.flush()  # a scheduler's output goes to a log, not a terminal
                time.sleep(every)
        except KeyboardInterrupt:
            self.stdout.write("pull scheduler stopped")

    def _report(self, connector: PullConnector, run: PullRun | None, note: str) -> None:
        w = self.stdout.write
        who = f"[{connector.tenant.slug}] {connector.name}"
        if run is None:
            w(f"{who}: {note}")
            return
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
        w(
            f"{who}: {run.status} — {_n(run.pages, 'page')}, {_n(run.records, 'record')}: "
            f"created {run.created}, updated {run.updated}, unchanged {run.unchanged}, rejected {run.rejected} "
            f"({run.requests} requests, {seconds:.1f} s, run #{run.pk})"
        )
        if run.cursor_after != run.cursor_before:
            w(f"  cursor {run.cursor_before or '(start)'} → {run.cursor_after}")
        for text in run.notes:
            w(f"  {text}")
        if run.ignored_fields:
            w(f"  ignored fields: {', '.join(run.ignored_fields)}")
        if run.error:
            w(f"  error: {run.error}")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
