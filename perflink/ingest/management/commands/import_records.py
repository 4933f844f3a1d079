from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from perflink.core.context import Actor, tenant_context
from perflink.core.errors import DomainError
from perflink.ingest.actions import IngestRejected, IngestReport, do_ingest, kind_spec, source_system_for
from perflink.ingest.choices import Channel
from perflink.ingest.cleaning import RULES
from perflink.ingest.files import FileProblem, Mapping, read_table
from perflink.ingest.kinds import KINDS, MASTER_KINDS, KindSpec
from perflink.ingest.models import ImportMapping
from perflink.ingest.roster import RosterRejected, sync_roster
from perflink.tenancy.models import Tenant


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX file of source records (保单, 理赔, 招聘, 培训, 离职, 支付, IT故障). "
        "All-or-nothing by default: one bad row and nothing is written. "
        "Example: perflink import claims.xlsx --kind claim --tenant demo --dry-run"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a .csv or .xlsx file; the first row holds the headers")
        parser.add_argument(
            "--kind",
            required=True,
            choices=[*KINDS, *MASTER_KINDS],
            help="the record kind in the file; `unit` and `employee` sync the org tree and the people",
        )
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--source", help="source system code (default: the tenant's system for the kind)")
        parser.add_argument("--mapping", help="name of a saved column mapping")
        parser.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
        parser.add_argument(
            "--quarantine",
            action="store_true",
            help="write the valid rows and keep the rejected ones in a file with an error column",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        if options["kind"] in MASTER_KINDS:
            self._roster(tenant, options)
            return
        spec = kind_spec(options["kind"])
        actor = Actor("system", None, f"cli:{getpass.getuser()}")
        with tenant_context(tenant, actor):
            custom = None
            if options.get("mapping"):
                saved = ImportMapping.objects.filter(name=options["mapping"], kind=spec.kind).first()
                if saved is None:
                    raise CommandError(f"no saved {spec.kind} mapping named {options['mapping']!r}")
                custom = saved.columns
            try:
                mapping, chunks = read_table(options["file"], spec, custom)
                # One transaction around choosing the source system and the delivery, so a refused file or a
                # dry run leaves no trace (not even a default source system created on first use).
                with transaction.atomic():
                    report = self._ingest(spec, mapping, chunks, actor, options)
            except FileProblem as exc:
                raise CommandError(str(exc)) from exc
            except IngestRejected as exc:
                self._print(exc.report, options)
                raise CommandError(
                    f"{Path(options['file']).name}: {exc.report.rejected} of {exc.report.total} rows rejected; "
                    "nothing was written. Fix the rows listed above, or use --quarantine to import the valid rows."
                ) from exc
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        self._print(report, options)

    def _ingest(
        self,
        spec: KindSpec,
        mapping: Mapping,
        chunks: Iterator[pl.DataFrame],
        actor: Actor,
        options: dict[str, Any],
    ) -> IngestReport:
        report = do_ingest(
            spec,
            chunks,
            source=source_system_for(spec.kind, options.get("source")),
            channel=Channel.FILE,
            actor=actor,
            headers=mapping.fields,
            quarantine=options["quarantine"],
            dry_run=options["dry_run"],
            file_name=str(options["file"]),
            ignored_columns=mapping.ignored,
            progress=self._progress,
        )
        if options["dry_run"]:
            transaction.set_rollback(True)
        return report

    def _progress(self, report: IngestReport) -> None:
        self.stderr.write(f"… {report.total:,} rows checked ({report.rejected:,} rejected)")
        self.stderr.flush()

    def _roster(self, tenant: Tenant, options: dict[str, Any]) -> None:
        spec = MASTER_KINDS[options["kind"]]
        actor = Actor("system", None, f"cli:{getpass.getuser()}")
        with tenant_context(tenant, actor):
            try:
                mapping, chunks = read_table(options["file"], spec)
                report = sync_roster(
                    spec.kind, chunks, actor=actor, headers=mapping.fields, dry_run=options["dry_run"]
                )
            except FileProblem as exc:
                raise CommandError(str(exc)) from exc
            except RosterRejected as exc:
                report = exc.report
                for e in report.errors[:50]:
                    self.stdout.write(
                        f"    row {e['row']}, column “{e['column']}”, value {e['value']!r}: {e['reason']}"
                    )
                raise CommandError(
                    f"{report.rejected} of {report.total} rows rejected; nothing was changed"
                ) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, default=str))
            return
        state = "DRY RUN, nothing changed" if report.dry_run else "applied"
        self.stdout.write(
            f"{spec.kind}: {report.total} rows — {state}: created {report.created}, moved {report.moved}, "
            f"updated {report.updated}, exited {report.exited}, unchanged {report.unchanged}"
        )

    def _print(self, report: IngestReport, options: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, default=str))
            return
        w = self.stdout.write
        spec = KINDS[report.kind]
        labels = {f.name: f.label for f in spec.fields}
        state = (
            "DRY RUN, nothing written" if report.dry_run else ("written" if report.written else "NOT written")
        )
        w(f"{report.kind}: {report.total} rows — {state}")
        w(
            f"  created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
            f"rejected {report.rejected}"
        )
        if report.batch_id:
            w(f"  batch #{report.batch_id}")
        changed = {k: v for k, v in report.rules.items() if v}
        if changed:
            w("  cleaning:")
            for rule, n in changed.items():
                w(f"    {n:>8} cells  {RULES.get(rule, rule)}")
        for name, n in report.rounded.items():
            w(f"  {n} amounts rounded to the fen in “{labels.get(name, name)}”")
        if report.findings:
            w("  plausibility checks:")
            for code, found in report.findings.items():
                w(f"    {found['cells']:>8} cells  {code} ({found['severity']})")
        if report.ignored_columns:
            w(f"  ignored columns: {', '.join(report.ignored_columns)}")
        where = f" in {report.file_name}" if report.file_name else ""
        if report.errors:
            w(f"  errors{where} ({report.error_count}):")
            for e in report.errors[:50]:
                w(f"    row {e['row']}, column “{e['column']}”, value {e['value']!r}: {e['reason']}")
            if report.error_count > 50:
                w(f"    … and {report.error_count - 50} more (use --json for all of the first 1000)")
        if report.warnings:
            w(f"  warnings{where} ({report.warning_count} on {report.warned_rows} rows, which are accepted):")
            for e in report.warnings[:50]:
                w(
                    f"    row {e['row']}, column “{e['column']}”, value {e['value']!r}: {e['reason']} "
                    f"[{e['rule']}]"
                )
            if report.warning_count > 50:
                w(f"    … and {report.warning_count - 50} more (use --json for all of the first 1000)")
        if report.quarantined and report.rejected and report.batch_id:
            w("  rejected rows saved; download them from the import history page")
