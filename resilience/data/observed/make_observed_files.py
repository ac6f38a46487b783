"""Regenerate the files derived from the shipped observations in this folder.

Writes the GHCN annual maxima (``ghcn_<id>_<slug>_annual_maxima.csv``, from the monthly
summaries in ``ghcn_monthly/``) and the observed warning events of 2013
(``observed_events_shanghai_2013.csv``, from ``hourly/`` with the thresholds of the shipped
rule set ``resilience/data/rules/shanghai.yaml``). Run from the repository root::

    .venv/bin/python resilience/data/observed/make_observed_files.py [OUT_DIR]

``tests/resilience/observed/test_derived.py`` fails if a shipped file differs from the output.
"""

from __future__ import annotations

import sys
from pathlib import Path

from resilience.early_warning.rule_models import RuleSet
from resilience.early_warning.rules import default_rules_path, load_rules
from resilience.observed.derived import (
    EVENT_PERIODS,
    write_annual_maxima_files,
    write_event_file,
)
from resilience.observed.events import EventCriterion

_COLUMNS = {"tas": "temperature_degc", "pr": "precipitation_mm"}


def criteria_from_rules(rules: RuleSet) -> dict[str, list[EventCriterion]]:
    """Return the hourly-record criteria of each hazard of ``EVENT_PERIODS`` from a rule set.

    Only criteria on ``tas`` or ``pr`` with a ``sum`` or ``daily_max`` aggregation and no
    station, condition, asset or layer level can be evaluated on one station's record.
    """
    criteria: dict[str, list[EventCriterion]] = {hazard: [] for hazard in EVENT_PERIODS}
    for rule in rules.rules:
        if rule.hazard not in criteria:
            continue
        for crit in rule.criteria:
            special = crit.station or crit.condition or crit.asset_level or crit.layer_level
            if crit.variable not in _COLUMNS or crit.aggregation not in ("sum", "daily_max"):
                continue
            if special:
                continue
            criteria[rule.hazard].append(
                EventCriterion(
                    column=_COLUMNS[crit.variable],  # type: ignore[arg-type]
                    aggregation=crit.aggregation,  # type: ignore[arg-type]
                    thresholds=tuple((t.level, t.value) for t in crit.thresholds),
                    window_h=crit.window_h,
                    operator=crit.operator,
                )
            )
    return criteria


def write_observed_files(out_dir: Path | None = None) -> list[Path]:
    """Write every derived file into ``out_dir`` (default: this folder); return the paths."""
    rules = load_rules()
    source = f"rule set {default_rules_path().name} (resilience/data/rules)"
    written = write_annual_maxima_files(out_dir)
    written.append(write_event_file(criteria_from_rules(rules), out_dir, source=source))
    return written


if __name__ == "__main__":
    for path in write_observed_files(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(path)
