"""How a probability is written for people: the one format of the reports, the CLI and the pages.

Top-level (no subpackage) so that :mod:`resilience.feasibility` (the report) and
:mod:`resilience.web` (the engineers' pages), which may not import each other, share it.
"""

from __future__ import annotations

__all__ = ["percent_text"]

#: Probabilities below this are written "<0.01 %" (two decimals of a percent).
SMALLEST_SHOWN = 1e-4


def percent_text(value: float | None) -> str:
    """Format a probability in [0, 1] as a percentage: "0 %", "<0.01 %", "0.528 %", "97.7 %".

    Three significant digits; two decimals from 99.95 % up, so that a probability just
    under 1 is not written "100 %"; "n/a" for None.
    """
    if value is None:
        return "n/a"
    if value == 0:
        return "0 %"
    if value < SMALLEST_SHOWN:
        return "<0.01 %"
    return f"{100 * value:.3g} %" if value < 0.9995 else f"{100 * value:.2f} %"
