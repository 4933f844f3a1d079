"""Benchmark: the demo insurer generator (5,000 employees x 24 months) into a fresh SQLite database.

Prints one JSON line: seconds, rows per table kind, rows per second and peak memory."""

from __future__ import annotations

import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    employees = int(os.environ.get("BENCH_EMPLOYEES", 5000))
    months = int(os.environ.get("BENCH_MONTHS", 24))
    with tempfile.TemporaryDirectory(prefix="perflink-bench-") as tmp:
        os.environ["PERFLINK_VAR_DIR"] = tmp
        os.environ.pop("DATABASE_URL", None)
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
        import django

        django.setup()
        from django.apps import apps
        from django.core.management import call_command

        from perflink.core.context import unscoped

        call_command("keys", "init", stdout=io.StringIO())
        call_command("migrate", verbosity=0, stdout=io.StringIO())
        started = time.perf_counter()
        call_command(
            "demo_data",
            tenant="bench",
            employees=employees,
            months=months,
            seed=7,
            verbosity=0,
            calculate_months=0,
        )
        seconds = time.perf_counter() - started
        counts = {}
        with unscoped("benchmark counts"):
            for label in ("org.Employee", "org.OrgUnit", "ingest.PolicyRecord", "ingest.ClaimRecord",
                          "ingest.PaymentRecord", "ingest.HireRecord", "ingest.TrainingRecord",
                          "ingest.ExitRecord", "ingest.RequisitionRecord", "ingest.IncidentRecord"):  # fmt: skip
                counts[label.split(".")[1]] = apps.get_model(label).objects.count()
        rows = sum(counts.values())
        db_mb = (Path(tmp) / "perflink.sqlite3").stat().st_size / 1e6
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "bench": "demo_data", "employees": employees, "months": months, "seconds": round(seconds, 2),
        "rows": rows, "rows_per_s": round(rows / seconds), "peak_rss_mb": round(peak, 1),
        "sqlite_mb": round(db_mb, 1), "cores": os.cpu_count(), "counts": counts,
    }, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
