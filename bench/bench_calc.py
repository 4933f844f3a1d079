"""Benchmark: one month's full calculation run, and the recalculation after 1,000 changed records.

`perflink bench calc [--employees N] [--months M]` builds a tenant of that size with the demo generator in a
throw-away SQLite database (or the database of BENCH_DATABASE_URL), installs the metric library and default
templates, calculates the last full month once to warm up, then measures a fresh run and prints one JSON line:

- load_s, compute_s, persist_s, total_s: the run's phases (reading the records into frames; the engine;
  writing the run and its Arrow frames);
- floor_s: the same records read by the same queries plus one plain polars group-by per kind, in the same
  process: the least any run must pay to read the month's records and touch each once; ratio = total / floor;
- bonus_s, bonus_people: a bonus run of DOMAIN.md's finance plan on that calculation run;
- recalc_s: a new run after 1,000 policy records of the month changed (premium up 10%, version bumped),
  through the incremental path (the previous run's stored inputs plus the changed rows read by id);
- whatif_12m_s: a what-if of the finance plan (its fastest payment-time band paying 130% instead of 120%) over
  the 12 months up to that one, each calculated beforehand (outside the measurement): both plans paid on each
  month's inputs, with every figure of the what-if page;
- peak_rss_mb: the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import copy
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
    parser = argparse.ArgumentParser(prog="perflink bench calc")
    parser.add_argument("--employees", type=int, default=int(os.environ.get("BENCH_EMPLOYEES", 5000)))
    parser.add_argument("--months", type=int, default=int(os.environ.get("BENCH_MONTHS", 24)))
    parser.add_argument("--changed", type=int, default=1000, help="records changed before the recalculation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="perflink-bench-") as tmp:
        os.environ["PERFLINK_VAR_DIR"] = tmp
        if os.environ.get("BENCH_DATABASE_URL"):
            os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
        else:
            os.environ.pop("DATABASE_URL", None)
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
        import django

        django.setup()
        print(json.dumps(measure(args.employees, args.months, args.changed), ensure_ascii=False))


def measure(employees: int, months: int, changed: int) -> dict[str, object]:
    from django.core.management import call_command
    from django.db import connection

    from perflink.core.context import SYSTEM, tenant_context
    from perflink.engine.periods import Period, add_months
    from perflink.incentives.actions import do_save_plan
    from perflink.incentives.bonus import do_run_bonus
    from perflink.incentives.library import FINANCE_PLAN
    from perflink.incentives.whatif import what_if
    from perflink.metrics import calc, loader
    from perflink.metrics.actions import do_calculate, do_install_library, do_recalculate_changed
    from perflink.tenancy.models import Tenant

    call_command("keys", "init", stdout=io.StringIO())
    call_command("migrate", verbosity=0, stdout=io.StringIO())
    slug = f"bench-calc-{employees}"
    call_command(
        "demo_data",
        tenant=slug,
        employees=employees,
        months=months,
        seed=7,
        verbosity=0,
        replace=True,
        calculate_months=0,
    )
    tenant = Tenant.objects.get(slug=slug)
    import polars as pl

    with tenant_context(tenant, SYSTEM):
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(issued_on) FROM ingest_policyrecord WHERE tenant_id = %s", [tenant.pk])
            last = cursor.fetchone()[0]
        last_day = last if not isinstance(last, str) else __import__("datetime").date.fromisoformat(last[:10])
        # The latest month of the generated data (the generator ends on a month's last day).
        period = Period.parse(f"{last_day.year:04d}-{last_day.month:02d}")
        do_install_library(years=range(period.start.year - 2, period.start.year + 2), actor=SYSTEM)
        do_calculate(period.label, actor=SYSTEM)  # warm-up: imports, caches, the calendar
        timings: dict[str, float] = {}
        run = do_calculate(period.label, actor=SYSTEM, timings=timings)
        records = run.summary["records_total"]

        # The floor: the same reads, and one plain group-by per kind.
        defs = calc.definitions(period)
        started = time.perf_counter()
        inputs, _ = loader.load(tenant.pk, defs.metrics, period)
        for frame in inputs.records.values():
            key = frame.columns[2] if frame.width > 2 else frame.columns[0]
            frame.group_by(key).agg(pl.len())
        floor = time.perf_counter() - started

        # 1,000 changed policy records of the month, then the incremental recalculation.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM ingest_policyrecord WHERE tenant_id = %s AND issued_on >= %s AND issued_on < %s "
                "ORDER BY id LIMIT %s",
                [tenant.pk, period.start, period.end, changed],
            )
            ids = [row[0] for row in cursor.fetchall()]
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                "UPDATE ingest_policyrecord SET first_year_premium = first_year_premium * 1.1, "  # noqa: S608
                f"version = version + 1 WHERE id IN ({marks})",
                ids,
            )
        # The bonus run on top: DOMAIN.md's finance plan for every finance department's staff (in force over the
        # 12 months the what-if below tries).
        year = [
            Period.parse(f"{d.year:04d}-{d.month:02d}")
            for d in (add_months(period.start, -k) for k in range(11, -1, -1))
        ]
        plan = do_save_plan(
            code="finance",
            name="财务部激励方案",
            definition=FINANCE_PLAN,
            valid_from=year[0].start,
            category="finance",
            actor=SYSTEM,
        )
        do_run_bonus(plan.plan, period.label, actor=SYSTEM)  # warm-up
        bonus: dict[str, float] = {}
        bonus_run = do_run_bonus(plan.plan, period.label, actor=SYSTEM, timings=bonus)

        recalc: dict[str, float] = {}
        started = time.perf_counter()
        new_runs = do_recalculate_changed({"policy": ids}, actor=SYSTEM, timings=recalc)
        recalc_s = time.perf_counter() - started
        changed_results = new_runs[-1].summary.get("results_changed") if new_runs else None

        # What-if over 12 months: the 11 months before this one are calculated first, then timed is only the what-if.
        for month in year[:-1]:
            do_calculate(month.label, actor=SYSTEM)
        faster = copy.deepcopy(FINANCE_PLAN)
        faster["multipliers"][0]["then"]["bands"][0]["factor"] = "1.30"
        started = time.perf_counter()
        what_if(plan.plan, faster, [f"{year[0].label}..{year[-1].label}"])
        whatif_s = time.perf_counter() - started

    total = timings["total_s"]
    return {
        "bench": "calc",
        "employees": employees,
        "months": months,
        "period": period.label,
        "records": records,
        "results": run.summary["results"],
        "load_s": round(timings["load_s"], 4),
        "compute_s": round(timings["compute_s"], 4),
        "persist_s": round(timings["persist_s"], 4),
        "total_s": round(total, 4),
        "floor_s": round(floor, 4),
        "ratio": round(total / floor, 2),
        "bonus_s": round(bonus["bonus_s"], 4),
        "bonus_people": bonus_run.people,
        "changed_records": len(ids),
        "recalc_s": round(recalc_s, 4),
        "recalc_runs": len(new_runs),
        "recalc_results_changed": changed_results,
        "whatif_12m_s": round(whatif_s, 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "database": connection.vendor,
        "cores": os.cpu_count(),
    }


if __name__ == "__main__":
    main()
