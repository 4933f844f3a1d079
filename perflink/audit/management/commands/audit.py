from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perflink.audit.models import AuditEvent
from perflink.audit.selectors import verify_tenant_chain
from perflink.core.context import tenant_context
from perflink.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Audit trail tools."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, title="subcommands")
        verify = sub.add_parser(
            "verify",
            help="check every tenant's hash chain (exit 0 intact, 1 broken)",
            description="Recompute each tenant's audit hash chain. Exits 0 when every chain is intact; "
            "exits 1 and names the first broken entry when a row was edited, deleted or inserted "
            "behind the application's back.",
        )
        verify.add_argument("--tenant", help="only this tenant's chain (slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self.verify(options.get("tenant"))

    def verify(self, slug: str | None) -> None:
        tenants = Tenant.objects.all()
        if slug:
            tenants = tenants.filter(slug=slug)
            if not tenants.exists():
                raise CommandError(f"no tenant {slug!r}")
        broken = 0
        for tenant in tenants:
            with tenant_context(tenant):
                problem = verify_tenant_chain(tenant)
                count = AuditEvent.objects.count()
            if problem is None:
                self.stdout.write(f"{tenant.slug}: intact ({count} events)")
            else:
                broken += 1
                self.stderr.write(f"{tenant.slug}: BROKEN at {problem}")
        if broken:
            sys.exit(1)
