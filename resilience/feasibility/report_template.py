"""The Jinja template of the feasibility report (HTML for browsers and for WeasyPrint's PDF).

Kept in a module, not a package-data file, so that the report renders from an installed
wheel. Every fixed phrase goes through ``t(key)`` (``report_text.TEXT``); every value the
template prints is escaped (``autoescape``) except the SVG that ``report_map`` and
``report_figures`` build from numbers and escaped labels (marked ``|safe``).
"""

from __future__ import annotations

__all__ = ["STYLE", "TEMPLATE"]

STYLE = """
@page{size:A4;margin:16mm 14mm 18mm 14mm;
 @bottom-left{content:"{{ t('check_id') }} {{ r.check_id }}";font-size:8pt;color:#57606a;
  font-family:{{ fonts|safe }}}
 @bottom-right{content:counter(page) " / " counter(pages);font-size:8pt;color:#57606a;
  font-family:{{ fonts|safe }}}}
body{font-family:{{ fonts|safe }};margin:2em auto;max-width:62em;color:#1f2328;line-height:1.4;
 font-size:11pt}
@media print{body{margin:0;max-width:none;font-size:9.5pt}}
h1{font-size:1.6em;margin-bottom:.1em}h2{border-bottom:2px solid #d0d7de;margin-top:1.4em}
.subtitle{color:#57606a;margin-top:0}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #bbb;padding:.2em .45em;vertical-align:top}
th{background:#f0f2f4;text-align:left}td.num{text-align:right;white-space:nowrap}
.verdict{font-size:1.5em;font-weight:bold;margin:.3em 0}
.feasible{color:#1a7f37}.feasible_with_adaptation{color:#9a6700}.not_feasible{color:#cf222e}
.caveat{background:#fff3cd;border:1px solid #e0c060;padding:.4em .8em}
.c-low{background:#dafbe1}.c-medium{background:#fff8c5}.c-high{background:#ffd8b5}
.c-very-high{background:#ffc1c0}.band{font-size:.8em;color:#57606a}.muted{color:#57606a;font-size:.9em}
svg.map,svg.figure{max-width:100%;height:auto;display:block;margin:.4em 0}
figure{margin:.6em 0;break-inside:avoid}figcaption{font-size:.85em;color:#57606a}
section.hazard{break-before:page}
.sign td{height:2.6em;min-width:9em}code{font-size:.85em;word-break:break-all}
"""

