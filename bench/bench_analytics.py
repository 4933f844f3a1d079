"""Benchmark: a full impact analysis of one link, and the link-suggestion scan over every metric pair.

`perflink bench analytics [--tenant demo]` reads the demo tenant of the database in PERFLINK_VAR_DIR (or of
BENCH_DATABASE_URL) as the product would: the latest calculation run of each of the 24 months, read back from
its stored frames, then the statistics. It only reads. When that tenant is missing, it builds one in a throw-away
SQLite database with the demo generator first (every month calculated; this takes a few minutes).
Prints one JSON line:

- impact_s: one link's impact analysis (claim payment time -> claim cycle time, the demo's confirmed finance
  links): the unit x month panel of both metrics from the stored runs, unit effects, season controls, the lag
  search 0-3, the interval and the sentence; impact_first_s is the first (cold) call, impact_s the best of 3;
- scan_s: the link-suggestion scan over all functional x business metric pairs and lags 0-3 (the same reads);
- claims_s, cohorts_s, outages_s: the record-level analyses (per claim; new agents; outages x policies);
- peak_rss_mb: the process's peak resident memory.
Goals (issue 7): impact under 1 s, scan under 10 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench_analytics")
    parser.add_argument("--tenant", default=os.environ.get("BENCH_TENANT", "demo"))
    parser.add_argument("--employees", type=int, default=int(os.environ.get("BENCH_EMPLOYEES", 5000)))
    parser.add_argument("--months", type=int, default=int(os.environ.get("BENCH_MONTHS", 24)))
    args = parser.parse_args()
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    from perflink.tenancy.models import Tenant

    if os.environ.get("BENCH_BUILD_DEMO") == "1":
        # A throw-away database (the parent pointed PERFLINK_VAR_DIR at a temporary directory): build the demo.
        from django.core.management import call_command

        call_command("keys", "init", stdout=io.StringIO())
        call_command("migrate", verbosity=0, stdout=io.StringIO())
        call_command(
            "demo_data",
            tenant=args.tenant,
            employees=args.employees,
            months=args.months,
            seed=7,
            verbosity=0,
            calculate_months=args.months,
        )
    elif not Tenant.objects.filter(slug=args.tenant).exists():
        with tempfile.TemporaryDirectory(prefix="perflink-bench-") as tmp:
            env = {**os.environ, "PERFLINK_VAR_DIR": tmp, "BENCH_BUILD_DEMO": "1"}
            env.pop("DATABASE_URL", None)
            subprocess.run([sys.executable, __file__, *sys.argv[1:]], env=env, check=True)
        return
    print(json.dumps(measure(args.tenant), ensure_ascii=False))


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = run()
    return time.perf_counter() - started, out


def measure(slug: str) -> dict[str, object]:
    from django.db import connection

    from perflink.analytics import data, selectors
    from perflink.core.context import SYSTEM, tenant_context
    from perflink.incentives.models import Link
    from perflink.tenancy.models import Tenant

    tenant = Tenant.objects.get(slug=slug)
    with tenant_context(tenant, SYSTEM):
        link = (
            Link.objects.filter(functional_metric__code="claim_payment_days", status="confirmed")
            .order_by("id")
            .first()
            or Link.objects.order_by("id").first()
        )
        assert link is not None, "the tenant has no links"
        first, impact = _timed(lambda: selectors.link_impact(link))
        impact_s = min(_timed(lambda: selectors.link_impact(link))[0] for _ in range(3))
        scan_s, scan = _timed(lambda: selectors.suggestions(top=None))
        claims_s, claims = _timed(selectors.claims_impact)
        cohorts_s, _ = _timed(selectors.cohorts)
        outages_s, outages = _timed(selectors.outage_impact)
        months = len(data.latest_runs())
    est = impact.result.estimate
    return {
        "bench": "analytics",
        "tenant": slug,
        "months": months,
        "link": f"{link.functional_metric.code} -> {link.business_metric.code}",
        "impact_verdict": str(impact.result.verdict),
        "impact_coef": round(est.coef, 4) if est else None,
        "impact_n_obs": impact.result.n_obs,
        "impact_first_s": round(first, 4),
        "impact_s": round(impact_s, 4),
        "scan_s": round(scan_s, 4),
        "scan_pairs": len(scan.rows),
        "scan_tests": scan.tests,
        "claims_s": round(claims_s, 4),
        "claims_n": claims.result.estimate.n_obs if claims.result.estimate else 0,
        "cohorts_s": round(cohorts_s, 4),
        "outages_s": round(outages_s, 4),
        "outages_pct_per_hour": round(outages.result.pct_per_unit, 3)
        if outages.result.pct_per_unit
        else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "database": connection.vendor,
        "cores": os.cpu_count(),
    }


if __name__ == "__main__":
    main()
