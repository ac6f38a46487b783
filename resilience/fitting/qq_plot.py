"""Draw the probability (P-P) and quantile (Q-Q) plots of a station fit (PNG).

Coles (2001, secs. 3.3.3, 4.3.3 and 6.2.3): empirical against model probabilities and
quantiles at Gringorten plotting positions (Gringorten 1963). A GEV fit is checked on its
block maxima, a GPD fit on its excesses over the threshold, and a GEV with a location trend
on the standardised residuals z_t = (1/xi) log(1 + xi (x_t - mu_t)/sigma), which are
standard Gumbel if the model holds (Coles 2001, sec. 6.2.3). Points on the diagonal mean a
good fit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from resilience.fitting.models import FitReport
from resilience.fitting.record import StationRecord
from resilience.storage.atomic import atomic_path

__all__ = ["model_probabilities", "plot_qq_pp"]


def _cdf_and_quantile(report: FitReport, sample: NDArray, p: NDArray) -> tuple[NDArray, NDArray]:
    """Return the model CDF at the sorted sample and the model quantiles at ``p``."""
    from scipy.stats import genextreme, genpareto, gumbel_r

    v = {name: item.estimate for name, item in report.parameters.items()}
    if report.distribution == "gpd":
        model = genpareto(v["shape"], scale=v["scale"])
    elif "loc1" in v:
        model = gumbel_r()  # the residuals are standard Gumbel under the model
    elif report.distribution == "gumbel":
        model = gumbel_r(v["loc"], v["scale"])
    else:
        model = genextreme(-v["shape"], loc=v["loc"], scale=v["scale"])
    return model.cdf(sample), model.ppf(p)


def _sample(report: FitReport, record: StationRecord) -> tuple[NDArray, str]:
    """Return the values the plots compare (maxima, excesses or residuals) and their label."""
    x = np.asarray(record.values, dtype=float)
    v = {name: item.estimate for name, item in report.parameters.items()}
    if report.distribution == "gpd":
        u = float(report.diagnostics["threshold"])
        return x[x > u] - u, f"excess over {u:g}"
    if "loc1" in v and record.covariate is not None:
        mu = v["loc0"] + v["loc1"] * np.asarray(record.covariate, dtype=float)
        xi, sigma = v["shape"], v["scale"]
        residual = np.log1p(xi * (x - mu) / sigma) / xi if abs(xi) > 1e-9 else (x - mu) / sigma
        return residual, "standardised residual (Gumbel scale)"
    return x, record.column


def model_probabilities(report: FitReport, record: StationRecord) -> tuple[NDArray, ...]:
    """Return (ordered sample, empirical p, model p, model quantiles) of the P-P/Q-Q plots."""
    from hazard_models.extremes.goodness import empirical_probabilities

    sample, _ = _sample(report, record)
    ordered, p = empirical_probabilities(sample)
    model_p, model_q = _cdf_and_quantile(report, ordered, p)
    return ordered, p, model_p, model_q


def plot_qq_pp(report: FitReport, record: StationRecord, path: Path) -> Path:
    """Draw the P-P (left) and Q-Q (right) plots of a fit; write them atomically (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered, p, model_p, model_q = model_probabilities(report, record)
    _, label = _sample(report, record)
    fig, (pp, qq) = plt.subplots(1, 2, figsize=(8.0, 4.0), dpi=120)
    pp.plot(p, model_p, "k.")
    pp.plot([0, 1], [0, 1], "C0-")
    pp.set_xlabel("empirical probability (Gringorten)")
    pp.set_ylabel("model probability")
    pp.set_title("Probability plot")
    qq.plot(model_q, ordered, "k.")
    ends = [min(model_q.min(), ordered.min()), max(model_q.max(), ordered.max())]
    qq.plot(ends, ends, "C0-")
    qq.set_xlabel(f"model quantile ({label})")
    qq.set_ylabel(f"empirical quantile ({label})")
    qq.set_title("Quantile plot")
    fig.suptitle(f"{report.distribution.upper()} ({report.method}), n = {report.n}")
    fig.tight_layout()
    with atomic_path(Path(path)) as temporary:
        fig.savefig(temporary, format="png")
    plt.close(fig)
    return Path(path)
