"""The telemetry service: its RPCs (`plugyard.rpc.telemetry.<verb>`) and events (`plugyard.evt.telemetry.<Name>`).

Latency travels as counts per bucket (`LATENCY_BUCKETS_MS`), never as percentiles: bucket counts add up across
workers, hosts and minutes, and percentiles are read off the sum (a percentile of percentiles is wrong).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Upper bounds (ms) of the latency buckets; one more bucket above the last holds everything slower.
LATENCY_BUCKETS_MS: tuple[float, ...] = (0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
LATENCY_BUCKET_COUNT = len(LATENCY_BUCKETS_MS) + 1

PluginNameField = Field(min_length=1, max_length=100)
SINCE_MAX_S = 400 * 24 * 3600.0


# --- RPCs -----------------------------------------------------------------------------------------------------


class TopRequest(BaseModel):
    window_s: float = Field(default=60.0, gt=0, le=24 * 3600.0, description="Rates and percentiles over this last stretch")
    limit: int = Field(default=200, ge=1, le=100_000, description="The busiest this many plugin-hosts, by calls in the window")


class TopRow(BaseModel):
    host: str
    name: str
    version: str
    state: str = Field(description="running, crashed, failed or unloaded: the loader's last word on it")
    calls: int = Field(description="Calls in the window")
    calls_per_s: float
    error_rate: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    cpu_percent: float | None = None
    rss_bytes: int | None = None
    restarts: int = 0
    last_sample_at: str | None = None


class TopReply(BaseModel):
    at: str
    window_s: float
    rows: list[TopRow]


GroupBy = Literal["action", "host", "version"]


class ShowRequest(BaseModel):
    name: str = PluginNameField
    version: str | None = Field(default=None, max_length=64)
    since_s: float = Field(default=3600.0, gt=0, le=SINCE_MAX_S)
    by: GroupBy | None = None
    points: int = Field(default=30, ge=2, le=500, description="Points in each trend series")


class ShowGroup(BaseModel):
    key: dict[str, str] = Field(description="The group's action, host or version; empty when not grouped")
    calls: int
    errors: int
    error_rate: float | None = None
    errors_by_code: dict[str, int] = Field(default_factory=dict)
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    cpu_percent_avg: float | None = None
    rss_bytes_max: int | None = None
    startup_ms_avg: float | None = Field(default=None, description="Mean spawn-to-ready time of the workers started in the span")
    net_bytes: int = 0
    series: dict[str, list[float | None]] = Field(
        default_factory=dict, description="calls, errors, p50_ms, p99_ms, cpu_percent, rss_bytes per time step"
    )


class VersionMark(BaseModel):
    at: str
    host: str
    version: str
    event: str


class ShowReply(BaseModel):
    name: str
    version: str | None
    since: str
    until: str
    step_s: float
    times: list[str] = Field(description="The start of each step of the series")
    resolution: Literal["raw", "minute", "hour", "day"]
    groups: list[ShowGroup]
    marks: list[VersionMark] = Field(default_factory=list, description="Loads, reloads, crashes in the span")


class AlertsRequest(BaseModel):
    open_only: bool = False
    limit: int = Field(default=200, ge=1, le=10_000)


class AlertView(BaseModel):
    alert_id: str
    rule: str
    name: str
    host: str
    version: str | None = None
    state: Literal["open", "resolved"]
    metric: str
    value: float
    threshold: float
    message: str
    raised_at: str
    resolved_at: str | None = None


class AlertsReply(BaseModel):
    alerts: list[AlertView]


class RecommendationsRequest(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)


class Recommendation(BaseModel):
    name: str
    version: str | None = None
    host: str | None = None
    kind: str
    metric: str
    value: float
    threshold: float
    window: str = Field(description="The span the figures were taken over")
    advice: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class RecommendationsReply(BaseModel):
    recommendations: list[Recommendation]


# --- Events ---------------------------------------------------------------------------------------------------


class _Comparison(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    host: str
    action: str
    version: str
    previous_version: str
    calls_before: int
    calls_after: int
    p50_ms_before: float | None
    p50_ms_after: float | None
    p99_ms_before: float | None
    p99_ms_after: float | None
    error_rate_before: float
    error_rate_after: float
    latency_p_value: float = Field(description="Mann-Whitney U on the latency buckets, one-sided: after slower")
    latency_effect: float = Field(description="Cliff's delta of after against before, -1..1; > 0 means slower")
    error_p_value: float = Field(description="Two-proportion z test, one-sided: after fails more")
    cpu_ms_per_call_before: float | None = None
    cpu_ms_per_call_after: float | None = None


class RegressionDetected(_Comparison):
    """A version that started serving after another is slower, fails more or costs more, with the numbers."""

    reasons: list[str]


class NoRegression(_Comparison):
    """Enough calls of the new version were seen and none of the checks found it worse."""


class AlertRaised(BaseModel):
    model_config = ConfigDict(extra="allow")

    alert_id: str
    rule: str
    name: str
    host: str
    version: str | None = None
    metric: str
    value: float
    threshold: float
    for_s: float
    message: str


class AlertResolved(BaseModel):
    model_config = ConfigDict(extra="allow")

    alert_id: str
    rule: str
    name: str
    host: str
    metric: str
    value: float
    clear_threshold: float


TELEMETRY_EVENTS: dict[str, type[BaseModel]] = {
    model.__name__: model for model in (RegressionDetected, NoRegression, AlertRaised, AlertResolved)
}
