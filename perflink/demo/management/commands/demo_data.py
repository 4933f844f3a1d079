"""`perflink demo-data`: create the demo insurer (org, people, source records, logins) in one tenant."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from perflink.core.crypto import write_key_file
from perflink.core.errors import DomainError
from perflink.demo.actions import DEMO_PASSWORD, DemoLogin, do_load_demo, existing_logins, period_label
from perflink.demo.calendar import last_full_month, parse_month
from perflink.demo.generate import DEFAULT_COMPANY, DemoConfig
from perflink.tenancy.models import Tenant


class Command(BaseCommand):
    help = (
        "Create a realistic demo insurer (演示保险集团) in a tenant: a group with branches (分公司), life sales "
        "teams of agents (营销员), P&C claims teams, functional departments (HR, finance, IT), and source records "
        "from every source system (policies, claims, requisitions, hires, training, exits, payments, IT "
        "incidents) with the 开门红 and 汛期 seasons and three planted cause-and-effect relations (see "
        "docs/demo-data.md). Deterministic for a seed. Prints the demo logins at the end."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tenant", default="demo", help="tenant slug (created if missing; default: demo)"
        )
        parser.add_argument(
            "--name", default="", help=f"tenant name for a new tenant (default: {DEFAULT_COMPANY}（演示）)"
        )
        parser.add_argument(
            "--employees",
            type=int,
            default=5000,
            help="headcount (staff + agents) at the start; "
            "leavers are replaced, about half are agents (default: 5000)",
        )
        parser.add_argument("--months", type=int, default=24, help="months of history (default: 24)")
        parser.add_argument(
            "--seed", type=int, default=7, help="random seed; same seed, same data (default: 7)"
        )
        parser.add_argument(
            "--end",
            default="",
            metavar="YYYY-MM",
            help="last month covered (default: the last full month before today)",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="if the tenant exists, drop its data (not its audit trail) and load the demo again; "
            "only for a tenant demo-data made (or an empty one)",
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="do nothing when the tenant already exists"
        )
        parser.add_argument(
            "--show-logins", action="store_true", help="only print the demo logins of the tenant"
        )
        parser.add_argument(
            "--calculate-months",
            type=int,
            default=24,
            help="calculate the scores of the last N months after loading, all but the latest published "
            "(default 24, every month of the default history; 0 skips it)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["tenant"]
        tenant = Tenant.objects.filter(slug=slug).first()
        if options["show_logins"]:
            if tenant is None:
                raise CommandError(
                    f"tenant {slug!r} does not exist; run `perflink demo-data --tenant {slug}` first"
                )
            self._print_logins(existing_logins(tenant))
            return
        if tenant is not None and options["if_missing"]:
            if options["verbosity"]:
                self.stdout.write(f"tenant {slug} already exists; nothing to do (--if-missing)")
            return
        try:
            end = parse_month(options["end"]) if options["end"] else last_full_month(timezone.localdate())
            config = DemoConfig(
                employees=options["employees"], months=options["months"], seed=options["seed"], end_month=end
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if end > last_full_month(timezone.localdate()) and options["verbosity"]:
            self.stderr.write(
                f"note: {end:%Y-%m} has not ended yet; records dated after today will be generated"
            )
        if not os.environ.get("PERFLINK_ENCRYPTION_KEYS"):
            # ID numbers, mobiles and bank accounts are encrypted: make sure there is a key.
            write_key_file(Path(settings.PERFLINK_KEY_FILE))
        name = options["name"] or f"{DEFAULT_COMPANY}（演示）"
        started = time.perf_counter()
        try:
            result = do_load_demo(
                slug=slug,
                name=name,
                config=config,
                replace=options["replace"],
                calculate_months=options["calculate_months"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        seconds = time.perf_counter() - started
        if not options["verbosity"]:
            return
        if result.dropped is not None:
            self.stdout.write(f"dropped the earlier data of {slug}: {sum(result.dropped.values())} rows")
        self.stdout.write(
            self.style.SUCCESS(
                f"loaded demo insurer into tenant {slug} ({result.tenant.name}): {config.employees} employees, "
                f"{period_label(config)}, seed {config.seed}, in {seconds:.1f} s"
            )
        )
        width = max(len(k) for k in result.counts)
        for table, count in result.counts.items():
            self.stdout.write(f"  {table.ljust(width)}  {count:>9,}")
        self.stdout.write(f"  {'total'.ljust(width)}  {sum(result.counts.values()):>9,}")
        if options["verbosity"] > 1:
            self.stdout.write("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
        if not options["if_missing"]:  # `make demo` shows the logins itself, loaded now or earlier
            self._print_logins(result.logins)

    def _print_logins(self, logins: list[DemoLogin]) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        self.stdout.write(f"  {'username':<22} {'role':<18} linked employee / data scope")
        for login in logins:
            about = "; ".join(x for x in (login.employee, f"sees {login.scope}" if login.scope else "") if x)
            self.stdout.write(f"  {login.username:<22} {login.role:<18} {about or '-'}")
