"""API schemas of the analyses: one In (query) and one Out schema per endpoint."""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from perflink.core.schemas import Code

Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class EstimateOut(Schema):
    coef: float
    se: float
    ci_low: float = Field(..., description="low end of the interval at `level`")
    ci_high: float
    p_value: float = Field(..., description="p-value of this coefficient alone (before any adjustment)")
    n_obs: int
    n_clusters: int
    df: int
    level: float = Field(
        0.95,
        description="confidence level of the interval: 1 - 0.05 / tests, so that the interval excludes 0 exactly "
        "when the verdict is significant (0.9875 for a lag chosen among 4)",
    )


class LagOut(Schema):
    lag: int
    coef: float
    se: float
    bic: float


class SentenceOut(Schema):
    zh: str
    en: str


class MetricOut(Schema):
    code: str
    name: str
    name_en: str
    unit: str
    domain: str
    direction: str


class ImpactResultOut(Schema):
    verdict: str = Field(..., description="significant, not_significant or too_few")
    reason: str
    lag: int | None = Field(None, description="months by which the lever leads the outcome (chosen by BIC)")
    estimate: EstimateOut | None = Field(
        None, description="effect per unit of the lever, with its interval at the verdict's level"
    )
    p_adjusted: float | None = Field(None, description="p-value x number of lags tried")
    elasticity: float | None
    pct_per_unit: float | None
    mean_x: float | None
    mean_y: float | None
    n_obs: int
    n_units: int
    n_periods: int
    lags: list[LagOut]
    log_outcome: bool
    criterion: str


class ImpactIn(Schema):
    functional: Code = Field(..., description="functional metric code, e.g. claim_payment_days")
    business: Code = Field(..., description="business metric code, e.g. claim_satisfaction_score")
    provisional: bool = Field(
        False, description="count months whose value is not yet final (暂估); by default they are left out"
    )


class ImpactOut(Schema):
    functional: MetricOut
    business: MetricOut
    result: ImpactResultOut
    sentence: SentenceOut
    unit_ids: list[int]
    periods: list[str] | None
    immature: list[str] = Field(
        [], description="calculated months whose value of a metric was not yet final (left out by default)"
    )
    provisional: bool = Field(False, description="true when those months were counted (the figures are 暂估)")


class LinkImpactOut(ImpactOut):
    link_id: int
    functional_unit_id: int
    business_unit_id: int


class RegressionOut(Schema):
    verdict: str
    reason: str
    estimate: EstimateOut | None
    mean_x: float | None
    mean_y: float | None
    elasticity: float | None
    controls: list[str]


class ClaimsIn(Schema):
    controls: list[Literal["line", "branch", "month"]] = Field(
        ["line", "branch", "month"], description="any of line, branch, month (approval month)"
    )


class ClaimsOut(Schema):
    result: RegressionOut
    sentence: SentenceOut


class CohortsIn(Schema):
    by: Literal["time_to_fill", "channel", "trained"] = Field(
        "time_to_fill", description="time_to_fill (binned), channel or trained"
    )


class CohortRowOut(Schema):
    group: str
    n: int
    successes: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class CohortTableOut(Schema):
    outcome: str
    rows: list[CohortRowOut]


class SlopeOut(Schema):
    result: RegressionOut
    sentence: SentenceOut


class CohortsOut(Schema):
    by: str
    n_agents: int
    attainment: CohortTableOut
    retention: CohortTableOut
    attainment_slope: SlopeOut | None
    retention_slope: SlopeOut | None


class BeforeAfterIn(Schema):
    metric: Code
    before_from: Month
    before_to: Month
    after_from: Month
    after_to: Month
    provisional: bool = Field(
        False, description="count months whose value is not yet final (暂估); by default they are left out"
    )


class BeforeAfterResultOut(Schema):
    verdict: str
    reason: str
    n_units: int
    mean_before: float | None
    mean_after: float | None
    change: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


class BeforeAfterOut(Schema):
    metric: MetricOut
    before: list[str]
    after: list[str]
    result: BeforeAfterResultOut
    immature: list[str] = Field(
        [], description="months of the ranges whose value was not final at their run's data date"
    )
    provisional: bool = Field(
        False, description="true when those months were counted (their figures are 暂估)"
    )


class SuggestionsIn(Schema):
    top: int = Field(20, ge=1, le=500)


class ScanRowOut(Schema):
    functional: str
    business: str
    lag: int
    r: float
    n_obs: int
    n_units: int
    p_value: float
    q_value: float
    significant: bool


class SuggestionsOut(Schema):
    rows: list[ScanRowOut]
    tests: int
    note: str


class OutagesOut(Schema):
    result: ImpactResultOut
    sentence: SentenceOut
