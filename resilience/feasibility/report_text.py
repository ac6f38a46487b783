"""Fixed text of the feasibility report in English and Chinese, and plain-language names.

Every label, heading and explanation the report prints comes from :data:`TEXT` (one key per
phrase, ``{"en": ..., "zh": ...}``), so a translation is one edit here and a missing key
fails the test that renders both languages. The Chinese follows the vocabulary of
气候可行性论证 (climate feasibility demonstration, CMA 2019 管理办法): 设计使用年限,
超越概率, 重现期, 适应措施, 适应临界点. Text that the engine writes into a
:class:`~resilience.feasibility.models.CheckResult` (advice messages, the extrapolation rule,
``not_checked`` reasons) is data, shown as written beside a translated lead sentence.
"""

from __future__ import annotations

import re
from typing import Literal

from resilience.probability_text import percent_text

__all__ = [
    "LANGS",
    "TEXT",
    "Lang",
    "check_lang",
    "horizon_label",
    "metric_label",
    "num",
    "pct",
    "scenario_label",
    "units_label",
]

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Climate feasibility assessment", "zh": "气候可行性论证报告"},
    "subtitle": {
        "en": "Screening of design standards against projected climate hazards",
        "zh": "设计标准对未来气候灾害的适应性筛查",
    },
    "verdict": {"en": "Verdict", "zh": "论证结论"},
    "feasible": {"en": "Feasible", "zh": "可行"},
    "feasible_with_adaptation": {"en": "Feasible with adaptation", "zh": "采取适应措施后可行"},
    "not_feasible": {"en": "Not feasible", "zh": "不可行"},
    "summary": {"en": "Executive summary", "zh": "摘要"},
    "governing": {"en": "Governing hazard", "zh": "控制性灾害"},
    "change": {"en": "The one number to change", "zh": "需调整的关键指标"},
    "no_change": {
        "en": "None: every checked standard meets its target.",
        "zh": "无：所有已检验的设计标准均满足目标。",
    },
    "not_available": {"en": "not available", "zh": "暂无"},
    "not_given": {"en": "not given", "zh": "未提供"},
    "score_line": {
        "en": "Overall score {score} / 25 ({cls}). Target: at most {target} chance of exceeding "
        "a design standard at least once over the design life.",
        "zh": "综合风险评分 {score} / 25（{cls}）。目标：设计使用年限内设计标准至少被超越一次的"
        "概率不超过 {target}。",
    },
    "synthetic_title": {"en": "Synthetic data.", "zh": "合成数据。"},
    "synthetic": {
        "en": "The hazard layers used here ({layers}) were built from synthetic demonstration "
        "data, not climate projections or observations: do not use these numbers for design.",
        "zh": "本报告所用灾害图层（{layers}）由合成演示数据生成，并非气候预估或观测数据："
        "不得将这些数值用于设计。",
    },
    "unknown_title": {"en": "Provenance unknown.", "zh": "数据来源不明。"},
    "unknown": {
        "en": "Some hazard layers ({layers}) do not record whether their inputs were synthetic.",
        "zh": "部分灾害图层（{layers}）未记录其输入是否为合成数据。",
    },
    "extrapolated_title": {"en": "Extrapolated.", "zh": "外推。"},
    "extrapolated": {
        "en": "The design life runs past the last projection horizon; the rule used:",
        "zh": "设计使用年限超出最后一个预估时段，之后各年的年超越概率保持为最后时段的值。"
        "所用规则（原文）：",
    },
    "submission": {"en": "Project", "zh": "项目概况"},
    "project": {"en": "Project", "zh": "项目名称"},
    "asset_type": {"en": "Asset type", "zh": "工程类型"},
    "site": {"en": "Site", "zh": "场址"},
    "design_life": {"en": "Design life", "zh": "设计使用年限"},
    "life_value": {"en": "{years} years from {start}", "zh": "自 {start} 年起 {years} 年"},
    "ground": {"en": "Ground elevation", "zh": "场地地面高程"},
    "criticality": {"en": "Criticality (1-5)", "zh": "重要性等级（1-5）"},
    "heat_std": {"en": "Heat design standard", "zh": "高温设计标准"},
    "rain_std": {"en": "Drainage standard", "zh": "排水设计标准"},
    "surge_std": {"en": "Flood protection level", "zh": "防洪（潮）设防高程"},
    "storm": {"en": "{t}-year storm", "zh": "{t} 年一遇暴雨"},
    "wusong": {"en": "m (Wusong datum)", "zh": "米（吴淞基面）"},
    "map": {"en": "Site map", "zh": "场址位置图"},
    "map_caption": {
        "en": "Left: Shanghai's districts and the site. Right: the site's surroundings with "
        "the nearest inventory assets. Coast: the sea edge of the bundled DEM (seawall "
        "alignment not surveyed); tide gauges with their design high-water levels.",
        "zh": "左图：上海市各区及场址位置。右图：场址周边及最近的资产清单设施。海岸线：内置"
        "数字高程模型的海陆边界（海塘走向未经测量）；潮位站及其设计高潮位。",
    },
    "map_none": {
        "en": "Site map not available: no geography was given to the report.",
        "zh": "场址位置图暂无：未提供地理数据。",
    },
    "legend_site": {"en": "site", "zh": "场址"},
    "legend_assets": {"en": "inventory assets", "zh": "资产清单设施"},
    "legend_gauge": {"en": "tide gauge (design level)", "zh": "潮位站（设计潮位）"},
    "legend_coast": {"en": "coast / seawall line", "zh": "海岸线／海塘"},
    "north": {"en": "N", "zh": "北"},
    "hazard": {"en": "Hazard", "zh": "灾害"},
    "heat": {"en": "Extreme heat", "zh": "高温"},
    "rain": {"en": "Extreme rainfall", "zh": "强降水"},
    "surge": {"en": "Storm surge and coastal flooding", "zh": "风暴潮与沿海洪水"},
    "combined": {"en": "All advised changes together", "zh": "全部建议措施同时采用"},
    "hot_days_metric": {
        "en": "days per year with a daily maximum of {t} °C or more",
        "zh": "日最高气温 ≥ {t} °C 的年日数",
    },
    "heat_kind": {"en": "Heat standard type", "zh": "高温标准类型"},
    "equipment": {
        "en": "equipment design temperature vs the annual hottest day",
        "zh": "设备设计温度（对比年最高气温）",
    },
    "hot_days": {"en": "hot days per year", "zh": "年高温日数"},
    "heat_days_std": {"en": "Hot-day standard", "zh": "高温日数标准"},
    "not_checked": {"en": "Not checked:", "zh": "未检验："},
    "basis": {"en": "What the standard means:", "zh": "标准含义："},
    "scenario": {"en": "Scenario", "zh": "情景"},
    "horizon": {"en": "Period", "zh": "时段"},
    "metric": {"en": "Climate metric", "zh": "气候指标"},
    "value": {"en": "Value (10-90 %)", "zh": "数值（10-90 %）"},
    "standard": {"en": "Standard", "zh": "设计标准"},
    "annual_p": {"en": "Annual chance (10-90 %)", "zh": "年超越概率（10-90 %）"},
    "life_p": {"en": "Design-life chance (10-90 %)", "zh": "设计年限内超越概率（10-90 %）"},
    "depth": {"en": "Flood depth", "zh": "淹没深度"},
    "score": {"en": "Score", "zh": "评分"},
    "class": {"en": "Class", "zh": "等级"},
    "low": {"en": "low", "zh": "低"},
    "medium": {"en": "medium", "zh": "中"},
    "high": {"en": "high", "zh": "高"},
    "very high": {"en": "very high", "zh": "极高"},
    "lc_title": {"en": "How to read L, C and the score", "zh": "L、C 与评分说明"},
    "lc_text": {
        "en": "L (likelihood, 1-5) grades the design-life chance of exceeding the standard in "
        "the bands of the UK National Risk Register: 1 below 0.2 %, 2 from 0.2 %, 3 from 1 %, "
        "4 from 5 %, 5 from 25 % (an edge value belongs to the higher band). C (consequence, "
        "1-5) is the project's criticality, one level higher for asset types highly sensitive "
        "to the hazard and one lower for low sensitivity (EU climate-proofing notice "
        "2021/C 373/01). Score = L x C (1-25): low up to 4, medium 5-9, high 10-16, very high "
        "17 and above.",
        "zh": "L（可能性，1-5）按英国国家风险登记册的分档对设计使用年限内超越设计标准的概率分级："
        "低于 0.2 % 为 1，0.2 % 起为 2，1 % 起为 3，5 % 起为 4，25 % 起为 5（边界值归入较高一档）。"
        "C（后果，1-5）为项目重要性等级，对该灾害高度敏感的工程类型升一级，低敏感的降一级"
        "（欧盟气候韧性评估指南 2021/C 373/01）。评分 = L × C（1-25）：4 及以下为低，5-9 为中，"
        "10-16 为高，17 及以上为极高。",
    },
    "prob_fig": {
        "en": "Left: annual chance that the standard is exceeded, by scenario (line: model "
        "median; band: 10-90 % of the models); dashed: the annual chance that meets the target "
        "over the design life (shaded). Right: the chance of at least one exceedance over the "
        "design life per scenario (whiskers: 10-90 %); dashed: the target.",
        "zh": "左图：各情景下设计标准的年超越概率（实线：模式中位数；色带：10-90 % 模式范围）；"
        "虚线：满足设计年限目标的年超越概率；阴影：设计使用年限。右图：各情景设计使用年限内至少"
        "超越一次的概率（误差线：10-90 %）；虚线：目标。",
    },
    "rl_fig": {
        "en": "Return-level curve at the site with the standard marked.",
        "zh": "场址重现期-重现水平曲线及设计标准。",
    },
    "rl_fig_gev": {
        "en": "Curves of the site's pooled GEV behind the check's probabilities (baseline and "
        "each scenario's last horizon); bands: the model spread (location shifted to the "
        "ensemble quantiles).",
        "zh": "场址汇集 GEV 分布的重现水平曲线，即论证中超越概率所依据的分布"
        "（基准期及各情景最后时段）；"
        "阴影为模式离散范围（位置参数平移至集合分位数）。",
    },
    "rl_fig_rows": {
        "en": "Curve through the two points the check reports (the metric's return level and "
        "the standard's return period) on a Gumbel scale: an approximation of the layer's GEV.",
        "zh": "由论证给出的两个点（指标重现水平与设计标准对应重现期）在耿贝尔尺度上连成的曲线，"
        "为灾害图层 GEV 分布的近似。",
    },
    "rl_none": {
        "en": "Return-level curve not available for this hazard.",
        "zh": "该灾害的重现水平曲线暂无。",
    },
    "life_p_line": {
        "en": "{scenario}: design-life chance {p} ({lo} to {hi})",
        "zh": "{scenario}：设计年限内超越概率 {p}（{lo} 至 {hi}）",
    },
    "life_p_line_only": {
        "en": "{scenario}: design-life chance {p} (model spread not available)",
        "zh": "{scenario}：设计年限内超越概率 {p}（模式离散度暂无）",
    },
    "life_chance_short": {"en": "Design-life chance", "zh": "设计年限内超越概率"},
    "return_period": {"en": "Return period (years)", "zh": "重现期（年）"},
    "year": {"en": "Year", "zh": "年份"},
    "annual_chance": {"en": "Annual chance", "zh": "年超越概率"},
    "target_line": {"en": "target (annual)", "zh": "目标（年）"},
    "design_life_span": {"en": "design life", "zh": "设计使用年限"},
    "adaptation": {"en": "Adaptation options", "zh": "适应措施"},
    "action": {"en": "Change", "zh": "措施"},
    "verdict_with": {"en": "Verdict with it", "zh": "采取后结论"},
    "worst_p": {
        "en": "Design-life chance (worst scenario)",
        "zh": "设计年限内超越概率（最不利情景）",
    },
    "advice": {"en": "Advice", "zh": "建议"},
    "options_none": {
        "en": "Options not available for this check.",
        "zh": "本次论证暂无适应措施比选结果。",
    },
    "tipping": {"en": "Adaptation tipping points", "zh": "适应临界点"},
    "tipping_text": {
        "en": "The year from which each standard no longer meets its target, per scenario "
        "(Dynamic Adaptive Policy Pathways, Haasnoot et al. 2013).",
        "zh": "各情景下设计标准开始不再满足目标的年份（动态适应性政策路径，Haasnoot 等 2013）。",
    },
    "tipping_none": {
        "en": "Tipping points not available for this check.",
        "zh": "本次论证暂无适应临界点结果。",
    },
    "tp_year": {"en": "Tipping year", "zh": "临界年份"},
    "status": {"en": "Status", "zh": "状态"},
    "before_start": {"en": "already before the start", "zh": "投入使用前已达到"},
    "within_life": {"en": "within the design life", "zh": "设计使用年限内"},
    "after_life": {"en": "after the design life", "zh": "设计使用年限后"},
    "not_reached": {"en": "not reached by 2100", "zh": "2100 年前未达到"},
    "method": {"en": "Method", "zh": "论证方法"},
    "method_text": {
        "en": "The site is overlaid on each published hazard layer (nearest grid cell, nearest "
        "tide gauge). For each scenario and period the annual chance that the design standard "
        "is exceeded comes from the layer's generalised extreme value (GEV) fit; annual chances "
        "are interpolated between period mid-years over the design life, and "
        "P = 1 - prod(1 - p_t) is the chance of at least one exceedance (Coles 2001). "
        "Likelihood x consequence gives the score; advice inverts P to find the standard that "
        "meets the target in the worst scenario.",
        "zh": "将场址叠加到已发布的各灾害图层上（最近网格点、最近潮位站）。各情景、各时段的年超越"
        "概率由图层的广义极值（GEV）分布拟合给出；在设计使用年限内按时段中点年份线性插值，"
        "P = 1 - ∏(1 - p_t) 为至少超越一次的概率（Coles 2001）。可能性 × 后果得到风险评分；"
        "适应建议通过反算 P，求出最不利情景下满足目标的设计标准。",
    },
    "verdict_rule": {
        "en": "Verdict rule",
        "zh": "结论判定规则",
    },
    "verdict_rule_text": {
        "en": "",
        "zh": "任一已检验灾害在与设计使用年限重叠的时段、任一情景下评分达到极高（≥ 17）为不可行；"
        "否则，任一设计年限超越概率高于该灾害目标为采取适应措施后可行；否则为可行（项目规则）。",
    },
    "sources": {"en": "Sources", "zh": "参考文献"},
    "provenance": {"en": "Data provenance", "zh": "数据来源"},
    "layer": {"en": "Layer", "zh": "图层"},
    "version": {"en": "Version", "zh": "版本"},
    "sha": {"en": "Inputs sha256", "zh": "输入 sha256"},
    "synthetic_col": {"en": "Synthetic input", "zh": "合成输入"},
    "code": {"en": "Code", "zh": "代码版本"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "unknown_value": {"en": "unknown", "zh": "不明"},
    "parameters": {"en": "Parameters", "zh": "参数"},
    "domain": {"en": "Layers' domain", "zh": "图层覆盖范围"},
    "limitations": {"en": "Limitations", "zh": "局限性"},
    "limits": {
        "en": "Screening only: the check does not replace a hydraulic, structural or thermal "
        "design study.|Hazard layers come from a small model ensemble; the 10-90 % band is the "
        "spread across models, not the full uncertainty (GEV fitting, downscaling and "
        "bias adjustment add more).|Surge uses the nearest tide gauge and a bathtub rule; waves, "
        "wave overtopping, river flow and land subsidence at the site are not modelled.|District "
        "boundaries may be offset by about 0.5 km (GCJ-02); asset positions are approximate "
        "(see the inventory's provenance).|Scores and the verdict rule are project choices, not "
        "a national standard.",
        "zh": "本报告仅为筛查，不能替代水力、结构或热工设计研究。|灾害图层来自少量模式集合；"
        "10-90 % 色带仅为模式间差异，并非全部不确定性（GEV 拟合、降尺度与偏差订正另有误差）。|"
        "风暴潮采用最近潮位站与静水淹没假定；未模拟波浪、越浪、河道径流及场址地面沉降。|"
        "区界可能偏移约 0.5 km（GCJ-02）；资产位置为近似值（见资产清单来源说明）。|"
        "评分与结论判定规则为项目自定，并非国家标准。",
    },
    "signoff": {"en": "Sign-off", "zh": "签署"},
    "role": {"en": "Role", "zh": "职责"},
    "name": {"en": "Name", "zh": "姓名"},
    "signature": {"en": "Signature", "zh": "签名"},
    "date": {"en": "Date", "zh": "日期"},
    "prepared": {"en": "Prepared by", "zh": "编制"},
    "reviewed": {"en": "Reviewed by", "zh": "审核"},
    "approved": {"en": "Approved by", "zh": "批准"},
    "record": {"en": "Record", "zh": "记录"},
    "check_id": {"en": "Check", "zh": "论证编号"},
    "created": {"en": "Created", "zh": "生成时间"},
    "result_hash": {"en": "Result hash", "zh": "结果哈希"},
    "code_version": {"en": "Code version", "zh": "代码版本"},
}

