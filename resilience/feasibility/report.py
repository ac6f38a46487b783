"""Reports of a feasibility check: self-contained HTML, JSON, and a rich table for the CLI.

The HTML template is kept in this module (not a separate file) so that the report renders
from an installed wheel without extra package data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from resilience.feasibility.models import CheckResult
from resilience.storage.atomic import write_text_atomic

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["format_table", "render_html", "terminal_text", "write_report"]

_VERDICT_LABEL = {
    "feasible": "Feasible",
    "feasible_with_adaptation": "Feasible with adaptation",
    "not_feasible": "Not feasible",
}
#: ANSI escape sequences (ECMA-48): CSI ``ESC [ ... final``, OSC/DCS/PM/APC strings ended by
#: BEL or ``ESC \\``, and two-byte ``ESC x`` sequences; removed whole from terminal text.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]P^_X][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -~]?"
)
#: Other C0 controls (NUL, BEL, CR, LF, TAB ...), DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Climate feasibility check: {{ s.project_name }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:.25em .5em}
th{background:#eee}td.num{text-align:right}.verdict{font-size:1.4em;font-weight:bold}
.feasible{color:#1a7f37}.feasible_with_adaptation{color:#9a6700}.not_feasible{color:#cf222e}
.caveat{background:#fff3cd;border:1px solid #e0c060;padding:.5em 1em}
.c-low{background:#dafbe1}.c-medium{background:#fff8c5}.c-high{background:#ffd8b5}
.c-very-high{background:#ffc1c0}
</style></head><body>
<h1>Climate feasibility check: {{ s.project_name }}</h1>
{% if r.synthetic_data %}<p class="caveat"><strong>Synthetic data.</strong> The hazard layers
used here ({% for h, i in r.layer_inputs.items() if i.synthetic == "yes" -%}
{{ h }}{{ ", " if not loop.last }}{% endfor %})
were built from synthetic demonstration data, not climate projections or observations: do not
use these numbers for design.</p>{% endif %}
{% set unknown = r.layer_inputs.values() | selectattr("synthetic", "equalto", "unknown") | list %}
{% if unknown %}<p class="caveat"><strong>Provenance unknown.</strong> Some hazard layers
({% for h, i in r.layer_inputs.items() if i.synthetic == "unknown" -%}
{{ h }}{{ ", " if not loop.last }}{% endfor %})
do not record whether their inputs were synthetic.</p>{% endif %}
<p class="verdict {{ r.verdict }}">Verdict: {{ verdict_label }}</p>
<p>Overall score {{ r.overall_score if r.overall_score is not none else "n/a" }} / 25
({{ r.overall_class }}); target: at most {{ pct(r.target_probability) }} chance of exceeding a
design standard over the design life.</p>
{% if r.extrapolation %}<p class="caveat"><strong>Extrapolated.</strong>
{{ r.extrapolation }}.</p>{% endif %}
<h2>Submission</h2>
<table>
<tr><th>Asset type</th><td>{{ s.asset_type }}</td></tr>
<tr><th>Site</th><td>{{ "%.4f"|format(s.lon) }} E, {{ "%.4f"|format(s.lat) }} N</td></tr>
<tr><th>Design life</th><td>{{ s.design_life_years }} years from {{ s.start_year }}</td></tr>
<tr><th>Ground elevation</th><td>{{ num(s.ground_elevation_m, 2) }} m (Wusong)</td></tr>
<tr><th>Heat threshold</th><td>{{ num(s.heat_threshold_degc, 1) }} degC</td></tr>
<tr><th>Drainage standard</th><td>{{ num(s.drainage_return_period_years, 0) }}-yr storm</td></tr>
<tr><th>Protection level</th><td>{{ num(s.protection_level_m, 2) }} m (Wusong)</td></tr>
</table>
{% for hazard, rows in by_hazard %}
<h2>Hazard: {{ hazard }}</h2>
{% if hazard in r.not_checked %}<p class="caveat">{{ r.not_checked[hazard] }}</p>{% endif %}
<table><tr><th>Scenario</th><th>Horizon</th><th>Metric</th><th>Value</th><th>Standard</th>
<th>Annual p</th><th>Design-life p</th><th>L</th><th>C</th><th>Score</th><th>Class</th></tr>
{% for row in rows %}<tr><td>{{ row.scenario }}</td><td>{{ row.horizon }}</td>
<td>{{ row.metric }}</td><td class="num">{{ num(row.metric_value, 2) }} {{ row.metric_units }}</td>
<td class="num">{{ num(row.standard, 2) }} {{ row.standard_units }}</td>
<td class="num">{{ pct(row.annual_exceedance_probability) }}</td>
<td class="num">{{ pct(row.design_life_exceedance_probability) }}</td>
<td class="num">{{ row.likelihood or "" }}</td><td class="num">{{ row.consequence or "" }}</td>
<td class="num">{{ row.score or "" }}</td>
<td class="c-{{ row.risk_class|replace(' ', '-') }}">{{ row.risk_class }}</td></tr>
{% endfor %}</table>
{% endfor %}
<h2>Adaptation advice</h2>
{% if r.advice %}<ul>{% for a in r.advice %}<li><strong>{{ a.hazard }}</strong>
({{ a.worst_scenario }}, design-life probability {{ pct(a.design_life_exceedance_probability) }}):
{{ a.message }}</li>{% endfor %}</ul>
{% else %}<p>None needed: every checked standard meets the target.</p>{% endif %}
<h2>Method and sources</h2>
<p>{{ r.method }}</p><p>Verdict rule: {{ r.verdict_rule }}.</p>
<ul>{% for source in r.sources %}<li>{{ source }}</li>{% endfor %}</ul>
<p>Layer versions: {% for h, v in r.layer_versions.items() %}{{ h }} {{ v }}
{{- "; " if not loop.last }}{% endfor %}.</p>
<table><tr><th>layer</th><th>inputs sha256</th><th>synthetic input</th><th>code</th></tr>
{% for h, i in r.layer_inputs.items() %}<tr><td>{{ h }}</td>
<td><code>{{ i.inputs_sha256 }}</code></td><td>{{ i.synthetic }}</td>
<td>{{ i.code_version }}</td></tr>
{% endfor %}</table>
<p>
Check {{ r.check_id }}, created {{ r.created.isoformat() }}.</p>
</body></html>
"""


