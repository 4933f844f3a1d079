from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.core.context import SYSTEM, tenant_context
from perflink.core.errors import DomainError
from perflink.org.models import Employee, OrgUnit
from perflink.tenancy.models import Tenant


class Command(BaseCommand):
    help = (
        "Create a user in a tenant. The password is read from PERFLINK_PASSWORD or asked for. "
        "Example: perflink create-user --tenant demo --username hr.li@demo --role performance_admin"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument("--email", default="")
        parser.add_argument("--unit", default="", help="unit code: the data scope of a unit head")
        parser.add_argument("--employee", default="", help="employee number the user is (for self-service)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}; create it with `perflink create-tenant`")
        password = os.environ.get("PERFLINK_PASSWORD") or getpass.getpass("Password: ")
        with tenant_context(tenant, SYSTEM):
            unit = employee = None
            if options["unit"]:
                unit = OrgUnit.objects.filter(code=options["unit"]).first()
                if unit is None:
                    raise CommandError(f"no unit with code {options['unit']!r} in tenant {tenant.slug}")
            if options["employee"]:
                employee = Employee.objects.filter(employee_no=options["employee"]).first()
                if employee is None:
                    raise CommandError(f"no employee {options['employee']!r} in tenant {tenant.slug}")
            try:
                user = do_create_user(
                    username=options["username"],
                    password=password,
                    role=options["role"],
                    first_name=options["name"],
                    email=options["email"],
                    scope_unit=unit,
                    employee=employee,
                    actor=SYSTEM,
                )
            except DomainError as exc:
                field = f" ({exc.field})" if exc.field else ""
                raise CommandError(f"{exc.message}{field}") from exc
        self.stdout.write(self.style.SUCCESS(f"created {user.role} {user.username} in {tenant.slug}"))
