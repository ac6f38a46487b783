"""Reports of a feasibility check: HTML and PDF in English or Chinese, JSON, and a CLI table.

``render_html`` builds one self-contained page (inline CSS and SVG, nothing fetched) that an
approving authority can read: executive summary, site map, per hazard the chance of exceeding
the standard with the model spread and the return-level curve, adaptation options and tipping
points, method, provenance, limitations and a sign-off block (``docs/report.md``).
``render_pdf`` prints the same HTML with WeasyPrint. The parts live in ``report_text``
(EN/ZH strings), ``report_context`` (geography), ``report_map``, ``report_figures``,
``report_template`` and ``report_pdf``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from resilience.feasibility.models import CheckResult
from resilience.feasibility.report_context import (
    ReportContext,
    default_report_context,
    site_return_levels,
)
from resilience.feasibility.report_dependencies import dependency_section
from resilience.feasibility.report_pdf import MissingFontError, render_pdf_bytes
from resilience.feasibility.report_sections import (
    advice_text,
    change,
    governing,
    hazard_sections,
    heat_standard,
    layer_names,
    layer_rows,
    option_rows,
    tipping_rows,
)
from resilience.feasibility.report_text import TEXT, check_lang, num, pct
from resilience.storage.atomic import write_bytes_atomic, write_text_atomic

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

__all__ = [
    "MissingFontError",
    "ReportContext",
    "default_report_context",
    "format_dependencies",
    "format_table",
    "format_tables",
    "render_html",
    "render_pdf",
    "site_return_levels",
    "terminal_text",
    "write_report",
]

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
_FONTS = {
    "en": '"DejaVu Sans", "Noto Sans", "Noto Sans CJK SC", system-ui, sans-serif',
    "zh": '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", '
    '"Microsoft YaHei", "PingFang SC", sans-serif',
}
_num, _pct = num, pct  # the names the CLI tests use
_DAPP = (
    "Haasnoot, Kwakkel, Walker & ter Maat (2013) Dynamic adaptive policy pathways, Global "
    "Environmental Change 23, 485-498, doi:10.1016/j.gloenvcha.2012.12.006"
)


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


def render_html(
    result: CheckResult, *, lang: str = "en", context: ReportContext | None = None
) -> str:
    """Return the report of a check as one self-contained HTML page.

    Parameters
    ----------
    result : CheckResult
        The check to render. Fields that a check did not fill (options, tipping points,
        governing hazard, spread, result hash ...) are shown as "not available".
    lang : {"en", "zh"}
        Language of every fixed phrase; engine-written text (advice, rules) is shown as
        written beside a translated lead.
    context : ReportContext, optional
        Geography for the map and return-level curves at the site. Default: the bundled
        Shanghai geography (:func:`default_report_context`); ``ReportContext()`` draws no map.

    Returns
    -------
    str
        HTML with inline CSS and SVG only: no script, no external fetch.

    Raises
    ------
    ValueError
        If ``lang`` is not one of "en", "zh".
    """
    import jinja2

    from resilience.feasibility.report_map import render_site_map
    from resilience.feasibility.report_template import TEMPLATE

    language = check_lang(lang)
    context = default_report_context() if context is None else context

    def t(key: str) -> str:
        return TEXT[key][language]

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(TEMPLATE).render(
        r=result,
        s=result.submission,
        lang=language,
        t=t,
        text=TEXT,
        num=num,
        pct=pct,
        fonts=_FONTS[language],
        synthetic_layers=layer_names(result, "yes", language),
        unknown_layers=layer_names(result, "unknown", language),
        governing=governing(result, language),
        heat=heat_standard(result, language),
        change=change(result, language),
        site_map=render_site_map(result.submission, context, language),
        map_sources=context.sources_zh
        if language == "zh" and context.sources_zh
        else context.sources,
        hazards=hazard_sections(result, language, context),
        options=option_rows(result, language),
        advice=[advice_text(a, language) for a in result.advice],
        tipping=tipping_rows(result, language),
        tipping_rule=result.tipping_points[0].rule if result.tipping_points else "",
        layers=layer_rows(result, language),
        deps=dependency_section(result, language),
        sources=[
            *result.sources,
            *([] if any("Haasnoot" in source for source in result.sources) else [_DAPP]),
        ],
    )


def render_pdf(
    result: CheckResult, *, lang: str = "en", context: ReportContext | None = None
) -> bytes:
    """Return the report of a check as PDF (WeasyPrint from :func:`render_html`).

    Parameters
    ----------
    result : CheckResult
        The check to render.
    lang : {"en", "zh"}
        Language; "zh" needs a Chinese (CJK) font installed.
    context : ReportContext, optional
        As for :func:`render_html`.

    Returns
    -------
    bytes
        A PDF document (A4, page numbers, the check id on every page).

    Raises
    ------
    ValueError
        If ``lang`` is not one of "en", "zh".
    MissingFontError
        If ``lang`` is "zh" and no CJK font is installed (install ``fonts-noto-cjk``).
    """
    language = check_lang(lang)
    return render_pdf_bytes(render_html(result, lang=language, context=context), language)


def write_report(
    result: CheckResult,
    out_dir: str | Path,
    *,
    lang: str = "en",
    context: ReportContext | None = None,
) -> dict[str, Path]:
    """Write the check's HTML, PDF and JSON atomically into ``out_dir``.

    Parameters
    ----------
    result : CheckResult
        The check to write.
    out_dir : str or Path
        Directory, created if missing.
    lang : {"en", "zh"}
        Language of the HTML and PDF; Chinese files carry a ``_zh`` suffix.
    context : ReportContext, optional
        As for :func:`render_html`.

    Returns
    -------
    dict of str to Path
        ``{"html": check_<id>.html, "pdf": check_<id>.pdf, "json": check_<id>.json}``.

    Raises
    ------
    ValueError
        If ``lang`` is not one of "en", "zh" (nothing is written).
    MissingFontError
        As for :func:`render_pdf` (the JSON and HTML are written first).
    """
    language = check_lang(lang)
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"check_{result.check_id}" + ("" if language == "en" else f"_{language}")
    paths = {
        "html": directory / f"{stem}.html",
        "pdf": directory / f"{stem}.pdf",
        "json": directory / f"check_{result.check_id}.json",
    }
    html = render_html(result, lang=language, context=context)
    write_text_atomic(paths["json"], result.model_dump_json(indent=2))
    write_text_atomic(paths["html"], html)
    write_bytes_atomic(paths["pdf"], render_pdf_bytes(html, language))
    return paths


#: Below this terminal width the check prints one narrower table per hazard.
WIDE_TABLE_COLUMNS = 112


def format_tables(result: CheckResult, width: int) -> list[Table | Text]:
    """Return the check's rows as tables that read at ``width`` columns.

    At :data:`WIDE_TABLE_COLUMNS` or more, the single table of :func:`format_table`;
    narrower, one table per hazard, titled with the hazard and its standard, whose columns
    (scenario, horizon, metric, annual p, life p, score, class) fit in 80 columns.

    Parameters
    ----------
    result : CheckResult
        The check to show.
    width : int
        The terminal's width, columns.

    Returns
    -------
    list of rich.table.Table or rich.text.Text
        Narrower than :data:`WIDE_TABLE_COLUMNS`: the project and verdict as a line of text,
        then the tables. Both widths end with the "Dependencies" section
        (:func:`resilience.feasibility.report_dependencies.format_dependencies`).
    """
    from rich.table import Table
    from rich.text import Text

    if width >= WIDE_TABLE_COLUMNS:
        return [format_table(result), *format_dependencies(result)]
    verdict = _VERDICT_LABEL[result.verdict]
    name = terminal_text(result.submission.project_name)
    tables: list[Table | Text] = []
    hazards = list(dict.fromkeys(row.hazard for row in result.rows))
    for index, hazard in enumerate(hazards):
        rows = [row for row in result.rows if row.hazard == hazard]
        standards = {f"{_num(r.standard, 2)} {r.standard_units}" for r in rows}
        title = f"{hazard}: {rows[0].metric} vs standard {', '.join(sorted(standards))}"
        if index == 0:  # the project on its own line above the first table
            # from_markup: ``name`` is escaped markup, which a plain Text would show escaped
            tables.append(Text.from_markup(f"{name}: {verdict} (score {result.overall_score})"))
        last = index == len(hazards) - 1
        caption = f"extrapolated: {terminal_text(result.extrapolation)}" if last else None
        table = Table(title=terminal_text(title), caption=caption if result.extrapolation else None)
        for header in ("scenario", "horizon", "metric", "annual p", "life p", "score", "class"):
            right = header in ("annual p", "life p", "score")
            table.add_column(header, justify="right" if right else "left")
        for row in rows:
            cells = (
                row.scenario,
                row.horizon,
                f"{_num(row.metric_value, 2)} {row.metric_units}",
                _pct(row.annual_exceedance_probability),
                _pct(row.design_life_exceedance_probability),
                "" if row.score is None else str(row.score),
                row.risk_class,
            )
            table.add_row(*(terminal_text(cell) for cell in cells))
        tables.append(table)
    return tables + format_dependencies(result)


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


def format_dependencies(result: CheckResult) -> list[Table | Text]:
    """Return the "Dependencies" section for the command line (English, plain text cells).

    Parameters
    ----------
    result : CheckResult
        The check to show.

    Returns
    -------
    list of rich.table.Table or rich.text.Text
        A line saying why it was not assessed, or the suppliers' table and the service-loss
        table (then a line on a substation's dependants and the notes).
    """
    from rich.table import Table
    from rich.text import Text

    section = dependency_section(result, "en")
    if not section["assessed"]:
        return [Text.from_markup(f"Dependencies: {terminal_text(section['not_assessed'])}")]
    out: list[Table | Text] = []
    if section["suppliers"]:
        suppliers = Table(title="Dependencies: suppliers", title_justify="left")
        for header in section["headers"]:
            suppliers.add_column(header, justify="right" if "km" in header else "left")
        for row in section["suppliers"]:
            suppliers.add_row(*(terminal_text(cell) for cell in row))
        out.append(suppliers)
    loss = Table(title=section["loss_title"], title_justify="left")
    for header in section["loss_headers"]:
        loss.add_column(header, justify="left" if header == "Scenario" else "right")
    for row in section["loss"]:
        loss.add_row(*(terminal_text(cell) for cell in row))
    out.append(loss)
    lines = (
        [section["dependants"], *section["notes"]] if section["dependants"] else section["notes"]
    )
    out += [Text.from_markup(f"  {terminal_text(line)}") for line in lines]
    return out
