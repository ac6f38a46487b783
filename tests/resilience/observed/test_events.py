"""Observed events from the hourly record, in the format and with the scores of `warn verify`."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.early_warning.rule_models import LEVELS as RULE_LEVELS
from resilience.early_warning.rules import load_rules
from resilience.early_warning.verify import verify_alerts
from resilience.early_warning.verify_inputs import read_cap_alerts, read_observed
from resilience.observed.events import (
    LEVELS,
    EventCriterion,
    observed_events,
    write_observed_events,
)
from resilience.observed.shipped import OBSERVED_EVENTS_FILE, observed_file
from resilience.schema import SchemaError

RAIN = [
    EventCriterion("precipitation_mm", "sum", (("blue", 35.0), ("yellow", 50.0))),
    EventCriterion("precipitation_mm", "sum", (("red", 100.0),), window_h=3),
]
HEAT = [EventCriterion("temperature_degc", "daily_max", (("yellow", 35.0),), operator=">")]


def frame(rain, temperature=None):
    index = pd.date_range("2013-09-13 00:00", periods=len(rain), freq="h")
    temperature = np.full(len(rain), 30.0) if temperature is None else temperature
    return pd.DataFrame({"temperature_degc": temperature, "precipitation_mm": rain}, index=index)


def test_levels_are_the_rule_set_levels():
    assert LEVELS == tuple(RULE_LEVELS)


def test_rain_levels_known_answer():
    hourly = frame([0, 36, 51, 20, 0, 0])
    events = observed_events(
        hourly,
        RAIN,
        hazard="rainstorm",
        areas=["310104"],
        start="2013-09-13",
        end="2013-09-13T06:00",
    )
    rows = events[["level", "start", "end"]].values.tolist()
    assert rows == [
        # at 03:00 the 1-h rain (20 mm) reaches nothing, but the 3-h total (107 mm) is red
        ["blue", "2013-09-13T01:00:00+08:00", "2013-09-13T04:00:00+08:00"],
        ["yellow", "2013-09-13T02:00:00+08:00", "2013-09-13T04:00:00+08:00"],
        ["red", "2013-09-13T03:00:00+08:00", "2013-09-13T04:00:00+08:00"],
    ]
    assert events.attrs["undecided_hours"] == []


def test_daily_maximum_marks_the_whole_day_and_uses_the_operator():
    index = pd.date_range("2013-08-01", periods=72, freq="h")
    temperature = np.full(72, 30.0)
    temperature[14] = 35.0  # day 1: exactly 35, not above
    temperature[24 + 14] = 36.0  # day 2: above
    hourly = pd.DataFrame({"temperature_degc": temperature, "precipitation_mm": 0.0}, index=index)
    hourly.iloc[50, 0] = np.nan  # day 3 has a gap: its level is undecided
    hourly.iloc[30, 0] = np.nan  # day 2 has a gap too, but reached the top level: decided
    events = observed_events(
        hourly,
        HEAT,
        hazard="high_temperature",
        areas=["310104", "310101"],
        start="2013-08-01",
        end="2013-08-04",
    )
    assert events[["area", "level", "start", "end"]].values.tolist() == [
        ["310104", "yellow", "2013-08-02T00:00:00+08:00", "2013-08-03T00:00:00+08:00"],
        ["310101", "yellow", "2013-08-02T00:00:00+08:00", "2013-08-03T00:00:00+08:00"],
    ]
    assert len(events.attrs["undecided_hours"]) == 24
    assert events.attrs["undecided_hours"][0] == "2013-08-03T00:00:00+08:00"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"areas": ["Xuhui"]}, "expected 6-digit GB/T 2260 codes"),
        ({"start": "2013-09-13T05:00", "end": "2013-09-13T01:00"}, "expected start < end"),
        ({"start": "2012-01-01", "end": "2013-09-13T02:00"}, "within the record"),
    ],
)
def test_bad_requests_are_named(kwargs, message):
    arguments = {
        "hazard": "rainstorm",
        "areas": ["310104"],
        "start": "2013-09-13",
        "end": "2013-09-13T05:00",
    }
    arguments.update(kwargs)
    with pytest.raises(SchemaError, match=message):
        observed_events(frame([0, 1, 2, 3, 4, 5]), RAIN, **arguments)


def test_written_events_read_back_with_the_verify_reader(tmp_path):
    hourly = frame([0, 36, 51, 20, 0, 0])
    events = observed_events(
        hourly,
        RAIN,
        hazard="rainstorm",
        areas=["310104"],
        start="2013-09-13",
        end="2013-09-13T06:00",
    )
    path = write_observed_events(events, tmp_path / "obs.csv", comments=["test, with a comma"])
    spans = read_observed(path, hazards=["rainstorm"])
    assert [(s.level, s.start.hour, s.end.hour) for s in spans] == [
        ("blue", 1, 4),
        ("yellow", 2, 4),
        ("red", 3, 4),
    ]
    with pytest.raises(ValueError, match="without double quotes"):
        write_observed_events(events, tmp_path / "x.csv", comments=['say "hi"'])


CAP = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>TEST-2013-09-13-1</identifier>
  <sender>test@example.org</sender>
  <sent>2013-09-13T13:00:00+08:00</sent>
  <status>Exercise</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>Rainstorm</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <onset>2013-09-13T15:00:00+08:00</onset>
    <expires>2013-09-13T18:00:00+08:00</expires>
    <parameter><valueName>ruleId</valueName><value>shanghai_rainstorm</value></parameter>
    <parameter><valueName>colour</valueName><value>yellow</value></parameter>
    <area>
      <areaDesc>Xuhui</areaDesc>
      <geocode><valueName>GB/T 2260</valueName><value>310104</value></geocode>
    </area>
  </info>
</alert>
"""


def test_shipped_events_verify_a_hypothetical_alert(tmp_path):
    """A hand-made yellow rainstorm alert (not a real one) scored against the shipped events."""
    rules = load_rules()
    observed = read_observed(
        observed_file(OBSERVED_EVENTS_FILE), hazards={r.hazard for r in rules.rules}
    )
    assert {s.hazard for s in observed} == {"rainstorm", "high_temperature"}
    cap = tmp_path / "alert.xml"
    cap.write_text(CAP, encoding="utf-8")
    scores = verify_alerts(read_cap_alerts([cap], rules=rules), observed).scores
    rain = scores[scores.hazard == "rainstorm"].set_index("level")
    assert rain.loc["yellow", "hits"] == 1 and rain.loc["yellow", "pod"] == 1.0
    assert rain.loc["yellow", "lead_time_mean_h"] == pytest.approx(3.0)  # sent 13:00, rain 16:00
    heat = scores[scores.hazard == "high_temperature"].set_index("level")
    assert heat.loc["yellow", "misses"] == heat.loc["yellow", "events"] == 7  # nothing warned
    result = CliRunner().invoke(
        app,
        [
            "warn",
            "verify",
            "--alerts",
            str(cap),
            "--observed",
            str(observed_file(OBSERVED_EVENTS_FILE)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Verification of 1 messages" in result.output
