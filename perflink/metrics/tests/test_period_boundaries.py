"""A period is [00:00 on its first day, 00:00 on the next period's first day) Beijing time, on every database.

Issue 13: a claim paid between 00:00 and 08:00 on the 1st was counted in no month on SQLite (the loader compared
stored UTC text with '...+08:00' text), and one at 1 Dec 00:00 was read by November's run. The property test
pushes generated claims and policies, placed on every boundary, through the real ingest and calculation, and
compares every value with an oracle computed here in plain Python with zoneinfo. The suite runs on SQLite and on
PostgreSQL (CI runs both), so equal to the oracle on each means identical on both, to the last digit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from django.db import connection, transaction
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from perflink.core.context import SYSTEM, tenant_context
from perflink.engine.periods import Period
from perflink.ingest.models import ClaimRecord
from perflink.metrics import loader
from perflink.metrics.actions import do_calculate, do_recalculate_changed, do_save_metric
from perflink.metrics.explain import explain
from perflink.metrics.library import METRICS
from perflink.metrics.models import CalcRun
from perflink.metrics.selectors import latest_run, run_frame
from tests.factories import World, push

BEIJING = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
AS_OF = dt.date(2030, 1, 1)  # long after every generated record: nothing provisional
CLAIM_METRICS = (
    "claim_cycle_days",
    "claim_payment_days",
    "claims_closed",
    "claim_backlog",
    "claim_satisfaction_rate",
    "claim_satisfaction_score",
)
POLICY_METRICS = ("new_business_premium", "new_policies")
PAID_AMOUNT = {
    "kind": "claim",
    "date_field": "paid_at",
    "measure": {"agg": "sum", "field": "amount_paid"},
    "subject": {"employee": "handler", "unit": "unit"},
    "direction": "higher",
    "unit": "元",
    "min_count": 0,
}
STEP = dt.timedelta(seconds=5400)  # 1/16 day: durations in days are exact binary fractions, so sums are exact


def install_metrics() -> None:
    """The library's claim and policy metrics, as the library defines them, plus a sum of paid amounts."""
    library = {m.code: m for m in METRICS}
    for code in (*CLAIM_METRICS, *POLICY_METRICS):
        m = library[code]
        do_save_metric(code=code, name=m.name, domain=m.domain, definition=m.definition, actor=SYSTEM)
    do_save_metric(
        code="claims_paid_amount", name="赔付金额", domain="claims", definition=PAID_AMOUNT, actor=SYSTEM
    )


@pytest.fixture
def claims_world(world: World) -> Iterator[World]:
    with tenant_context(world.tenant, SYSTEM):
        install_metrics()
        yield world


def local(year: int, month: int, day: int, *hms: int) -> dt.datetime:
    return dt.datetime(year, month, day, *hms, tzinfo=BEIJING)


def spelled(instant: dt.datetime, how: str) -> str:
    """An instant as a source system writes it: with +08:00, in UTC with Z, or as local text without offset."""
    if how == "offset":
        return instant.astimezone(BEIJING).isoformat()
    if how == "utc":
        return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return instant.astimezone(BEIJING).replace(tzinfo=None).isoformat(sep=" ")


def claim(world: World, no: str, how: str = "offset", **times: dt.datetime | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "claim_no": no,
        "line": "auto",
        "handler": world.staff.employee_no,
        "unit": world.sales_team.code,
        "amount_claimed": "8800.00",
        "amount_paid": "7650.50",
    }
    record.update({name: spelled(at, how) for name, at in times.items() if at is not None})
    return record


def values(run: CalcRun, metric: str, level: str = "unit") -> dict[int, tuple[float | None, int]]:
    frame = run_frame(run, "values").filter((pl.col("metric") == metric) & (pl.col("level") == level))
    return {r["subject_id"]: (r["value"], r["n"]) for r in frame.iter_rows(named=True)}


# --- regression: the loader's bound, and November's run reading 1 December ---------------------------------