_SCENARIOS = {
    "ssp126": ("SSP1-2.6 (low emissions)", "SSP1-2.6（低排放）"),
    "ssp245": ("SSP2-4.5 (intermediate)", "SSP2-4.5（中等排放）"),
    "ssp370": ("SSP3-7.0 (high)", "SSP3-7.0（较高排放）"),
    "ssp585": ("SSP5-8.5 (very high)", "SSP5-8.5（高排放）"),
}
_HORIZONS = {
    "baseline": ("baseline 1995-2014", "基准期 1995-2014"),
    "near": ("near 2021-2040", "近期 2021-2040"),
    "mid": ("mid 2041-2060", "中期 2041-2060"),
    "far": ("far 2081-2100", "远期 2081-2100"),
}
#: Plain-language names of the layers' metrics, by variable name (docs/decisions.md D2).
_METRICS = {
    "txx": ("annual hottest day (TXx)", "年最高日最高气温（TXx）"),
    "rx1day": ("annual wettest day (Rx1day)", "年最大日降水量（Rx1day）"),
    "still_water_level": ("annual highest still water at the tide gauge", "潮位站年最高静水位"),
}
_STATISTICS = {
    "median": ("model median", "模式中位数"),
    "pooled": ("all models pooled", "多模式合并"),
}
_HOT_DAYS = re.compile(r"^tx_days_above_(?P<threshold>\d+(?:\.\d+)?)(?:_(?P<stat>\w+))?$")
_METRIC_NAME = re.compile(r"^(?P<base>[a-z0-9_]+?)_(?P<period>\d+(?:\.\d+)?)yr(?:_(?P<stat>\w+))?$")
_UNITS = {
    "degC": ("°C", "°C"),
    "mm/day": ("mm/day", "毫米/日"),
    "m": ("m (Wusong datum)", "米（吴淞基面）"),
    "days/yr": ("days/yr", "天/年"),
    "years": ("years", "年"),
}


