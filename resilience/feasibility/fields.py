"""Fields of a Submission: physical ranges with their basis, and strict real numbers.

Values outside a range are typing errors, not designs, so ``Submission`` rejects them with a
message naming the field, the range and its basis (``docs/feasibility.md``, Inputs).
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

from pydantic import Field, JsonValue

__all__ = [
    "BOUNDS",
    "CONTROL",
    "HOT_DAY_THRESHOLDS_DEGC",
    "WGS84",
    "Range",
    "finite_or_none",
    "number_field",
]

#: Daily Tmax thresholds (degC) whose hot-day counts the heat layer carries
#: (``tx_days_above_35/37/40``: the CMA high-temperature signal levels, domain.md 1.2).
HOT_DAY_THRESHOLDS_DEGC: tuple[float, ...] = (35.0, 37.0, 40.0)


class Range(NamedTuple):
    """Physical range of a numeric Submission field, with units and where it comes from."""

    low: float
    high: float
    units: str
    basis: str
    low_open: bool = False

    def contains(self, value: float) -> bool:
        """Return True if ``value`` lies in the range."""
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def describe(self) -> str:
        """Return e.g. ``"-90 to 60 degC (Earth's observed extremes)"``."""
        low = f"more than {self.low:g}" if self.low_open else f"{self.low:g}"
        units = f" {self.units}" if self.units else ""
        return f"{low} to {self.high:g}{units} ({self.basis})"


#: Ranges of the numeric fields. Values outside them are typing errors, not designs, so they
#: are rejected rather than clipped. lon and lat only get the WGS 84 range here: where the
#: published layers can be sampled is checked by ``run_check`` (``feasibility.domain``).
BOUNDS: dict[str, Range] = {
    # Service lives of civil works: 1 year to 300 (monumental structures); the catalogue's
    # longest default is 100 years (assets.catalogue).
    "design_life_years": Range(1, 300, "years", "a civil-works design life"),
    # The layers' horizons run from the 1995-2014 baseline to 2081-2100 (AR6_HORIZONS in
    # hazard_models/horizon.py), so a start year outside 2000-2100 cannot be checked.
    "start_year": Range(2000, 2100, "", "the hazard layers' horizons"),
    # Land and structures in Shanghai lie within about -20 m (deep basements, metro) and
    # 100 m (the few hills of Songjiang and Jinshan reach about 100 m) on the Wusong datum.
    "ground_elevation_m": Range(-20, 100, "m", "Shanghai's terrain on the Wusong datum"),
    "protection_level_m": Range(-20, 100, "m", "Shanghai's terrain on the Wusong datum"),
    # The 1-5 criticality scale of the risk matrix (docs/feasibility.md, step 4).
    "criticality": Range(1, 5, "", "the 1-5 consequence scale"),
    # Zero up to 1e13 CNY, about twice Shanghai's 2023 GDP (4.7e12 CNY, Shanghai Statistical
    # Yearbook): no single project is worth more.
    "replacement_value": Range(0, 1e13, "CNY", "at most twice Shanghai's annual GDP"),
    # Earth's observed extremes of air temperature: -89.2 degC (Vostok, 1983) and 56.7 degC
    # (Death Valley, 1913), WMO Archive of Weather and Climate Extremes.
    "heat_threshold_degc": Range(-90, 60, "degC", "Earth's observed extremes"),
    # A count of days in a year (366 in a leap year).
    "heat_days_standard": Range(0, 366, "days/yr", "days in a year"),
    # A return period is longer than one year (an annual probability below 1); 100000 years
    # is beyond the longest design standard in use (Dutch dikes, 1 in 10000 years).
    "drainage_return_period_years": Range(
        1, 100_000, "years", "an annual exceedance probability in [1e-5, 1)", low_open=True
    ),
}
#: WGS 84 coordinate ranges (EPSG:4326); the layers' own extent is checked by run_check.
WGS84: dict[str, Range] = {
    "lon": Range(-180, 180, "degrees east", "WGS 84"),
    "lat": Range(-90, 90, "degrees north", "WGS 84"),
}
#: C0 controls (NUL, ESC ...), DEL and C1 controls: never part of a name.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def number_field(description: str, bound: Range | None = None, **kwargs: Any) -> Any:
    """Return a Field that takes a real number only: no bool, no string, no NaN or infinity.

    ``bound`` only documents the range in the JSON schema; ````Submission````
    enforces it with a message that names the field, the range and its basis.
    """
    schema: dict[str, JsonValue] | None = None
    if bound is not None:
        low = "exclusiveMinimum" if bound.low_open else "minimum"
        schema = {low: bound.low, "maximum": bound.high}
    return Field(
        strict=True,
        allow_inf_nan=False,
        description=description,
        json_schema_extra=schema,
        **kwargs,
    )


def finite_or_none(value: float | None) -> float | None:
    """Map NaN/inf to None so that JSON stays valid and round-trips."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
