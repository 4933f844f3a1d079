"""Benchmark: ingestion through the push path into PostgreSQL and SQLite, and CSV / XLSX imports.

Prints one JSON line with records/s through the push API's code path (records_frame -> clean ->
validate -> upsert) into PostgreSQL and SQLite, rows/s for a CSV import (parse, clean, validate,
write) and an XLSX import, the row counts and peak memory. Each measurement runs in its own process
(fresh database, so peak memory is that run's)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PUSH_ROWS = int(os.environ.get("BENCH_PUSH_ROWS", 100_000))
CSV_ROWS = int(os.environ.get("BENCH_CSV_ROWS", 1_000_000))
XLSX_ROWS = int(os.environ.get("BENCH_XLSX_ROWS", 100_000))
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _setup_world():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.factories import make_world

    return make_world("bench")


def _claims(world, n: int, start: int = 0) -> dict[str, list]:
    import numpy as np

    rng = np.random.default_rng(7)
    days = rng.integers(1, 28, n)
    return {
        "claim_no": [f"C{start + i:09d}" for i in range(n)],
        "line": ["auto"] * n,
        "handler": [world.staff.employee_no] * n,
        "unit": [world.hr.code] * n,
        "reported_at": [f"2026-03-{d:02d} 09:00" for d in days],
        "approved_at": [f"2026-03-{d:02d} 15:00" for d in days],
        "paid_at": [f"2026/3/{d} 18:30" for d in days],
        "amount_claimed": [f"{v:,}" for v in rng.integers(100, 100_000, n)],
        "satisfaction": rng.choice(["满意", "一般", "不满意"], n).tolist(),
    }


def run_push(backend: str) -> dict:
    from perflink.core.context import SYSTEM, tenant_context

    world = _setup_world()
    from perflink.ingest.actions import do_ingest, source_system_for
    from perflink.ingest.kinds import KINDS
    from perflink.ingest.push import records_frame

    cols = _claims(world, PUSH_ROWS)
    records = [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]
    spec = KINDS["claim"]
    with tenant_context(world.tenant, SYSTEM):
        source = source_system_for("claim")
        started = time.perf_counter()
        for i in range(0, len(records), 10_000):  # requests of 10,000 records, as the API takes them
            frame, _ = records_frame(spec, records[i : i + 10_000])
            do_ingest(spec, [frame], source=source, channel="push", actor=SYSTEM)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        frame, _ = records_frame(spec, records[:10_000])
        again = do_ingest(spec, [frame], source=source, channel="push", actor=SYSTEM)
        resend = time.perf_counter() - started
    assert again.unchanged == 10_000
    return {
        f"{backend}_records_per_s": round(PUSH_ROWS / seconds),
        f"{backend}_resend_10k_s": round(resend, 3),
    }


def run_file(kind: str) -> dict:
    from perflink.core.context import SYSTEM, tenant_context

    world = _setup_world()
    import polars as pl

    from perflink.ingest.actions import do_ingest, source_system_for
    from perflink.ingest.files import read_table
    from perflink.ingest.kinds import KINDS

    rows = CSV_ROWS if kind == "csv" else XLSX_ROWS
    headers = {
        "claim_no": "赔案号",
        "line": "险种大类",
        "handler": "理赔员工号",
        "unit": "机构代码",
        "reported_at": "报案时间",
        "approved_at": "核赔时间",
        "paid_at": "赔付时间",
        "amount_claimed": "索赔金额",
        "satisfaction": "满意度",
    }
    frame = pl.DataFrame(_claims(world, rows)).rename(headers)
    path = Path(tempfile.mkdtemp()) / f"claims.{kind}"
    if kind == "csv":
        frame.write_csv(path)
    else:
        frame.write_excel(path, autofit=False)
    del frame
    spec = KINDS["claim"]
    with tenant_context(world.tenant, SYSTEM):
        # Parse + clean + validate only (the Validate button / --dry-run: nothing is written).
        started = time.perf_counter()
        mapping, chunks = read_table(path, spec)
        checked = do_ingest(
            spec,
            chunks,
            source=source_system_for("claim"),
            channel="file",
            actor=SYSTEM,
            headers=mapping.fields,
            dry_run=True,
        )
        validate_seconds = time.perf_counter() - started
        assert checked.rejected == 0
        # The whole import: parse, clean, validate and write.
        started = time.perf_counter()
        mapping, chunks = read_table(path, spec)
        report = do_ingest(
            spec,
            chunks,
            source=source_system_for("claim"),
            channel="file",
            actor=SYSTEM,
            headers=mapping.fields,
        )
        seconds = time.perf_counter() - started
    assert report.created == rows, report.as_dict()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        f"{kind}_validate_rows_per_s": round(rows / validate_seconds),
        f"{kind}_rows_per_s": round(rows / seconds),
        f"{kind}_rows": rows,
        f"{kind}_seconds": round(seconds, 2),
        f"{kind}_peak_rss_mb": round(peak),
    }


def child(what: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    tmp = tempfile.mkdtemp(prefix="perflink-bench-")
    os.environ["PERFLINK_VAR_DIR"] = tmp
    os.environ.setdefault("PERFLINK_ENCRYPTION_KEYS", "bench:" + "a" * 43 + "=")
    if what == "postgres":
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS perflink_bench")
            conn.execute("CREATE DATABASE perflink_bench")
        os.environ["DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/perflink_bench"
    else:
        os.environ.pop("DATABASE_URL", None)
    result = run_push(what) if what in {"postgres", "sqlite"} else run_file(what)
    print(json.dumps(result))


def main() -> None:
    if len(sys.argv) > 1:
        child(sys.argv[1])
        return
    out: dict = {"bench": "ingest", "push_rows": PUSH_ROWS, "cores": os.cpu_count()}
    for what in ("postgres", "sqlite", "csv", "xlsx"):
        proc = subprocess.run([sys.executable, __file__, what], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            out[f"{what}_error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
            continue
        out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    out["rows"] = out.get("csv_rows")
    out["peak_rss_mb"] = out.get("csv_peak_rss_mb")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
