"""A probability is written one way in the reports, the CLI and the engineers' pages."""

import pytest

from resilience.probability_text import percent_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "n/a"),
        (0.0, "0 %"),
        (5e-5, "<0.01 %"),
        (1e-4, "0.01 %"),
        (0.00528, "0.528 %"),
        (0.977, "97.7 %"),
        (0.9994, "99.9 %"),
        (0.99951, "99.95 %"),  # not "100 %" for a probability under 1
        (1.0, "100.00 %"),
    ],
)
def test_percent_text_at_its_edges(value, text):
    assert percent_text(value) == text


def test_the_report_and_the_pages_use_it():
    from resilience.feasibility.report_text import pct
    from resilience.web.check_summary import percent

    assert pct is percent_text and percent is percent_text