def test_given_claims_around_1_march_00_00_beijing_when_march_is_loaded_then_exactly_march_is_read(
    claims_world,
):
    world = claims_world
    push(
        "claim",
        [
            claim(world, "BJ-0228-2359", reported_at=local(2026, 2, 28, 23, 59, 59, 999_999)),
            claim(world, "BJ-0301-0000", reported_at=local(2026, 3, 1)),
            claim(world, "BJ-0301-0759", reported_at=local(2026, 3, 1, 7, 59, 59)),
            claim(world, "BJ-0301-0800", reported_at=local(2026, 3, 1, 8)),
            claim(world, "BJ-0331-2359", reported_at=local(2026, 3, 31, 23, 59, 59, 999_999)),
            claim(world, "BJ-0401-0000", reported_at=local(2026, 4, 1)),
        ],
    )
    # The window of a metric placed by reported_at, as the loader builds its WHERE clause.
    march = Period.parse("2026-03")
    window = loader.KindWindow(ranges=[("reported_at", march.start, march.end, None, "", None)])
    where, params = loader._where(loader.sources()["claim"], window, march, world.tenant.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT claim_no FROM ingest_claimrecord WHERE tenant_id = %s{where} ORDER BY claim_no",  # noqa: S608
            [world.tenant.pk, *params],
        )
        read = [row[0] for row in cursor.fetchall()]
    assert read == ["BJ-0301-0000", "BJ-0301-0759", "BJ-0301-0800", "BJ-0331-2359"]


def test_given_claims_paid_in_the_first_eight_hours_of_march_when_calculated_then_they_count_in_march_only(
    claims_world,
):
    world = claims_world
    reported = local(2026, 2, 20, 10)
    paid = [
        local(2026, 3, 1),
        local(2026, 3, 1, 7, 59, 59),
        local(2026, 3, 1, 8),
        local(2026, 2, 28, 23, 59, 59),
    ]
    push(
        "claim",
        [
            claim(world, f"PA-{i}", how, reported_at=reported, paid_at=at, closed_at=at)
            for i, (at, how) in enumerate(zip(paid, ["offset", "naive", "utc", "offset"], strict=True))
        ],
    )
    february = do_calculate("2026-02", actor=SYSTEM, as_of=AS_OF)
    march = do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    team = world.sales_team.pk
    assert values(february, "claims_closed")[team] == (1.0, 1)
    assert values(march, "claims_closed")[team] == (3.0, 3)
    assert values(march, "claims_paid_amount", "employee")[world.staff.pk] == (3 * 7650.5, 3)
    # Reported 20 Feb 10:00; paid 1 Mar 00:00, 07:59:59 and 08:00: 8 days + 14:00, 21:59:59 and 22:00 each.
    seconds = 3 * 8 * 86400 + 14 * 3600 + (22 * 3600 - 1) + 22 * 3600
    assert values(march, "claim_cycle_days")[team] == (round(seconds / 3 / 86400, 6), 3)
    assert february.summary["records"]["claim"] == 4  # backlog reads every claim reported before 1 March
    assert march.summary["records"]["claim"] == 3  # not the one closed at 23:59:59 on 28 February


def test_given_a_claim_at_1_december_00_00_when_november_runs_then_november_neither_reads_nor_recounts_it(
    claims_world,
):
    world = claims_world
    midnight = local(2026, 12, 1)
    push(
        "claim",
        [
            claim(
                world,
                "DEC-1",
                reported_at=midnight,
                approved_at=midnight,
                paid_at=midnight,
                closed_at=midnight,
            )
        ],
    )
    november = do_calculate("2026-11", actor=SYSTEM, as_of=AS_OF)
    december = do_calculate("2026-12", actor=SYSTEM, as_of=AS_OF)
    assert november.summary["records"].get("claim", 0) == 0
    assert december.summary["records"]["claim"] == 1
    assert world.sales_team.pk not in values(november, "claims_closed")
    assert values(december, "claims_closed")[world.sales_team.pk] == (1.0, 1)

    # When the claim's paid amount is corrected, December is recalculated and November is left alone.
    push(
        "claim",
        [
            {
                **claim(
                    world,
                    "DEC-1",
                    reported_at=midnight,
                    approved_at=midnight,
                    paid_at=midnight,
                    closed_at=midnight,
                ),
                "amount_paid": "7000.00",
            }
        ],
    )
    changed = list(ClaimRecord.objects.filter(external_id="DEC-1").values_list("pk", flat=True))
    runs = do_recalculate_changed({"claim": changed}, actor=SYSTEM, as_of=AS_OF)
    assert [run.period for run in runs] == ["2026-12"]
    assert values(runs[0], "claims_paid_amount")[world.sales_team.pk] == (7000.0, 1)


