"""Warning verification: hits, misses, false alarms, POD, FAR, CSI and lead time."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest
from sqlalchemy import select

from hazard_models.layer import SchemaError
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.lifecycle import issue_alerts
from resilience.early_warning.verify import observed_from_decisions, verify_alerts, warned_spans
from resilience.early_warning.verify_inputs import (
    AlertMessage,
    Span,
    alerts_from_records,
    read_cap_alerts,
    read_observed,
)
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import AlertRecord

ISSUED = datetime.fromisoformat("2026-07-20T08:00:00+08:00")


def t(hhmm: str, day: int = 20) -> datetime:
    return datetime.fromisoformat(f"2026-07-{day}T{hhmm}:00+08:00")


def message(ident, msg_type, level, area, sent, onset, expires, refs=()):
    return AlertMessage(
        ident, msg_type, "rainstorm", level, (area,), sent, onset, expires, refs, ident
    )


#: Hand-made alerts (see test_known_answer for what each one is there for).
MESSAGES = [
    # 310101: blue from 13:00, yellow from 14:00 (announced 10:00), blue from 16:00, until 20:00
    message("A1", "Alert", "blue", "310101", t("08:00"), t("13:00"), t("20:00")),
    message("U1", "Update", "yellow", "310101", t("10:00"), t("14:00"), t("20:00"), ("A1",)),
    message("U2", "Update", "blue", "310101", t("12:00"), t("16:00"), t("20:00"), ("U1",)),
    message("C1", "Cancel", "blue", "310101", t("20:00"), t("20:00"), t("21:00"), ("U2",)),
    # 310104: yellow from 18:00 to 21:00, lifted early at 19:00; nothing happens
    message("A2", "Alert", "yellow", "310104", t("08:00"), t("18:00"), t("21:00")),
    message("C2", "Cancel", "yellow", "310104", t("19:00"), t("19:00"), t("20:00"), ("A2",)),
    # 310106: a late warning, issued at 15:00 for an event that began at 14:00
    message("A3", "Alert", "blue", "310106", t("15:00"), t("15:00"), t("17:00")),
]
OBSERVED = [
    Span("rainstorm", "310101", "yellow", t("14:30"), t("15:30")),  # hit at blue and yellow
    Span("rainstorm", "310101", "blue", t("22:00"), t("23:00")),  # after the warning: miss
    Span("rainstorm", "310105", "blue", t("09:00"), t("11:00")),  # never warned: miss
    Span("rainstorm", "310106", "blue", t("14:00"), t("16:00")),  # hit, warned late
]


def test_warned_spans_follow_updates_and_early_cancel():
    spans = {
        (s.area, s.level, s.start.hour, s.end.hour, s.issued.hour) for s in warned_spans(MESSAGES)
    }
    assert spans == {
        ("310101", "blue", 13, 14, 8),
        ("310101", "yellow", 14, 16, 10),
        ("310101", "blue", 16, 20, 12),
        ("310104", "yellow", 18, 19, 8),  # cut at the Cancel
        ("310106", "blue", 15, 17, 15),
    }


def test_known_answer():
    result = verify_alerts(MESSAGES, OBSERVED)
    scores = result.scores.set_index("level")
    assert list(scores.index) == ["blue", "yellow"]  # nothing at orange or red
    blue, yellow = scores.loc["blue"], scores.loc["yellow"]
    # blue: events 310101 x2, 310105, 310106; warnings 310101 [13, 20), 310104, 310106
    assert (blue.events, blue.hits, blue.misses) == (4, 2, 2)
    assert (blue.warnings, blue.false_alarms) == (3, 1)
    # exact ratios; CSI from POD and FAR equals hits / (hits + misses + false alarms) here
    assert blue.pod == 0.5 and blue.far == pytest.approx(1 / 3)
    assert blue.csi == pytest.approx(1 / (1 / 0.5 + 1 / (2 / 3) - 1)) == pytest.approx(2 / 5)
    # lead: 14:30 - 08:00 (the blue Alert in force) = 6.5 h; 310106 warned late -> 0 h
    assert blue.lead_time_mean_h == pytest.approx(3.25)
    assert blue.lead_time_positive_pct == 50.0
    assert (yellow.events, yellow.hits, yellow.warnings, yellow.false_alarms) == (1, 1, 2, 1)
    assert yellow.pod == 1.0 and yellow.far == 0.5 and yellow.csi == pytest.approx(0.5)
    assert yellow.lead_time_median_h == pytest.approx(4.5)  # 14:30 - 10:00 (the Update)
    late = result.events.query("area == '310106' and kind == 'event' and level == 'blue'")
    assert late.lead_time_h.tolist() == [0.0]


def test_scores_carry_wilson_or_clopper_pearson_intervals():
    from scipy.stats import binomtest

    blue = verify_alerts(MESSAGES, OBSERVED).scores.set_index("level").loc["blue"]
    exact = verify_alerts(MESSAGES, OBSERVED, interval="beta", confidence=0.9)
    blue_exact = exact.scores.set_index("level").loc["blue"]
    # POD 2 of 4, FAR 1 of 3, CSI 2 of 5 (one warned interval per event); scipy is an
    # implementation independent of statsmodels; closed forms / beta inversion: 1e-10
    for name, (x, n) in {"pod": (2, 4), "far": (1, 3), "csi": (2, 5)}.items():
        wilson = binomtest(x, n).proportion_ci(0.95, method="wilson")
        assert blue[f"{name}_low"] == pytest.approx(wilson.low, abs=1e-10)
        assert blue[f"{name}_high"] == pytest.approx(wilson.high, abs=1e-10)
        clopper = binomtest(x, n).proportion_ci(0.9, method="exact")
        assert blue_exact[f"{name}_low"] == pytest.approx(clopper.low, abs=1e-10)
        assert blue_exact[f"{name}_high"] == pytest.approx(clopper.high, abs=1e-10)
        assert blue[f"{name}_low"] <= blue[name] <= blue[f"{name}_high"]
    with pytest.raises(ValueError, match=r"confidence: expected a value in \(0, 1\)"):
        verify_alerts(MESSAGES, OBSERVED, confidence=1.0)
    with pytest.raises(ValueError, match="interval: expected 'wilson' or 'beta'"):
        verify_alerts(MESSAGES, OBSERVED, interval="wald")  # type: ignore[arg-type]


def test_tolerance_turns_a_near_miss_into_a_hit():
    strict = verify_alerts(MESSAGES, OBSERVED).scores.set_index("level").loc["blue"]
    loose = verify_alerts(MESSAGES, OBSERVED, tolerance_h=2.5).scores.set_index("level").loc["blue"]
    # 22:00-23:00 in 310101 is 2 h after the warning ended at 20:00
    assert (strict.hits, loose.hits) == (2, 3)
    assert loose.pod == 0.75
    with pytest.raises(ValueError, match="tolerance_h"):
        verify_alerts(MESSAGES, OBSERVED, tolerance_h=-1)


def test_no_events_gives_far_one_and_undefined_pod():
    scores = verify_alerts(MESSAGES, []).scores.set_index("level")
    assert scores.loc["blue", "far"] == 1.0 and math.isnan(scores.loc["blue", "pod"])
    assert math.isnan(scores.loc["blue", "pod_low"]) and math.isnan(scores.loc["blue", "csi_high"])
    assert scores.loc["blue", "far_high"] == 1.0 and 0 < scores.loc["blue", "far_low"] < 1
    assert math.isnan(scores.loc["blue", "lead_time_mean_h"])


def test_missing_episode_message_is_an_error():
    with pytest.raises(SchemaError, match=r"U2: references U1, which is not among the alerts read"):
        warned_spans([m for m in MESSAGES if m.identifier != "U1"])


# ------------------------------------------------------------------ observed CSV


def write(tmp_path, text, name="observed.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "hazard,area,level,start,end\n"


def test_read_observed_with_comments(tmp_path):
    path = write(
        tmp_path,
        "# observed by the gauge network\n"
        + HEADER
        + "rainstorm,310101,yellow,2026-07-20T14:30:00+08:00,2026-07-20T15:30:00+08:00\n"
        + "# a comment line\n"
        + "rainstorm,310105,blue,2026-07-20T01:00:00Z,2026-07-20T03:00:00Z\n",
    )
    spans = read_observed(path, hazards={"rainstorm"})
    assert [(s.area, s.level) for s in spans] == [("310101", "yellow"), ("310105", "blue")]
    assert spans[1].start == t("09:00")  # 01:00 UTC


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "rainstorm,3101,blue,2026-07-20T14:00+08:00,2026-07-20T15:00+08:00",
            r"line 3, column 'area': expected a 6-digit GB/T 2260 code, found '3101'",
        ),
        (
            "rainstorm,310101,purple,2026-07-20T14:00+08:00,2026-07-20T15:00+08:00",
            r"line 3, column 'level': expected one of blue, yellow, orange, red, found 'purple'",
        ),
        (
            "rainstorm,310101,blue,2026-07-20 14:00,2026-07-20T15:00+08:00",
            r"line 3, column 'start': expected an ISO 8601 time with offset",
        ),
        (
            "rainstorm,310101,blue,2026-07-20T15:00+08:00,2026-07-20T15:00+08:00",
            r"line 3, column 'end': expected a time after start",
        ),
        (
            "rainstorm,310101,,2026-07-20T14:00+08:00,2026-07-20T15:00+08:00",
            r"line 3, column 'level': expected a value",
        ),
        (
            "hail,310101,blue,2026-07-20T14:00+08:00,2026-07-20T15:00+08:00",
            r"line 3, column 'hazard': unknown hazard 'hail'",
        ),
    ],
)
def test_read_observed_errors_name_file_line_and_column(tmp_path, row, message):
    good = "rainstorm,310101,blue,2026-07-20T14:00+08:00,2026-07-20T15:00+08:00\n"
    path = write(tmp_path, HEADER + good + row + "\n")
    with pytest.raises(SchemaError, match=r"observed\.csv: " + message):
        read_observed(path, hazards={"rainstorm"})


def test_read_observed_missing_columns(tmp_path):
    path = write(tmp_path, "hazard,area,level,start\n")
    with pytest.raises(SchemaError, match=r"header: missing column\(s\) end; expected"):
        read_observed(path)


# ------------------------------------------------------------------ real alerts


_TEMPLATE: dict = {}


@pytest.fixture
def rain(make_forecast, rules, districts, tmp_path_factory):
    """The rain forecast, its decisions and the CAP files and records they were issued as."""
    if not _TEMPLATE:
        ds = make_forecast()
        ds["pr"][:, 5] = np.float32(36.0)
        ds["pr"][:, 6] = np.float32(51.0)
        decisions = [d for d in evaluate_rules(ds, rules, districts) if d.hazard == "rainstorm"]
        folder = tmp_path_factory.mktemp("rain_verify")
        engine = make_engine(f"sqlite:///{folder / 'alerts.db'}")
        issue_alerts(decisions, engine=engine, out_dir=folder / "cap", sender="t@x", now=ISSUED)
        with session_scope(engine) as session:
            records = list(session.scalars(select(AlertRecord)))
        engine.dispose()
        analysis = ds.assign_attrs(product="analysis")
        _TEMPLATE.update(
            cap=folder / "cap",
            records=records,
            observed=observed_from_decisions(
                d for d in evaluate_rules(analysis, rules, districts) if d.hazard == "rainstorm"
            ),
        )
    return _TEMPLATE


def test_cap_files_and_records_give_the_same_spans(rain, rules):
    from_files = read_cap_alerts([rain["cap"]], rules=rules)
    from_db = alerts_from_records(rain["records"])
    assert len(from_files) == len(from_db) == 64  # 16 districts x 4 messages
    assert {m.hazard for m in from_files} == {"rainstorm"}

    def key(spans):
        return sorted((s.area, s.level, s.start, s.end, s.issued) for s in spans)

    assert key(warned_spans(from_files)) == key(warned_spans(from_db))


def test_a_perfect_forecast_scores_perfectly(rain, rules):
    """Alerts issued from a forecast, verified against the same data as an analysis."""
    result = verify_alerts(read_cap_alerts([rain["cap"]], rules=rules), rain["observed"])
    scores = result.scores.set_index("level")
    assert list(scores.index) == ["blue", "yellow"]
    assert (scores.pod == 1.0).all() and (scores.far == 0.0).all() and (scores.csi == 1.0).all()
    assert scores.loc["blue", "events"] == 16
    # blue from 13:00, Alert sent 08:00; yellow from 14:00, its Update also sent at 08:00;
    # 2 s allowed: 10 identifiers per second push some messages to 08:00:01..08:00:02
    assert scores.loc["blue", "lead_time_median_h"] == pytest.approx(5.0, abs=2 / 3600)
    assert scores.loc["yellow", "lead_time_median_h"] == pytest.approx(6.0, abs=2 / 3600)


def test_bad_cap_files_are_named(tmp_path, rain, rules):
    broken = tmp_path / "broken.xml"
    broken.write_text("<alert>\n<identifier>x</identifier>\n")
    with pytest.raises(SchemaError, match=r"broken.xml: line \d+: not well-formed XML"):
        read_cap_alerts([broken], rules=rules)
    source = sorted(rain["cap"].glob("*.xml"))[0].read_text(encoding="utf-8")
    unknown = tmp_path / "unknown_rule.xml"
    unknown.write_text(
        source.replace("<value>shanghai_rainstorm<", "<value>no_such_rule<"), encoding="utf-8"
    )
    with pytest.raises(
        SchemaError, match=r"unknown_rule.xml: line \d+: parameter ruleId 'no_such_rule'"
    ):
        read_cap_alerts([unknown], rules=rules)
    with pytest.raises(SchemaError, match="missing: no such file or directory"):
        read_cap_alerts([tmp_path / "missing"], rules=rules)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SchemaError, match="expected CAP files, found none"):
        read_cap_alerts([tmp_path / "empty"], rules=rules)


def test_warn_verify_prints_intervals_and_json(rain, tmp_path):
    import json

    from typer.testing import CliRunner

    from resilience.cli.main import app

    observed = write(
        tmp_path,
        HEADER
        + "rainstorm,310115,blue,2026-07-20T14:00:00+08:00,2026-07-20T15:00:00+08:00\n"
        + "rainstorm,310104,blue,2026-07-19T01:00:00+08:00,2026-07-19T02:00:00+08:00\n",
    )
    args = ["warn", "verify", "--alerts", str(rain["cap"]), "--observed", str(observed)]
    runner = CliRunner(env={"COLUMNS": "220"})
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    # blue: 2 events, 1 hit; 16 warned districts, 15 without an event
    pod = binomtest_ci(1, 2, "wilson")
    assert f"0.50 [{pod[0]:.2f}, {pod[1]:.2f}]" in table.output
    assert "value [low, high] of the 95 % Wilson interval" in table.output
    result = runner.invoke(app, [*args, "--json", "--interval", "beta", "--confidence", "0.9"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["interval"] == {"method": "beta", "confidence": 0.9}
    blue = next(row for row in body["scores"] if row["level"] == "blue")
    assert (blue["events"], blue["hits"], blue["warnings"], blue["false_alarms"]) == (2, 1, 16, 15)
    far = binomtest_ci(15, 16, "exact", 0.9)
    assert blue["far_low"] == pytest.approx(far[0], abs=1e-10)
    assert blue["far_high"] == pytest.approx(far[1], abs=1e-10)
    assert blue["lead_time_positive_pct"] == 100.0 and blue["csi_low"] < blue["csi"]
    yellow = next(row for row in body["scores"] if row["level"] == "yellow")
    assert yellow["pod"] is None and yellow["pod_low"] is None  # no yellow event: null
    bad = runner.invoke(app, [*args, "--interval", "wald"])
    assert bad.exit_code == 2 and "wald" in bad.output


def binomtest_ci(x: int, n: int, method: str, confidence: float = 0.95) -> tuple[float, float]:
    """scipy's interval of x in n (independent of statsmodels)."""
    from scipy.stats import binomtest

    ci = binomtest(x, n).proportion_ci(confidence, method=method)
    return ci.low, ci.high