def _num(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


#: Probabilities below this (0.01 %) print as "<0.01 %", never in exponent notation.
_SMALLEST_SHOWN = 1e-4


def _pct(value: float | None) -> str:
    """Format a probability in [0, 1] as a percentage: "0 %", "<0.01 %", "0.528 %", "97.7 %"."""
    if value is None:
        return "n/a"
    if value == 0:
        return "0 %"
    if value < _SMALLEST_SHOWN:
        return "<0.01 %"
    return f"{100 * value:.3g} %" if value < 0.9995 else f"{100 * value:.2f} %"


def terminal_text(text: object) -> str:
    """Return ``text`` as plain text for a rich console: no markup, no control characters.

    Parameters
    ----------
    text : object
        Any value that may carry user- or data-supplied text (a project name, a layer's
        scenario label, an error message quoting input); converted with ``str``.

    Returns
    -------
    str
        ANSI escape sequences removed, every other control character (C0, DEL, C1, so NUL,
        carriage return and newline too) replaced by U+FFFD, and rich markup escaped
        (``rich.markup.escape``), so that ``[/bold]`` prints as itself instead of raising
        ``MarkupError`` and no input can move the cursor or recolour the terminal.
    """
    from rich.markup import escape

    cleaned = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", _ANSI.sub("", str(text)))
    return escape(cleaned)


def render_html(result: CheckResult) -> str:
    """Return a self-contained HTML report of a check.

    Parameters
    ----------
    result : CheckResult
        The check to render.

    Returns
    -------
    str
        One HTML page (inline CSS, no external resources): verdict, one table per hazard of
        scenario x horizon rows, adaptation advice, method and sources, and the
        synthetic-data caveat when the layers say so.
    """
    import jinja2

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    hazards = dict.fromkeys(row.hazard for row in result.rows)
    by_hazard = [(h, [row for row in result.rows if row.hazard == h]) for h in hazards]
    return environment.from_string(_TEMPLATE).render(
        r=result,
        s=result.submission,
        by_hazard=by_hazard,
        num=_num,
        pct=_pct,
        verdict_label=_VERDICT_LABEL[result.verdict],
    )


def write_report(result: CheckResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``check_<id>.html`` and ``check_<id>.json`` atomically into ``out_dir``.

    Parameters
    ----------
    result : CheckResult
        The check to write.
    out_dir : str or Path
        Directory, created if missing.

    Returns
    -------
    dict of str to Path
        ``{"html": ..., "json": ...}``.
    """
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": directory / f"check_{result.check_id}.html",
        "json": directory / f"check_{result.check_id}.json",
    }
    write_text_atomic(paths["json"], result.model_dump_json(indent=2))
    write_text_atomic(paths["html"], render_html(result))
    return paths


def format_table(result: CheckResult) -> Table:
    """Return a rich table of the rows of a check, for the command line.

    Every text cell and the title go through :func:`terminal_text`: names and labels are
    printed as plain text, never as rich markup or terminal control sequences.

    Parameters
    ----------
    result : CheckResult
        The check to show.

    Returns
    -------
    rich.table.Table
        Title (project name, verdict, score), one line per hazard x scenario x horizon, and
        a caption saying how probabilities were extrapolated when the design life runs past
        the last horizon.
    """
    from rich.table import Table

    verdict = _VERDICT_LABEL[result.verdict]
    name = terminal_text(result.submission.project_name)
    caption = None
    if result.extrapolation:
        caption = f"extrapolated: {terminal_text(result.extrapolation)}"
    table = Table(title=f"{name}: {verdict} (score {result.overall_score})", caption=caption)
    for header in (
        "hazard",
        "scenario",
        "horizon",
        "metric",
        "standard",
        "annual p",
        "design-life p",
        "score",
        "class",
    ):
        table.add_column(header, justify="right" if " p" in header or header == "score" else "left")
    for row in result.rows:
        cells = (
            row.hazard,
            row.scenario,
            row.horizon,
            f"{_num(row.metric_value, 2)} {row.metric_units}",
            f"{_num(row.standard, 2)} {row.standard_units}",
            _pct(row.annual_exceedance_probability),
            _pct(row.design_life_exceedance_probability),
            "" if row.score is None else str(row.score),
            row.risk_class,
        )
        table.add_row(*(terminal_text(cell) for cell in cells))
    return table