def test_given_a_claim_paid_at_1_march_00_30_when_explained_then_the_record_shows_beijing_time(claims_world):
    world = claims_world
    push(
        "claim",
        [
            claim(
                world,
                "EXP-1",
                "utc",
                reported_at=local(2026, 2, 27, 9),
                paid_at=local(2026, 3, 1, 0, 30),
                closed_at=local(2026, 3, 1, 0, 30),
            )
        ],
    )
    run = do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
    explanation = explain(run, "unit", world.sales_team.pk, "claims_closed")
    assert explanation.record_count == 1
    assert explanation.records[0]["date"] == dt.datetime(2026, 3, 1, 0, 30)  # local wall clock, as shown

    # Through the API the time carries its offset, so nobody reads it as UTC.
    client = Client()
    client.force_login(world.users["tenant_admin"])
    query = {"level": "unit", "subject_id": world.sales_team.pk, "metric": "claims_closed"}
    body = client.get(f"/api/v1/runs/{run.pk}/explain", query).json()
    assert body["records"][0]["date"] == "2026-03-01T00:30:00+08:00"
    assert body["records"][0]["fields"]["结案时间"] == "2026-03-01T00:30:00+08:00"


# --- property: generated records on every boundary equal a zoneinfo oracle ----------------------------------

# Month transitions the examples are built around: (last month, next month); 2028 is a leap year.
TRANSITIONS = [
    ((2026, 2), (2026, 3)),
    ((2026, 11), (2026, 12)),
    ((2026, 12), (2027, 1)),
    ((2028, 2), (2028, 3)),
]