def check_lang(lang: str) -> Lang:
    """Return ``lang`` if the report has it, else raise ValueError naming the choices."""
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r}: expected one of {list(LANGS)}")
    return lang  # type: ignore[return-value]


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "en" else pair[1]


def scenario_label(scenario: str, lang: Lang, *, short: bool = False) -> str:
    """Return e.g. ``"SSP5-8.5 (very high)"`` (short: ``"SSP5-8.5"``); unknown ones as written."""
    if scenario not in _SCENARIOS:
        return scenario
    label = _pick(_SCENARIOS[scenario], lang)
    return re.split(r" \(|（", label)[0] if short else label


def horizon_label(horizon: str, lang: Lang) -> str:
    """Return e.g. ``"far 2081-2100"``; an unknown horizon is shown as written."""
    return _pick(_HORIZONS[horizon], lang) if horizon in _HORIZONS else horizon


def units_label(units: str, lang: Lang) -> str:
    """Return display units: ``degC`` as ``°C``, ``m`` with its datum."""
    return _pick(_UNITS[units], lang) if units in _UNITS else units


def metric_period(metric: str) -> float | None:
    """Return the return period (years) named in a metric such as ``txx_20yr_median``."""
    match = _METRIC_NAME.match(metric)
    return float(match["period"]) if match else None


