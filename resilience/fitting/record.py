"""Read one station record for ``resilience fit`` from a user's CSV, with line-numbered errors.

Empty and NA cells are gaps; text in a number, a missing column or too few values raise a
:class:`~hazard_models.layer.SchemaError` naming file, line and field.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from hazard_models.layer import SchemaError
from resilience.storage.csv_rows import parse_float, read_rows

__all__ = ["MIN_VALUES", "StationRecord", "read_station_record"]

#: Fewest values a fit accepts (issue 3: series shorter than 10 give no fit).
MIN_VALUES = 10


class StationRecord(BaseModel):
    """Values of one column of a CSV (and an optional covariate), in file order."""

    path: Path
    column: str
    values: list[float]
    covariate_column: str | None = None
    covariate: list[float] | None = None
    skipped_lines: list[int] = Field(default_factory=list, description="empty or NA cells")


def read_station_record(
    path: Path, *, column: str, covariate: str | None = None, min_values: int = MIN_VALUES
) -> StationRecord:
    """Read ``column`` (and ``covariate``) of a CSV, with errors naming line and field.

    Empty and NA cells are gaps (their lines are listed in ``skipped_lines``); text in a
    number, a missing column or too few values raise.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SchemaError
        Missing column (the message lists the columns found), a non-numeric value (file, line
        and field), or fewer than ``min_values`` values.
    """
    path = Path(path)
    required = [column] + ([covariate] if covariate else [])
    _, rows = read_rows(path, required)
    values, covariates, skipped = [], [], []
    for line, row in rows:
        value = parse_float(row[column], path, line, column, allow_missing=True)
        x = (
            parse_float(row[covariate], path, line, covariate, allow_missing=True)
            if covariate
            else 0.0
        )
        if math.isnan(value) or math.isnan(x):
            skipped.append(line)
            continue
        values.append(value)
        covariates.append(x)
    if len(values) < min_values:
        raise SchemaError(
            f"{path}: field '{column}': expected at least {min_values} numeric values to fit, "
            f"found {len(values)}"
        )
    if np.ptp(values) == 0:
        raise SchemaError(f"{path}: field '{column}': all {len(values)} values are equal")
    return StationRecord(
        path=path,
        column=column,
        values=values,
        covariate_column=covariate,
        covariate=covariates if covariate else None,
        skipped_lines=skipped,
    )