def month_after(year: int, month: int) -> tuple[int, int]:
    return (year + month // 12, month % 12 + 1)


def last_day(year: int, month: int) -> dt.date:
    y, m = month_after(year, month)
    return dt.date(y, m, 1) - dt.timedelta(days=1)


def boundary_instants(last: tuple[int, int], first: tuple[int, int]) -> list[dt.datetime]:
    """Every edge of one month change, Beijing time: the last instant of the old month, 00:00, 07:59:59 and
    08:00 (= 00:00 UTC) on the 1st, and 00:00 UTC on the old month's last day; 29 February in a leap year."""
    end = last_day(*last)
    out = [
        local(end.year, end.month, end.day, 23, 59, 59, 999_999),
        local(*first, 1),
        local(*first, 1, 7, 59, 59),
        local(*first, 1, 8),
        dt.datetime(end.year, end.month, end.day, tzinfo=UTC),
        local(*first, 1, 12, 30),
    ]
    if end.month == 2 and end.day == 29:
        out += [local(end.year, 2, 29), local(end.year, 2, 29, 7, 59, 59), local(end.year, 2, 29, 8)]
    return out


@dataclass(frozen=True)
class GenClaim:
    reported_at: dt.datetime
    approved_at: dt.datetime | None
    paid_at: dt.datetime | None
    closed_at: dt.datetime | None
    satisfaction: int | None
    amount_paid: Fraction | None
    handler: int  # index into the world's handlers
    unit: int  # index into the world's units
    how: str


@dataclass(frozen=True)
class GenPolicy:
    issued_on: dt.date
    premium: Fraction
    agent: int
    unit: int
    cancelled: bool


# Claims, policies, and a correction: (index of a paid claim, its new paid_at) or None.
type Scenario = tuple[list[GenClaim], list[GenPolicy], tuple[int, dt.datetime] | None]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    last, first = draw(st.sampled_from(TRANSITIONS))
    edges = boundary_instants(last, first)
    edge = st.sampled_from(edges)
    steps = st.sampled_from([0, 0, 1, 5, 16, 16 * 3 + 7])  # multiples of 1.5 hours, so durations are exact
    claims = []
    for _ in range(draw(st.integers(1, 7))):
        paid = draw(st.none() | edge)
        if paid is None:
            reported = draw(edge)
            approved = None
            closed = draw(st.none() | st.just(reported + STEP * draw(steps)))
        else:
            back = draw(steps)
            reported = paid - STEP * back
            approved = draw(st.none() | st.just(paid - STEP * draw(st.integers(0, back))))
            closed = draw(st.none() | st.just(paid) | st.sampled_from([at for at in edges if at >= paid]))
        claims.append(
            GenClaim(
                reported_at=reported,
                approved_at=approved,
                paid_at=paid,
                closed_at=closed,
                satisfaction=draw(st.none() | st.integers(1, 5)) if closed else None,
                amount_paid=Fraction(draw(st.integers(1, 400_000)), 2) if paid else None,
                handler=draw(st.integers(0, 1)),
                unit=draw(st.integers(0, 2)),
                how=draw(st.sampled_from(["offset", "utc", "naive"])),
            )
        )
    end = last_day(*last)
    days = [end, dt.date(*first, 1), *([dt.date(end.year, 2, 28)] if end.day == 29 else [])]
    policies = [
        GenPolicy(
            issued_on=draw(st.sampled_from(days)),
            premium=Fraction(draw(st.integers(100, 2_000_000)), 2),
            agent=draw(st.integers(0, 1)),
            unit=draw(st.integers(0, 2)),
            cancelled=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    # Then one paid claim may be corrected to another edge (moved across the month change, perhaps).
    movable = [i for i, c in enumerate(claims) if c.paid_at is not None]
    move = None
    if movable and draw(st.booleans()):
        i = draw(st.sampled_from(movable))
        floor = claims[i].approved_at or claims[i].reported_at
        move = (i, draw(st.sampled_from([at for at in edges if at >= floor])))
    return claims, policies, move


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def in_period(at: dt.datetime | dt.date | None, period: Period) -> bool:
    """Plain zoneinfo: the local day of an instant, or a date itself, within [start, end)."""
    if at is None:
        return False
    day = at.astimezone(BEIJING).date() if isinstance(at, dt.datetime) else at
    return period.start <= day < period.end


def before_end(at: dt.datetime, period: Period) -> bool:
    end = dt.datetime(period.end.year, period.end.month, period.end.day, tzinfo=BEIJING)
    return at < end


def polars_value(value: Fraction | float | None) -> float | None:
    """A value as the engine stores it: Float64 rounded to 6 places (the oracle's own exact value)."""
    if value is None:
        return None
    return pl.Series([float(value)], dtype=pl.Float64).round(6).item()


def oracle(
    claims: list[GenClaim],
    policies: list[GenPolicy],
    period: Period,
    handlers: list[int],
    agents: list[int],
    ancestors: list[list[int]],
) -> dict[tuple[str, str, int], tuple[float | None, int]]:
    """Every (metric, level, subject) -> (value, n) of ``period``, from the generated records alone."""
    groups: dict[tuple[str, str, int], list[Any]] = defaultdict(list)

    def add(metric: str, employee: int, unit_index: int, x: Any) -> None:
        groups[(metric, "employee", employee)].append(x)
        for unit in ancestors[unit_index]:
            groups[(metric, "unit", unit)].append(x)

    for c in claims:
        who = handlers[c.handler]
        if in_period(c.paid_at, period):
            assert c.paid_at is not None
            add(
                "claim_cycle_days",
                who,
                c.unit,
                Fraction(int((c.paid_at - c.reported_at).total_seconds()), 86400),
            )
            payment = None if c.approved_at is None else (c.paid_at - c.approved_at).total_seconds()
            add("claim_payment_days", who, c.unit, None if payment is None else Fraction(int(payment), 86400))
            add("claims_paid_amount", who, c.unit, c.amount_paid)
        if in_period(c.closed_at, period):
            add("claims_closed", who, c.unit, 1)
            add("claim_satisfaction_score", who, c.unit, c.satisfaction)
            if c.satisfaction is not None:
                add("claim_satisfaction_rate", who, c.unit, c.satisfaction >= 4)
        if before_end(c.reported_at, period) and (c.closed_at is None or not before_end(c.closed_at, period)):
            add("claim_backlog", who, c.unit, 1)
    for p in policies:
        if not p.cancelled and in_period(p.issued_on, period):
            add("new_policies", agents[p.agent], p.unit, 1)
            add("new_business_premium", agents[p.agent], p.unit, p.premium)

    out: dict[tuple[str, str, int], tuple[float | None, int]] = {}
    for (metric, level, subject), xs in groups.items():
        present = [x for x in xs if x is not None]
        if metric in ("claims_closed", "claim_backlog", "new_policies"):
            out[(metric, level, subject)] = (float(len(xs)), len(xs))
        elif metric == "claim_satisfaction_rate":
            out[(metric, level, subject)] = (
                polars_value(Fraction(100 * sum(present), len(present))),
                len(present),
            )
        elif metric in ("claims_paid_amount", "new_business_premium"):
            out[(metric, level, subject)] = (polars_value(sum(present, Fraction(0))), len(present))
        else:  # means
            mean = Fraction(sum(present, Fraction(0)), len(present)) if present else None
            out[(metric, level, subject)] = (polars_value(mean), len(present))
    return out


def engine_values(run: CalcRun) -> dict[tuple[str, str, int], tuple[float | None, int]]:
    frame = run_frame(run, "values").filter(
        pl.col("metric").is_in([*CLAIM_METRICS, *POLICY_METRICS, "claims_paid_amount"])
    )
    return {
        (r["metric"], r["level"], r["subject_id"]): (r["value"], r["n"]) for r in frame.iter_rows(named=True)
    }


def every_edge() -> Scenario:
    """One claim paid, one closed and one reported on each edge of February 2028 → March 2028 and of
    November → December 2026, by every spelling, and one correction across a month: the example that always
    runs."""
    claims = []
    edges = boundary_instants((2028, 2), (2028, 3)) + boundary_instants((2026, 11), (2026, 12))
    for i, at in enumerate(edges):
        how = ("offset", "utc", "naive")[i % 3]
        claims += [
            GenClaim(
                at - STEP * 16, at - STEP * 5, at, at, 5 - i % 5, Fraction(1530101, 2), i % 2, i % 3, how
            ),
            GenClaim(
                at - STEP * 55, None, None, at, None if i % 2 else 3, None, (i + 1) % 2, (i + 1) % 3, how
            ),
            GenClaim(at, None, None, None, None, None, i % 2, (i + 2) % 3, how),
        ]
    policies = [
        GenPolicy(day, Fraction(2400001, 2), i % 2, i % 3, i == 3)
        for i, day in enumerate(
            [dt.date(2028, 2, 28), dt.date(2028, 2, 29), dt.date(2028, 3, 1), dt.date(2026, 12, 1)]
        )
    ]
    # The claim paid at 23:59:59.999999 on 29 February 2028 is corrected to 07:59:59 on 1 March.
    return claims, policies, (0, local(2028, 3, 1, 7, 59, 59))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
@example(scenario=every_edge())
def test_given_records_on_every_period_boundary_when_calculated_then_every_value_equals_the_zoneinfo_oracle(
    claims_world, scenario
):
    world = claims_world
    claims, policies, move = scenario
    handlers = [world.staff, world.agent]
    units = [world.sales_team, world.sales, world.hr]
    ancestors = [
        [world.group.pk, world.sales.pk, world.sales_team.pk],
        [world.group.pk, world.sales.pk],
        [world.group.pk, world.hr.pk],
    ]

    def record(i: int, c: GenClaim) -> dict[str, Any]:
        return {
            **claim(
                world,
                f"GEN-{i:03d}",
                c.how,
                reported_at=c.reported_at,
                approved_at=c.approved_at,
                paid_at=c.paid_at,
                closed_at=c.closed_at,
            ),
            "handler": handlers[c.handler].employee_no,
            "unit": units[c.unit].code,
            "amount_paid": None if c.amount_paid is None else f"{float(c.amount_paid):.2f}",
            **({"satisfaction": str(c.satisfaction)} if c.satisfaction is not None else {}),
        }

    def expected(label: str, claims: list[GenClaim]) -> dict[tuple[str, str, int], tuple[float | None, int]]:
        people = [h.pk for h in handlers]
        return oracle(claims, policies, Period.parse(label), people, people, ancestors)

    # Each example in its own savepoint, rolled back: examples never see each other's records or runs.
    with transaction.atomic():
        push("claim", [record(i, c) for i, c in enumerate(claims)])
        if policies:
            push(
                "policy",
                [
                    {
                        "policy_no": f"GENP-{i:03d}",
                        "product_line": "life",
                        "agent": handlers[p.agent].employee_no,
                        "unit": units[p.unit].code,
                        "applied_on": p.issued_on.isoformat(),
                        "issued_on": p.issued_on.isoformat(),
                        "first_year_premium": f"{float(p.premium):.2f}",
                        "annualised_premium": f"{float(p.premium):.2f}",
                        "status": "cancelled" if p.cancelled else "in_force",
                    }
                    for i, p in enumerate(policies)
                ],
            )
        instants = [at for c in claims for at in (c.reported_at, c.approved_at, c.paid_at, c.closed_at)]
        instants += [move[1]] if move else []
        months = {month_of(at.astimezone(BEIJING).date()) for at in instants if at is not None}
        months |= {month_of(p.issued_on) for p in policies}
        months |= {month_of(Period.parse(m).end) for m in list(months)}  # and the month after each
        for label in sorted(months):
            run = do_calculate(label, actor=SYSTEM, as_of=AS_OF)
            assert engine_values(run) == expected(label, claims), label

        if move is not None:
            # The source corrects one claim's payment time: the incremental recalculation reads the changed
            # record for the months it reached and now reaches, and every month's latest run equals the oracle.
            index, paid = move
            claims = [*claims]
            claims[index] = replace(claims[index], paid_at=paid)
            push("claim", [record(index, claims[index])])
            changed = ClaimRecord.objects.filter(external_id=f"GEN-{index:03d}").values_list("pk", flat=True)
            do_recalculate_changed({"claim": list(changed)}, actor=SYSTEM, as_of=AS_OF)
            for label in sorted(months):
                latest = latest_run(label)
                assert latest is not None
                assert engine_values(latest) == expected(label, claims), f"{label} after the correction"
        transaction.set_rollback(True)