TEMPLATE = (
    """<!DOCTYPE html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}"><head><meta charset="utf-8">
<title>{{ t('title') }}: {{ s.project_name }}</title>
<style>"""
    + STYLE
    + """</style></head><body>
<h1>{{ t('title') }}: {{ s.project_name }}</h1>
<p class="subtitle">{{ t('subtitle') }}</p>
{% if r.synthetic_data %}<p class="caveat" id="synthetic">
<strong>{{ t('synthetic_title') }}</strong>
{{ t('synthetic').format(layers=synthetic_layers) }}</p>{% endif %}
{% if unknown_layers %}<p class="caveat"><strong>{{ t('unknown_title') }}</strong>
{{ t('unknown').format(layers=unknown_layers) }}</p>{% endif %}

<section id="summary"><h2>{{ t('summary') }}</h2>
<p class="verdict {{ r.verdict }}">{{ t('verdict') }}: {{ t(r.verdict) }}</p>
<table>
<tr><th>{{ t('governing') }}</th><td id="governing">{{ governing }}</td></tr>
<tr><th>{{ t('change') }}</th><td id="change">{{ change }}</td></tr>
</table>
<p>{{ t('score_line').format(score=r.overall_score if r.overall_score is not none else "n/a",
 cls=t(r.overall_class) if r.overall_class in text else r.overall_class,
 target=pct(r.target_probability)) }}</p>
{% if r.extrapolation %}<p class="caveat" id="extrapolation"><strong>{{ t('extrapolated_title')
}}</strong> {{ t('extrapolated') }} {{ r.extrapolation }}.</p>{% endif %}
</section>

<section id="project"><h2>{{ t('submission') }}</h2>
<table>
<tr><th>{{ t('project') }}</th><td>{{ s.project_name }}</td></tr>
<tr><th>{{ t('asset_type') }}</th><td>{{ s.asset_type }}</td></tr>
<tr><th>{{ t('site') }}</th>
<td>{{ "%.4f"|format(s.lon) }}° E, {{ "%.4f"|format(s.lat) }}° N</td></tr>
<tr><th>{{ t('design_life') }}</th><td>{{ t('life_value').format(years=s.design_life_years,
 start=s.start_year) }}</td></tr>
<tr><th>{{ t('criticality') }}</th><td>{{ s.criticality }}</td></tr>
<tr><th>{{ t('ground') }}</th><td>{% if s.ground_elevation_m is none %}{{ t('not_given') }}
{% else %}{{ num(s.ground_elevation_m, 2) }} {{ t('wusong') }}{% endif %}</td></tr>
<tr><th>{{ t('heat_std') }}</th><td>{{ heat[1] }} ({{ heat[0] }})</td></tr>
<tr><th>{{ t('rain_std') }}</th><td>{{ t('storm').format(t=num(s.drainage_return_period_years, 0))
}}</td></tr>
<tr><th>{{ t('surge_std') }}</th><td>{% if s.protection_level_m is none %}{{ t('not_given') }}
{% else %}{{ num(s.protection_level_m, 2) }} {{ t('wusong') }}{% endif %}</td></tr>
</table>
</section>

<section id="map"><h2>{{ t('map') }}</h2>
{% if site_map %}<figure>{{ site_map|safe }}<figcaption>{{ t('map_caption') }}
{% for source in map_sources %}<br>{{ source }}{% endfor %}</figcaption></figure>
{% else %}<p class="caveat">{{ t('map_none') }}</p>{% endif %}
</section>

{% for h in hazards %}
<section class="hazard" id="hazard-{{ h.name }}"><h2>{{ t('hazard') }}: {{ t(h.name) }}</h2>
{% if h.not_checked %}<p class="caveat">{{ t('not_checked') }} {{ h.not_checked }}</p>{% endif %}
<p>{{ t('metric') }}: <strong>{{ h.metric }}</strong>, {{ h.units }}.
{% if h.basis %}{{ t('basis') }} {{ h.basis }}{% endif %}</p>
<table><tr><th>{{ t('scenario') }}</th><th>{{ t('horizon') }}</th>
<th>{{ t('value').replace('10-90 %', h.spread) }}</th><th>{{ t('standard') }}</th>
<th>{{ t('annual_p').replace('10-90 %', h.spread) }}</th>
<th>{{ t('life_p').replace('10-90 %', h.spread) }}</th>
{% if h.depth %}<th>{{ t('depth') }}</th>{% endif %}
<th>L</th><th>C</th><th>{{ t('score') }}</th><th>{{ t('class') }}</th></tr>
{% for row in h.rows %}<tr><td>{{ row.scenario }}</td><td>{{ row.horizon }}</td>
{% for cell in (row.value, row.standard, row.annual, row.life) %}<td class="num">{{ cell[0] }}
{% if cell[1] %}<br><span class="band">{{ cell[1] }}</span>{% endif %}</td>{% endfor %}
{% if h.depth %}<td class="num">{{ row.depth }}</td>{% endif %}
<td class="num">{{ row.l }}</td><td class="num">{{ row.c }}</td><td class="num">{{ row.score }}</td>
<td class="c-{{ row.risk_class|replace(' ', '-') }}">{{ row.class_label }}</td></tr>
{% endfor %}</table>
{% if h.probability_svg %}<figure>{{ h.probability_svg|safe }}
<figcaption>{{ t('prob_fig').replace('10-90 %', h.spread) }}
{% for line in h.life_lines %}<br>{{ line }}{% endfor %}
</figcaption></figure>{% endif %}
{% if h.return_svg %}<figure>{{ h.return_svg|safe }}<figcaption>{{ t('rl_fig') }}
{% if h.return_source == 'rows' %}{{ t('rl_fig_rows') }}
{%- elif h.return_source == 'gev' %}{{ t('rl_fig_gev') }}
{%- else %}{{ h.curve_where }}{% endif %}
</figcaption></figure>{% else %}<p class="muted">{{ t('rl_none') }}</p>{% endif %}
</section>
{% endfor %}

<section id="lc"><h2>{{ t('lc_title') }}</h2><p>{{ t('lc_text') }}</p></section>

<section id="adaptation"><h2>{{ t('adaptation') }}</h2>
{% if options %}<table><tr><th>{{ t('hazard') }}</th><th>{{ t('action') }}</th>
<th>{{ t('verdict_with') }}</th><th>{{ t('worst_p') }}</th></tr>
{% for o in options %}<tr><td>{{ o.hazard }}</td><td>{{ o.action }}</td>
<td class="{{ o.verdict }}">{{ o.verdict_label }}</td><td class="num">{{ o.p }}</td></tr>
{% endfor %}</table>{% else %}<p class="muted">{{ t('options_none') }}</p>{% endif %}
{% if advice %}<h3>{{ t('advice') }}</h3><ul>{% for a in advice %}<li>{{ a }}</li>{% endfor %}
</ul>{% endif %}
<h3>{{ t('tipping') }}</h3><p>{{ t('tipping_text') }}</p>
{% if tipping %}<table><tr><th>{{ t('hazard') }}</th><th>{{ t('scenario') }}</th>
<th>{{ t('standard') }}</th><th>{{ t('tp_year') }}</th><th>{{ t('status') }}</th></tr>
{% for p in tipping %}<tr><td>{{ p.hazard }}</td><td>{{ p.scenario }}</td>
<td class="num">{{ p.standard }}</td><td class="num">{{ p.year }}</td><td>{{ p.status }}</td></tr>
{% endfor %}</table>{% if tipping_rule %}<p class="muted">{{ tipping_rule }}</p>{% endif %}
{% else %}<p class="muted">{{ t('tipping_none') }}</p>{% endif %}
</section>

<section id="dependencies"><h2>{{ deps.title }}</h2>
{% if deps.assessed %}<p>{{ deps.lead }}</p>
{% if deps.suppliers %}<table><tr>{% for h in deps.headers %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in deps.suppliers %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>{% endif %}
<h3>{{ deps.loss_title }}</h3><table><tr>{% for h in deps.loss_headers %}<th>{{ h }}</th>
{% endfor %}</tr>{% for row in deps.loss %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% if deps.dependants %}<p>{{ deps.dependants }}</p>{% endif %}
{% for n in deps.notes %}<p class="muted">{{ n }}</p>{% endfor %}
<p class="muted">{{ deps.source }}. {{ deps.rule }}</p>
{% else %}<p class="caveat">{{ deps.not_assessed }}</p>{% endif %}
</section>

<section id="method"><h2>{{ t('method') }}</h2>
<p>{{ t('method_text') }}</p>
<p>{{ t('verdict_rule') }}: {{ t('verdict_rule_text') or r.verdict_rule }}</p>
<h3>{{ t('sources') }}</h3>
<ul>{% for source in sources %}<li>{{ source }}</li>{% endfor %}</ul>
</section>

<section id="provenance"><h2>{{ t('provenance') }}</h2>
<table><tr><th>{{ t('layer') }}</th><th>{{ t('version') }}</th><th>{{ t('sha') }}</th>
<th>{{ t('synthetic_col') }}</th><th>{{ t('code') }}</th></tr>
{% for layer in layers %}<tr><td>{{ layer.hazard }}</td><td>{{ layer.version }}</td>
<td><code>{{ layer.sha }}</code></td><td>{{ layer.synthetic }}</td><td>{{ layer.code }}</td></tr>
{% endfor %}</table>
<p>{{ t('code_version') }}: {{ r.code_version or t('not_available') }}.
{% if r.domain %}{{ t('domain') }}: {{ "%.3f"|format(r.domain.lon_min) }}-{{
 "%.3f"|format(r.domain.lon_max) }}° E, {{ "%.3f"|format(r.domain.lat_min) }}-{{
 "%.3f"|format(r.domain.lat_max) }}° N ({{ r.domain.layers|join(", ") }}).{% endif %}</p>
{% if r.parameters %}<p>{{ t('parameters') }}: {% for k, v in r.parameters.items() %}{{ k }} = {{ v
}}{{ "; " if not loop.last }}{% endfor %}.</p>{% endif %}
</section>

<section id="limitations"><h2>{{ t('limitations') }}</h2>
<ul>{% for line in t('limits').split('|') %}<li>{{ line }}</li>{% endfor %}</ul>
</section>

<section id="signoff"><h2>{{ t('signoff') }}</h2>
<table class="sign"><tr><th>{{ t('role') }}</th><th>{{ t('name') }}</th>
<th>{{ t('signature') }}</th><th>{{ t('date') }}</th></tr>
{% for role in ('prepared', 'reviewed', 'approved') %}<tr><th>{{ t(role) }}</th><td></td><td></td>
<td></td></tr>{% endfor %}</table>
<p class="muted">{{ t('check_id') }} <code>{{ r.check_id }}</code> · {{ t('created') }}
{{ r.created.strftime('%Y-%m-%d %H:%M UTC') }} · {{ t('result_hash') }}
<code id="result-hash">{{ r.result_hash or t('not_available') }}</code></p>
</section>
</body></html>
"""
)
