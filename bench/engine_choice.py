"""How the engine was chosen: one comparable pipeline in polars and in DuckDB over a real month's inputs.

Not part of `make bench` (DuckDB is not a dependency). To repeat: dump a run's inputs to /tmp/duckcmp/*.parquet
(`perflink.metrics.selectors.run_inputs`, with the unit frame's `ancestors`), `pip install duckdb` into a scratch
virtualenv with polars, and run this file. On the 2-core machine of issue 4 (demo insurer, March 2026: 23,536
policies, 2,099 claims, 7,254 hires), median of 30: polars 4.7 ms, DuckDB 7.8 ms (2 threads, Arrow-registered
frames). The pipeline: premium per agent and per unit rolled up the tree, mean claim payment days per handler and
per unit rolled up, and new agents' 3-month attainment share per recruiting unit (a cohort join).
"""

import datetime as dt
import statistics
import time

import duckdb
import polars as pl

F = {
    k: pl.read_parquet(f"/tmp/duckcmp/{k}.parquet")
    for k in ["policy", "claim", "hire", "requisition", "unit", "employee"]
}
S, E = dt.date(2026, 3, 1), dt.date(2026, 4, 1)


def polars_run():
    pol = F["policy"].lazy().filter((pl.col("issued_on") >= S) & (pl.col("issued_on") < E))
    units = F["unit"].lazy().select(pl.col("id").alias("unit_id"), "ancestors")
    a = pol.group_by("agent_id").agg(pl.col("first_year_premium").sum())
    b = (
        pol.join(units, on="unit_id")
        .explode("ancestors")
        .group_by("ancestors")
        .agg(pl.col("first_year_premium").sum())
    )
    cl = (
        F["claim"]
        .lazy()
        .filter(
            (pl.col("paid_at") >= dt.datetime(2026, 3, 1)) & (pl.col("paid_at") < dt.datetime(2026, 4, 1))
        )
        .with_columns(((pl.col("paid_at") - pl.col("approved_at")).dt.total_seconds() / 86400).alias("d"))
    )
    c = cl.group_by("handler_id").agg(pl.col("d").mean())
    d = cl.join(units, on="unit_id").explode("ancestors").group_by("ancestors").agg(pl.col("d").mean())
    h = (
        F["hire"]
        .lazy()
        .filter((pl.col("arrived_on") >= S) & (pl.col("arrived_on") < E))
        .join(
            F["requisition"].lazy().select(pl.col("id").alias("requisition_id"), "recruiting_unit_id"),
            on="requisition_id",
        )
    )
    o = (
        h.join(
            F["policy"]
            .lazy()
            .select(pl.col("agent_id").alias("employee_id"), "issued_on", "first_year_premium"),
            on="employee_id",
            how="left",
        )
        .filter(
            pl.col("issued_on").is_null()
            | (
                (pl.col("issued_on") >= pl.col("arrived_on"))
                & (pl.col("issued_on") < pl.col("arrived_on") + pl.duration(days=90))
            )
        )
        .group_by("id", "recruiting_unit_id")
        .agg(pl.col("first_year_premium").sum().alias("fyp"))
    )
    e = o.group_by("recruiting_unit_id").agg(((pl.col("fyp") >= 100000).mean() * 100).alias("share"))
    return pl.collect_all([a, b, c, d, e])


con = duckdb.connect()
for k, v in F.items():
    con.register(k, v.to_arrow())
con.execute("SET threads=2")


def duck_run():
    q = [
        "SELECT agent_id, sum(first_year_premium) FROM policy WHERE issued_on >= DATE '2026-03-01' AND issued_on < DATE '2026-04-01' GROUP BY 1",
        "SELECT a.anc, sum(p.first_year_premium) FROM policy p JOIN (SELECT id, unnest(ancestors) anc FROM unit) a ON a.id=p.unit_id WHERE issued_on >= DATE '2026-03-01' AND issued_on < DATE '2026-04-01' GROUP BY 1",
        "SELECT handler_id, avg(epoch(paid_at-approved_at)/86400) FROM claim WHERE paid_at >= TIMESTAMP '2026-03-01' AND paid_at < TIMESTAMP '2026-04-01' GROUP BY 1",
        "SELECT a.anc, avg(epoch(c.paid_at-c.approved_at)/86400) FROM claim c JOIN (SELECT id, unnest(ancestors) anc FROM unit) a ON a.id=c.unit_id WHERE paid_at >= TIMESTAMP '2026-03-01' AND paid_at < TIMESTAMP '2026-04-01' GROUP BY 1",
        """WITH h AS (SELECT h.id, h.employee_id, h.arrived_on, r.recruiting_unit_id FROM hire h JOIN requisition r ON r.id=h.requisition_id WHERE arrived_on >= DATE '2026-03-01' AND arrived_on < DATE '2026-04-01'),
        o AS (SELECT h.id, h.recruiting_unit_id, coalesce(sum(p.first_year_premium),0) fyp FROM h LEFT JOIN policy p ON p.agent_id=h.employee_id AND p.issued_on >= h.arrived_on AND p.issued_on < h.arrived_on + INTERVAL 90 DAY GROUP BY 1,2)
        SELECT recruiting_unit_id, avg(CASE WHEN fyp>=100000 THEN 100.0 ELSE 0 END) FROM o GROUP BY 1""",
    ]
    return [con.sql(x).to_arrow_table() for x in q]


for name, fn in [("polars", polars_run), ("duckdb", duck_run), ("polars", polars_run), ("duckdb", duck_run)]:
    times = []
    for _i in range(30):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    print(name, "median ms", round(statistics.median(times) * 1000, 2), "min ms", round(min(times) * 1000, 2))
