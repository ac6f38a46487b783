"""Goodness of fit of GEV fits: PPCC, Anderson-Darling, probability and quantile plots.

All functions are vectorised: data hold each series on the LAST axis (NaN = missing, so
series may have different lengths) and the GEV parameters have the shape of the other axes.
``shape`` is xi of Coles (2001, eq. 3.2), xi > 0 a heavy tail (scipy's ``c`` is -xi).

References
----------
Anderson, T. W. & Darling, D. A. (1954). A test of goodness of fit. JASA 49, 765-769.
Cunnane, C. (1978). Unbiased plotting positions - a review. J. Hydrol. 37, 205-222.
Filliben, J. J. (1975). The probability plot correlation coefficient test for normality.
Technometrics 17, 111-117.
Gringorten, I. I. (1963). A plotting rule for extreme probability paper. J. Geophys. Res. 68,
813-814.
Stedinger, J. R., Vogel, R. M. & Foufoula-Georgiou, E. (1993). Frequency analysis of extreme
events. In Handbook of Hydrology (ed. Maidment), ch. 18.
Stephens, M. A. (1974). EDF statistics for goodness of fit and some comparisons. JASA 69,
730-737.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hazard_models.extremes.gev import gev_cdf, return_level
from hazard_models.extremes.gev_fit import FitMethod, fit_gev
from hazard_models.extremes.uncertainty import PARAMETER_NAMES as _NAMES
from hazard_models.extremes.uncertainty import simulate_gev

__all__ = [
    "PLOTTING_POSITION_ALPHA",
    "PlottingPosition",
    "anderson_darling",
    "bootstrap_goodness_pvalues",
    "empirical_probabilities",
    "gpd_ppcc",
    "ppcc",
    "probability_plot",
]

PlottingPosition = Literal["gringorten", "weibull"]

#: alpha of p_i = (i - alpha) / (n + 1 - 2 alpha). Gringorten (1963): alpha = 0.44, nearly
#: unbiased quantiles for Gumbel/GEV samples (Cunnane 1978; Stedinger et al. 1993,
#: Table 18.3.1). Weibull: alpha = 0, i / (n + 1), unbiased exceedance probabilities.
PLOTTING_POSITION_ALPHA: dict[str, float] = {"gringorten": 0.44, "weibull": 0.0}


def empirical_probabilities(
    data: ArrayLike, *, formula: PlottingPosition = "gringorten"
) -> tuple[NDArray, NDArray]:
    """Return each series sorted and the plotting position of each sorted value.

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        Samples along the last axis (any units); NaN marks a missing value.
    formula : {"gringorten", "weibull"}
        Plotting-position formula, see :data:`PLOTTING_POSITION_ALPHA`.

    Returns
    -------
    ordered : numpy.ndarray, shape (..., n_sample)
        Values in ascending order, missing values (NaN) at the end.
    probability : numpy.ndarray, shape (..., n_sample)
        Non-exceedance probability p_i = (i - alpha) / (n + 1 - 2 alpha) of the i-th
        smallest of the n valid values of its series; NaN where ``ordered`` is NaN.
    """
    if formula not in PLOTTING_POSITION_ALPHA:
        raise ValueError(
            f"formula: expected one of {sorted(PLOTTING_POSITION_ALPHA)}, found {formula!r}"
        )
    alpha = PLOTTING_POSITION_ALPHA[formula]
    values = np.asarray(data, dtype=float)
    ordered = np.sort(np.where(np.isfinite(values), values, np.nan), axis=-1)
    valid = ~np.isnan(ordered)
    count = valid.sum(axis=-1, keepdims=True)
    rank = np.arange(1, ordered.shape[-1] + 1, dtype=float)
    probability = (rank - alpha) / (count + 1.0 - 2.0 * alpha)
    return ordered, np.where(valid, probability, np.nan)


def probability_plot(
    data: ArrayLike,
    params: tuple[ArrayLike, ArrayLike, ArrayLike],
    *,
    formula: PlottingPosition = "gringorten",
) -> dict[str, NDArray]:
    """Return the points of the PP and QQ plots of a fitted GEV, for every series.

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        Annual maxima along the last axis; NaN marks a missing value.
    params : tuple of array_like, each shape (...)
        GEV ``(loc, scale, shape)`` of each series.
    formula : {"gringorten", "weibull"}
        Plotting-position formula.

    Returns
    -------
    dict of numpy.ndarray, each shape (..., n_sample), NaN where data are missing
        ``ordered`` (data units, ascending), ``empirical_probability`` (plotting position),
        ``model_probability`` = F(ordered) (PP plot: empirical vs model probability) and
        ``model_quantile`` = F^-1(empirical_probability) in data units (QQ plot: model
        quantile vs ordered data). See Coles (2001, sec. 3.3, model checking).
    """
    ordered, probability = empirical_probabilities(data, formula=formula)
    loc, scale, shape = (np.asarray(p, dtype=float)[..., np.newaxis] for p in params)
    with np.errstate(invalid="ignore", divide="ignore"):
        # The GEV quantile at p is the return level for T = 1 / (1 - p) (Coles 2001, eq. 3.4).
        period = np.where(np.isnan(probability), 2.0, 1.0 / (1.0 - probability))
        quantile = return_level(loc, scale, shape, period)
    return {
        "ordered": ordered,
        "empirical_probability": probability,
        "model_probability": np.where(
            np.isnan(ordered), np.nan, gev_cdf(ordered, loc, scale, shape)
        ),
        "model_quantile": np.where(np.isnan(probability), np.nan, quantile),
    }


def ppcc(
    data: ArrayLike,
    params: tuple[ArrayLike, ArrayLike, ArrayLike],
    *,
    formula: PlottingPosition = "gringorten",
) -> NDArray:
    """Return the probability-plot correlation coefficient of each series with its GEV fit.

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        Annual maxima along the last axis; NaN marks a missing value.
    params : tuple of array_like, each shape (...)
        GEV ``(loc, scale, shape)`` of each series.
    formula : {"gringorten", "weibull"}
        Plotting positions of the model quantiles (default Gringorten, see
        :data:`PLOTTING_POSITION_ALPHA`).

    Returns
    -------
    numpy.ndarray, shape (...)
        Pearson correlation (dimensionless, <= 1; near 1 is a good fit) between the ordered
        data and the fitted GEV's quantiles at the plotting positions. NaN for series with
        fewer than 3 values or NaN parameters.

    Notes
    -----
    Filliben (1975) PPCC with the fitted GEV's quantile function in place of the normal's,
    as in the GEV PPCC tests of Stedinger et al. (1993, sec. 18.3.3). r is invariant to loc
    and scale, so it measures the fit of the shape (tail curvature).
    """
    points = probability_plot(data, params, formula=formula)
    return _correlation(points["ordered"], points["model_quantile"])


def gpd_ppcc(
    excess: ArrayLike,
    scale: ArrayLike,
    shape: ArrayLike,
    *,
    formula: PlottingPosition = "gringorten",
) -> NDArray:
    """Return the probability-plot correlation of threshold excesses with their fitted GPD.

    Parameters
    ----------
    excess : array_like, shape (..., n_sample)
        Excesses y = x - u over the threshold (data units); NaN marks a missing value.
    scale, shape : array_like, shape (...)
        Fitted GPD sigma (data units) and xi.
    formula : {"gringorten", "weibull"}
        Plotting positions.

    Returns
    -------
    numpy.ndarray, shape (...)
        Pearson r between ordered excesses and GPD quantiles
        sigma/xi ((1 - p)^-xi - 1) (Coles 2001, sec. 4.3.5 quantile plot); NaN below 3 values.
    """
    ordered, probability = empirical_probabilities(excess, formula=formula)
    sigma = np.asarray(scale, dtype=float)[..., None]
    xi = np.asarray(shape, dtype=float)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = -np.log1p(-probability)
        general = sigma / np.where(xi == 0, 1.0, xi) * np.expm1(xi * tail)
        quantile = np.where(xi == 0, sigma * tail, general)
    return _correlation(ordered, quantile)


def _correlation(x: NDArray, q: NDArray) -> NDArray:
    """Return Pearson r of paired values along the last axis, NaN pairs left out."""
    valid = ~np.isnan(x) & ~np.isnan(q)
    count = valid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_dev = np.where(valid, x - _masked_mean(x, valid), 0.0)
        q_dev = np.where(valid, q - _masked_mean(q, valid), 0.0)
        r = (x_dev * q_dev).sum(-1) / np.sqrt((x_dev**2).sum(-1) * (q_dev**2).sum(-1))
    return np.where(count >= 3, r, np.nan)


def _masked_mean(values: NDArray, valid: NDArray) -> NDArray:
    """Return the mean of ``values`` where ``valid`` along the last axis, keeping the axis."""
    total = np.where(valid, values, 0.0).sum(axis=-1, keepdims=True)
    return total / valid.sum(axis=-1, keepdims=True)


def anderson_darling(data: ArrayLike, params: tuple[ArrayLike, ArrayLike, ArrayLike]) -> NDArray:
    """Return the Anderson-Darling statistic A^2 of each series against its fitted GEV.

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        Annual maxima along the last axis; NaN marks a missing value.
    params : tuple of array_like, each shape (...)
        GEV ``(loc, scale, shape)`` of each series.

    Returns
    -------
    numpy.ndarray, shape (...)
        A^2 (dimensionless, >= 0; small is a good fit). +inf when a value lies outside the
        fitted support (F = 0 or 1), which is a failed fit, not a numerical accident. NaN for
        series with fewer than 3 values or NaN parameters.

    Notes
    -----
    A^2 = -n - (1/n) sum_i [(2i - 1) log F(x_(i)) + (2n + 1 - 2i) log(1 - F(x_(i)))],
    the form of Stephens (1974, eq. 4.2) of Anderson & Darling (1954), with the sum
    rearranged so no series needs reversing. Critical values depend on n, xi and how the
    parameters were estimated; use :func:`bootstrap_goodness_pvalues` for a p-value.
    """
    ordered, _ = empirical_probabilities(data, formula="weibull")
    loc, scale, shape = (np.asarray(p, dtype=float)[..., np.newaxis] for p in params)
    valid = ~np.isnan(ordered)
    n = valid.sum(axis=-1, keepdims=True).astype(float)
    rank = np.arange(1, ordered.shape[-1] + 1, dtype=float)
    cdf = gev_cdf(ordered, loc, scale, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (2.0 * rank - 1.0) * np.log(cdf) + (2.0 * n + 1.0 - 2.0 * rank) * np.log1p(-cdf)
        a2 = -n[..., 0] - np.where(valid, terms, 0.0).sum(axis=-1) / n[..., 0]
    params_nan = np.isnan(loc[..., 0] + scale[..., 0] + shape[..., 0])
    return np.where((n[..., 0] >= 3) & ~params_nan, a2, np.nan)


def bootstrap_goodness_pvalues(
    data: ArrayLike,
    *,
    method: FitMethod = "lmoments",
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, NDArray]:
    """Fit a GEV to each series and return A^2 and PPCC with parametric-bootstrap p-values.

    Parameters
    ----------
    data : array_like, shape (..., n_sample)
        Annual maxima along the last axis; NaN marks a missing value.
    method : {"lmoments", "mle"}
        Fit method for the data and for every bootstrap sample (the null distribution of the
        statistics depends on it).
    n_boot : int
        Bootstrap samples per series (>= 20; the smallest p-value is 1 / (n_boot + 1)).
    seed : int
        Seed of the random generator.

    Returns
    -------
    dict of numpy.ndarray, each shape (...)
        ``anderson_darling``, ``ppcc`` (Gringorten), and ``anderson_darling_pvalue``,
        ``ppcc_pvalue``: (1 + #{bootstrap statistic at least as extreme}) / (n_boot + 1),
        where extreme is a larger A^2 or a smaller PPCC. NaN where the fit failed.

    Notes
    -----
    The parameters are estimated from the data, so tabulated critical values for a fully
    specified distribution do not apply (Stephens 1974); the null distribution is simulated
    instead (Davison & Hinkley 1997, sec. 4.2.3): draw samples of the same size from the
    fitted GEV, refit them with the same method and recompute the statistics. Gaps are not
    reproduced: each bootstrap sample has the series' number of valid values.
    """
    if n_boot < 20:
        raise ValueError(f"n_boot: expected at least 20, found {n_boot}")
    values = np.asarray(data, dtype=float)
    values = np.where(np.isfinite(values), values, np.nan)
    fit = fit_gev(values, method=method)
    loc, scale, shape = (np.where(fit["status"] == "ok", fit[name], np.nan) for name in _NAMES)
    params = (loc, scale, shape)
    observed = {"anderson_darling": anderson_darling(values, params), "ppcc": ppcc(values, params)}
    count = (~np.isnan(values)).sum(axis=-1)
    simulated = simulate_gev(
        {
            name: np.repeat(p[..., np.newaxis], n_boot, axis=-1)
            for name, p in zip(_NAMES, params, strict=True)
        },
        values.shape[-1],
        seed=seed,
    )
    # Keep the first `count` values of each series so every sample has the observed size.
    keep = np.arange(values.shape[-1]) < count[..., np.newaxis, np.newaxis]
    simulated = np.where(keep, simulated, np.nan)
    refit = fit_gev(simulated, method=method)
    b_loc, b_scale, b_shape = (
        np.where(refit["status"] == "ok", refit[name], np.nan) for name in _NAMES
    )
    boot_params = (b_loc, b_scale, b_shape)
    boot_a2 = anderson_darling(simulated, boot_params)
    boot_r = ppcc(simulated, boot_params)
    result = dict(observed)
    result["anderson_darling_pvalue"] = _pvalue(boot_a2 >= observed["anderson_darling"][..., None])
    result["ppcc_pvalue"] = _pvalue(boot_r <= observed["ppcc"][..., None])
    for stat in ("anderson_darling", "ppcc"):
        result[f"{stat}_pvalue"] = np.where(
            np.isnan(observed[stat]), np.nan, result[f"{stat}_pvalue"]
        )
    return result


def _pvalue(as_extreme: NDArray) -> NDArray:
    """Return (1 + count) / (n_boot + 1) over the last axis (Davison & Hinkley 1997, eq. 4.11)."""
    return (1.0 + as_extreme.sum(axis=-1)) / (as_extreme.shape[-1] + 1.0)