def metric_label(metric: str, lang: Lang) -> str:
    """Return a plain-language metric name; a name the report does not know is kept.

    ``txx_20yr_median`` reads "20-year return level of the annual hottest day (TXx), model
    median" (or its Chinese).
    """
    days = _HOT_DAYS.match(metric)
    if days:
        text = TEXT["hot_days_metric"][lang].format(t=days["threshold"])
        stat = days["stat"] or ""
        extra = _pick(_STATISTICS[stat], lang) if stat in _STATISTICS else stat
        return text + ((f", {extra}" if lang == "en" else f"（{extra}）") if extra else "")
    match = _METRIC_NAME.match(metric)
    if not match or match["base"] not in _METRICS:
        return metric
    base = _pick(_METRICS[match["base"]], lang)
    period = f"{float(match['period']):g}"
    stat = match["stat"] or ""
    extra = _pick(_STATISTICS[stat], lang) if stat in _STATISTICS else stat
    if lang == "en":
        return f"{period}-year return level of the {base}" + (f", {extra}" if extra else "")
    return f"{base} {period} 年一遇值" + (f"（{extra}）" if extra else "")


#: A probability as a percentage ("0.528 %"; "<0.01 %" below 0.01 %, never in exponent
#: notation), as the pages write it too.
pct = percent_text


def num(value: float | None, digits: int) -> str:
    """Format a number with ``digits`` decimals, or "n/a"."""
    return "n/a" if value is None else f"{value:.{digits}f}"
