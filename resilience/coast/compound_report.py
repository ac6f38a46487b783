"""Compound rain + high water from a user's paired daily record: read, condition, estimate.

Reads a CSV of paired daily values (date, daily rain in mm, daily high water in m),
optionally keeps only the JTWC typhoon days near Shanghai or the typhoon season
(:mod:`resilience.coast.typhoon_io`), and estimates with :mod:`hazard_models.coast.compound`
(sources
there and in ``docs/surge.md`` section 7):

* the empirical joint exceedance P(rain > r, water > s) (empirical copula, Genest & Favre
  2007), its ratio to independence (Zscheischler & Seneviratne 2017) and an AND return period;
* the conditional exceedance P(rain > r | water > s) with a percentile bootstrap interval
  that resamples whole calendar years (Efron & Tibshirani 1993; Kuensch 1989).

The result is a :class:`CompoundResult` (pydantic). ``resilience compound`` is the command
line (:mod:`resilience.cli.compound`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Condition",
    "CompoundOptions",
    "CompoundResult",
    "compound_analysis",
    "read_paired_csv",
]

Condition = Literal["all_days", "typhoon_days", "typhoon_season"]


#: The default thresholds' quantile, and the fewest chosen days above each default threshold:
#: with fewer, the joint count is 0 or 1 and its bootstrap interval degenerate (a 99th
#: percentile of the 71 typhoon days of 1990-2021 leaves one day above).
DEFAULT_QUANTILE, MIN_DAYS_ABOVE = 0.99, 10


class CompoundOptions(BaseModel):
    """Choices of a compound analysis; the defaults are those of the CLI."""

    rain_threshold_mm: float | None = None  #: None: the ``quantile`` of the daily rain
    water_threshold_m: float | None = None  #: None: the ``quantile`` of the high water
    #: marginal quantile of the default thresholds; None: 0.99, lowered where needed so
    #: that at least MIN_DAYS_ABOVE of the chosen days exceed each (the output says so)
    quantile: float | None = Field(default=None, gt=0.0, lt=1.0)
    condition: Condition = "all_days"
    #: a typhoon day has a storm centre within this distance, km
    typhoon_radius_km: float = Field(default=300.0, gt=0.0)
    #: > 0: the water of a day is the highest within +- window_days (pair_daily)
    window_days: int = Field(default=0, ge=0)
    n_boot: int = Field(default=1000, ge=10)
    #: confidence level of the bootstrap interval
    level: float = Field(default=0.90, gt=0.0, lt=1.0)
    seed: int = 0


class CompoundResult(BaseModel):
    """What ``resilience compound --json`` prints (probabilities per paired day)."""

    source: str
    condition: Condition
    first_date: str
    last_date: str
    n_pairs: int
    pairs_per_year: float  #: chosen pairs / years spanned by the record (AND return period)
    rain_threshold_mm: float
    water_threshold_m: float
    rain_exceedance: float  #: P(rain > r)
    water_exceedance: float  #: P(water > s)
    joint_exceedance: float  #: P(rain > r, water > s)
    independent_joint_exceedance: float  #: P(rain > r) P(water > s), the empirical margins
    multiplication_factor: float  #: joint / independent (NaN when either margin is empty)
    and_return_period_years: float  #: 1 / (joint x pairs_per_year); inf without joint days
    n_joint: int
    water_given_rain: float  #: P(water > s | rain > r)
    rain_given_water: float  #: P(rain > r | water > s)
    rain_given_water_lower: float
    rain_given_water_upper: float
    level: float
    n_boot: int
    bootstrap_blocks: int  #: calendar years resampled
    typhoon_months: list[int] | None = None  #: the season used (condition typhoon_season)
    notes: list[str]


def read_paired_csv(
    path: Path,
    *,
    date_column: str = "date",
    rain_column: str = "rain_mm",
    water_column: str = "high_water_m",
) -> pd.DataFrame:
    """Read a CSV of paired daily values: a date, daily rain (mm) and daily high water (m).

    Parameters
    ----------
    path : pathlib.Path
        One row per day; dates as ``YYYY-MM-DD``; empty or ``NA`` values are gaps (the pair
        is dropped). Other columns are ignored.
    date_column, rain_column, water_column : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Columns ``rain`` (mm/day) and ``water`` (m) on a sorted DatetimeIndex ``date``;
        rows with a gap are kept as NaN. ``attrs["source"]`` names the file.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    SchemaError
        A missing column, a date or number that does not parse, a negative rain, or a date
        given twice, naming the file, the line (1 = header) and the column.
    """
    import numpy as np
    import pandas as pd

    from hazard_models.layer import SchemaError
    from resilience.storage.csv_rows import parse_float, read_rows, where

    _, rows = read_rows(Path(path), (date_column, rain_column, water_column))
    lines = np.array([line for line, _ in rows])
    texts = [row[date_column] for _, row in rows]
    rain, water = [], []
    for line, row in rows:
        rain.append(parse_float(row[rain_column], path, line, rain_column, allow_missing=True))
        water.append(parse_float(row[water_column], path, line, water_column, allow_missing=True))
        if rain[-1] < 0:
            message = f"expected a rain depth >= 0 mm, found {row[rain_column]!r}"
            raise SchemaError(f"{where(path, line, rain_column)}: {message}")
    dates = pd.to_datetime(pd.Series(texts), format="%Y-%m-%d", errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if bad.size:
        message = f"expected a date such as 2021-07-25, found {texts[bad[0]]!r}"
        raise SchemaError(f"{where(path, lines[bad[0]], date_column)}: {message}")
    twice = np.flatnonzero(dates.duplicated(keep=False).to_numpy())
    if twice.size:
        message = (
            f"expected one row per date, found {texts[twice[0]]!r} on lines {lines[twice].tolist()}"
        )
        raise SchemaError(f"{path}: field '{date_column}': {message}")
    index = pd.DatetimeIndex(dates, name="date")
    frame = pd.DataFrame({"rain": rain, "water": water}, index=index).sort_index()
    frame.attrs["source"] = str(path)
    return frame


def _select_days(
    frame: pd.DataFrame, days: pd.DataFrame | None, options: CompoundOptions
) -> tuple[pd.DataFrame, list[int] | None, list[str]]:
    """Return the pairs of the chosen condition, the typhoon months and notes."""
    from hazard_models.coast.compound import typhoon_season

    if options.condition == "all_days":
        return frame, None, []
    if days is None:
        raise ValueError(f"condition {options.condition}: expected typhoon days, found none")
    last = days["date"].max()
    notes = []
    if frame.index.max() > last:
        notes.append(
            f"the typhoon tracks end on {last:%Y-%m-%d}: later days count as non-typhoon days"
        )
    if options.condition == "typhoon_days":
        return frame[frame.index.isin(days["date"])], None, notes
    months = list(typhoon_season(days, coverage=0.9))
    return frame[frame.index.month.isin(months)], months, notes


def compound_analysis(
    frame: pd.DataFrame, days: pd.DataFrame | None = None, *, options: CompoundOptions
) -> CompoundResult:
    """Return the joint and conditional exceedance of paired daily rain and high water.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``rain`` (mm/day) and ``water`` (m) on a daily DatetimeIndex (:func:`read_paired_csv`).
    days : pandas.DataFrame, optional
        Typhoon days (``date`` column, :func:`resilience.coast.typhoon_io.shipped_typhoon_days`);
        needed for the ``typhoon_days`` and ``typhoon_season`` conditions.
    options : CompoundOptions
        Thresholds, condition, window and bootstrap settings.

    Raises
    ------
    ValueError
        Fewer than 10 complete pairs, thresholds that no pair exceeds or all pairs exceed,
        or a typhoon condition without typhoon days.
    """
    import numpy as np

    from hazard_models.coast.compound import conditional_exceedance, joint_exceedance, pair_daily

    source = str(frame.attrs.get("source", "pairs"))
    if options.window_days > 0:
        frame = pair_daily(frame["rain"], frame["water"], window_days=options.window_days)
    record = frame.dropna()
    chosen, months, notes = _select_days(record, days, options)
    if len(chosen) < 10:
        raise ValueError(f"expected at least 10 complete pairs, found {len(chosen)}")
    rain, water = chosen["rain"].to_numpy(), chosen["water"].to_numpy()
    r, s, p, q, threshold_notes = _thresholds(rain, water, options)
    per_year = rain.size / (((record.index.max() - record.index.min()).days + 1) / 365.25)
    joint = joint_exceedance(
        rain, water, first_probability=p, second_probability=q, per_year=per_year
    )
    conditional = conditional_exceedance(
        rain,
        water,
        target_threshold=r,
        condition_threshold=s,
        blocks=chosen.index.year.to_numpy(),
        n_boot=options.n_boot,
        level=options.level,
        seed=options.seed,
    )
    rain_above, water_above = float(np.mean(rain > r)), float(np.mean(water > s))
    return CompoundResult(
        source=source,
        condition=options.condition,
        first_date=f"{chosen.index.min():%Y-%m-%d}",
        last_date=f"{chosen.index.max():%Y-%m-%d}",
        n_pairs=rain.size,
        pairs_per_year=per_year,
        rain_threshold_mm=r,
        water_threshold_m=s,
        rain_exceedance=rain_above,
        water_exceedance=water_above,
        independent_joint_exceedance=rain_above * water_above,
        multiplication_factor=joint.probability / (rain_above * water_above),
        **_joint_fields(joint, conditional),
        level=options.level,
        n_boot=options.n_boot,
        typhoon_months=months,
        notes=[*notes, *threshold_notes, *_method_notes(options)],
    )


def _joint_fields(joint: Any, conditional: Any) -> dict[str, Any]:
    """Return the result fields taken from the two estimators of hazard_models.coast.compound."""
    return {
        "joint_exceedance": joint.probability,
        "and_return_period_years": joint.and_return_period_years,
        "n_joint": joint.n_joint,
        "water_given_rain": joint.conditional_probability,
        "rain_given_water": conditional.probability,
        "rain_given_water_lower": conditional.lower,
        "rain_given_water_upper": conditional.upper,
        "bootstrap_blocks": conditional.blocks,
    }


def _thresholds(
    rain: Any, water: Any, options: CompoundOptions
) -> tuple[float, float, float, float, list[str]]:
    """Return the thresholds r (mm), s (m), their copula probabilities p, q, and notes.

    p = #(rain <= r) / (n + 1), so that a pseudo-observation rank / (n + 1) exceeds p exactly
    when rain > r (ties at r average to at most p); likewise q.
    """
    import numpy as np

    r, s = options.rain_threshold_mm, options.water_threshold_m
    n = rain.size
    quantile, notes = options.quantile, []
    if quantile is None:
        quantile = min(DEFAULT_QUANTILE, 1.0 - MIN_DAYS_ABOVE / n)
        if quantile < DEFAULT_QUANTILE and (r is None or s is None):
            notes.append(
                f"default thresholds at the {quantile:.3f} quantile, not {DEFAULT_QUANTILE}: "
                f"{n} chosen days leave too few above the {DEFAULT_QUANTILE} quantile "
                f"(at least {MIN_DAYS_ABOVE} wanted); give --quantile or the thresholds to choose"
            )
    r = float(np.quantile(rain, quantile)) if r is None else float(r)
    s = float(np.quantile(water, quantile)) if s is None else float(s)
    above_r, above_s = int(np.sum(rain > r)), int(np.sum(water > s))
    if not (0 < above_r < n and 0 < above_s < n):
        raise ValueError(
            f"thresholds rain {r:g} mm, water {s:g} m: expected some pairs above and some "
            f"below each, found {above_r} and {above_s} of {n} above; choose thresholds "
            f"inside the record (--rain-threshold-mm, --water-threshold-m) or a --quantile "
            f"of at most {1.0 - MIN_DAYS_ABOVE / n:.3f}"
        )
    if min(above_r, above_s) < MIN_DAYS_ABOVE and not notes:
        notes.append(
            f"only {above_r} rain and {above_s} high-water days above the thresholds: the "
            "joint estimate rests on very few days"
        )
    p, q = (n - above_r) / (n + 1.0), (n - above_s) / (n + 1.0)
    return r, s, p, q, notes


def _method_notes(options: CompoundOptions) -> list[str]:
    notes = [
        "empirical estimates from the pairs given (Genest & Favre 2007); no tail model, so "
        "thresholds beyond the record's range cannot be assessed",
        f"{options.level:.0%} percentile bootstrap resampling whole calendar years "
        f"({options.n_boot} replicates, seed {options.seed})",
    ]
    if options.condition != "all_days":
        notes.append(
            f"JTWC best tracks, storm centre within {options.typhoon_radius_km:g} km of "
            "Shanghai (resilience/data/typhoon/PROVENANCE.md)"
        )
    return notes
