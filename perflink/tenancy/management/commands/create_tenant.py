from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perflink.core.errors import DomainError
from perflink.tenancy.actions import do_create_tenant


class Command(BaseCommand):
    help = "Create a tenant (one insurer). Example: perflink create-tenant acme --name '某某人寿保险股份有限公司'"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="short identifier, letters, digits and dashes (e.g. acme-life)")
        parser.add_argument("--name", required=True, help="the insurer's full name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = do_create_tenant(slug=options["slug"], name=options["name"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"created tenant {tenant.slug} ({tenant.name})"))
