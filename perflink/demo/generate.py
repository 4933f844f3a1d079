"""Generate a whole demo insurer in memory: `generate(DemoConfig(...)) -> DemoData`.

Deterministic for a seed: every stage draws from its own `numpy.random.Generator(PCG64([seed, stage]))`,
so the same seed gives the same data, and changing one stage does not reshuffle the others.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from perflink.demo import effects
from perflink.demo.calendar import Calendar
from perflink.demo.records import (
    World,
    claim_records,
    exit_records,
    finance_speed,
    hire_records,
    incident_records,
    payment_records,
    policy_records,
    requisition_records,
    training_records,
)
from perflink.demo.workforce import Frame, Org, Workforce, assignments, build_workforce, plan_org

DEFAULT_COMPANY = "联动示范保险集团"
DEFAULT_COMPANY_EN = "Perflink Demo Insurance Group"
MIN_EMPLOYEES = 100


@dataclass(frozen=True)
class DemoConfig:
    employees: int = 5000
    months: int = 24
    seed: int = 7
    end_month: date = date(2026, 10, 1)  # first day of the last month covered
    company: str = DEFAULT_COMPANY
    company_en: str = DEFAULT_COMPANY_EN
    # True: every planted effect of effects.py at zero (null data for the analytics tests).
    effects_off: bool = False

    def __post_init__(self) -> None:
        if self.employees < MIN_EMPLOYEES:
            raise ValueError(f"the demo needs at least {MIN_EMPLOYEES} employees")
        if not 1 <= self.months <= 120:
            raise ValueError("months must be between 1 and 120")
        if self.end_month.day != 1:
            raise ValueError("end_month must be the first day of a month")


@dataclass
class DemoData:
    config: DemoConfig
    world: World
    assignments: Frame
    records: dict[str, Frame] = field(default_factory=dict)

    @property
    def cal(self) -> Calendar:
        return self.world.cal

    @property
    def org(self) -> Org:
        return self.world.org

    @property
    def wf(self) -> Workforce:
        return self.world.wf


def stream(seed: int, stage: str) -> np.random.Generator:
    """The random generator of one stage of the generation."""
    return np.random.Generator(np.random.PCG64([seed, zlib.crc32(stage.encode())]))


def generate(config: DemoConfig) -> DemoData:
    if config.effects_off:
        with effects.effects_switched_off():
            return _generate(config)
    return _generate(config)


def _generate(config: DemoConfig) -> DemoData:
    cal = Calendar(config.end_month, config.months)
    org = plan_org(config.employees, config.company, config.company_en, cal, stream(config.seed, "org"))
    wf, recruiting, hr = build_workforce(
        org, cal, stream(config.seed, "workforce"), stream(config.seed, "people")
    )
    world = World(cal, org, wf, recruiting, hr)
    world.finance_speed = finance_speed(world, stream(config.seed, "finance-speed"))
    data = DemoData(config, world, assignments(org, wf))
    # Incidents come first: their outage hours feed into policies issued (effect 3).
    incidents, incident_units = incident_records(world, stream(config.seed, "incidents"))
    policies = policy_records(world, stream(config.seed, "policies"))
    claims = claim_records(world, stream(config.seed, "claims"))
    data.records = {
        "requisition": requisition_records(world),
        "hire": hire_records(world),
        "training": training_records(world, stream(config.seed, "training")),
        "exit": exit_records(world, stream(config.seed, "exits")),
        "policy": policies,
        "claim": claims,
        "payment": payment_records(world, stream(config.seed, "payments"), claims, policies),
        "incident": incidents,
        "incident_unit": incident_units,
    }
    return data
