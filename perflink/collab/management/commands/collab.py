"""`perflink collab tick`: the collaboration app's daily round, for cron or a loop.

For each active tenant with the collaboration module: open the surveys whose day has come, remind the people who
have not answered an open survey closing within two days (once a day), close the surveys whose closing day has
passed, evaluate the delivered demands that are due, and generate last week's coordination reports when they
are missing (so running it again, or every hour, changes nothing)."""

from __future__ import annotations

import datetime as dt
import getpass
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from perflink.collab.actions import do_evaluate_due_demands
from perflink.collab.models import WeeklyReport
from perflink.collab.surveys import do_close_due_surveys, do_open_due_surveys, do_remind_due_surveys
from perflink.collab.weekly import previous_week, week_label
from perflink.collab.weekly_actions import do_generate_weekly_reports
from perflink.core.context import Actor, tenant_context
from perflink.tenancy.models import Tenant


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "The collaboration app's scheduled work. `perflink collab tick` opens, reminds and closes the surveys "
        "that are due, evaluates the demands that are due and, from Monday on, generates last week's "
        "coordination reports if they are missing; then exits (what cron calls, e.g. hourly). "
        "`--loop --every 3600` keeps doing so."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["tick"], help="tick: do what is due now")
        parser.add_argument("--tenant", help="only this tenant (slug); default every active tenant")
        parser.add_argument("--today", help="act as if today were YYYY-MM-DD (catching up, testing)")
        parser.add_argument("--loop", action="store_true", help="keep ticking, every --every seconds")
        parser.add_argument("--every", type=float, default=3600.0, help="seconds between rounds with --loop")

    def handle(self, *args: Any, **options: Any) -> None:
        today = None
        if options["today"]:
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError:
                raise CommandError("--today is a date: YYYY-MM-DD") from None
        tenants = self._tenants(options.get("tenant"))
        if not options["loop"]:
            self._round(tenants, today)
            return
        if options["every"] < 1:
            raise CommandError("--every must be at least 1 second")
        self.stdout.write(f"collab: ticking every {options['every']:g} s (Ctrl-C stops)")
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while True:
                close_old_connections()
                self._round(self._tenants(options.get("tenant")), today)
                close_old_connections()
                self.stdout.flush()
                time.sleep(options["every"])
        except KeyboardInterrupt:
            self.stdout.write("collab: stopped")

    def _tenants(self, slug: str | None) -> list[Tenant]:
        tenants = Tenant.objects.filter(is_active=True).order_by("slug")
        if slug:
            found = list(Tenant.objects.filter(slug=slug))
            if not found:
                raise CommandError(f"no tenant {slug!r}")
            return found
        return [t for t in tenants if "collab" in (t.modules or ())]

    def _round(self, tenants: list[Tenant], today: dt.date | None) -> None:
        for tenant in tenants:
            self._tick(tenant, today or timezone.localdate())

    def _tick(self, tenant: Tenant, today: dt.date) -> None:
        actor = Actor("system", None, f"cli:{getpass.getuser()}")
        w = self.stdout.write
        who = f"[{tenant.slug}]"
        with tenant_context(tenant, actor):
            opened = do_open_due_surveys(today=today, actor=actor)
            reminded = do_remind_due_surveys(today, actor=actor)
            closed = do_close_due_surveys(today=today, actor=actor)
            evaluated = do_evaluate_due_demands(as_of=today, actor=actor)
            week = previous_week(today)
            made = []
            if not WeeklyReport.objects.filter(week_start=week, unit__isnull=True).exists():
                made = do_generate_weekly_reports(week, today=today, actor=actor)
        w(
            f"{who} surveys: opened {len(opened)}, reminded {len(reminded)} "
            f"({sum(n for _s, n in reminded)} people), closed {len(closed)}; "
            f"demands evaluated {len(evaluated)}; weekly reports of {week_label(week)}: "
            + (f"generated {len(made)}" if made else "already there")
        )
