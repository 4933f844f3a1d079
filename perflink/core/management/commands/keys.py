from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from perflink.core.context import unscoped
from perflink.core.crypto import load_keyring, write_key_file
from perflink.core.fields import EncryptedTextField


class Command(BaseCommand):
    help = "Encryption keys for sensitive fields (ID-card numbers, mobiles, bank accounts)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, title="subcommands")
        sub.add_parser(
            "init", help="create the key file if it does not exist (PERFLINK_KEY_FILE, default var/keys.json)"
        )
        sub.add_parser(
            "rotate", help="add a new active key to the key file and re-encrypt every value with it"
        )
        sub.add_parser("status", help="show the active key id and how many values each key encrypts")

    def handle(self, *args: Any, **options: Any) -> None:
        path = settings.PERFLINK_KEY_FILE
        if options["subcommand"] == "init":
            kid = write_key_file(path)
            self.stdout.write(f"key file {path}: active key {kid}")
        elif options["subcommand"] == "rotate":
            if not path.exists():
                raise CommandError(f"no key file at {path}; run `perflink keys init` first")
            kid = write_key_file(path, rotate=True)
            n = self._reencrypt()
            self.stdout.write(self.style.SUCCESS(f"active key is now {kid}; re-encrypted {n} rows"))
        else:
            ring = load_keyring()
            self.stdout.write(f"active key: {ring.active_id}; keys known: {', '.join(ring.keys)}")

    def _reencrypt(self) -> int:
        total = 0
        with unscoped("key rotation re-encrypts every tenant"), transaction.atomic():
            for model in apps.get_models():
                fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
                if not fields:
                    continue
                manager = model._base_manager
                batch = []
                for obj in manager.all().iterator(chunk_size=1000):
                    batch.append(obj)  # decrypted on load; saving encrypts with the active key
                    if len(batch) == 1000:
                        manager.bulk_update(batch, fields)
                        total += len(batch)
                        batch = []
                if batch:
                    manager.bulk_update(batch, fields)
                    total += len(batch)
        return total
