"""GEV fitting throughput: ours (L-moments, Newton MLE) against scipy, xclim and lmoments3.

Workload (issue 3, section 9): 40,000 series of 86 annual maxima, seeded GEV draws with
loc in [20, 40], scale in [1, 5] and shape xi in [-0.3, 0.3]. Ours fits all series at once;
scipy (`genextreme.fit` in a loop), xclim (`xclim.indices.stats.fit`, dist "genextreme",
method "ML", and "PWM" with lmoments3's gev) and lmoments3 (`distr.gev.lmom_fit` in a loop)
run on the first SUBSAMPLE series and are scaled to series/s. Peak memory is tracemalloc's
peak of each step (numpy allocations included), traced in a second, untimed call: ours on
4,000 series (memory grows linearly with the series count), loops on 20 series.
Log-likelihood agreement is measured on the common subsample: the share of series where
ours >= scipy's - 1e-6.
"""

import time
import tracemalloc
import warnings

import numpy as np
import xarray as xr
from scipy.stats import genextreme

from hazard_models.extremes.gev_fit import fit_gev
from hazard_models.extremes.gev_mle import fit_gev_mle

N_SERIES, N_YEARS, SUBSAMPLE = 40_000, 86, 200


def make_workload(seed=2024):
    rng = np.random.default_rng(seed)
    loc = rng.uniform(20, 40, N_SERIES)[:, None]
    scale = rng.uniform(1, 5, N_SERIES)[:, None]
    shape = rng.uniform(-0.3, 0.3, N_SERIES)[:, None]
    return genextreme.rvs(-shape, loc, scale, size=(N_SERIES, N_YEARS), random_state=rng)


def measure(function, n_series, memory_function=None):
    """Time ``function`` untraced (tracemalloc slows Python loops several-fold), then trace
    ``memory_function`` (default: the same call; loops use 20 series) for the peak."""
    start = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    (memory_function or function)()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, n_series / seconds, peak


def scipy_loop(data):
    return np.array([genextreme.fit(series) for series in data])


def xclim_fit(data, method):
    from lmoments3 import distr
    from xclim.indices.stats import fit

    array = xr.DataArray(data, dims=("series", "time"), attrs={"units": "mm/day"})
    dist = distr.gev if method == "PWM" else "genextreme"
    return fit(array, dist=dist, method=method, dim="time").compute()


def lmoments3_loop(data):
    from lmoments3 import distr

    return [distr.gev.lmom_fit(series) for series in data]


def main():
    warnings.simplefilter("ignore")
    data = make_workload()
    sub = data[:SUBSAMPLE]
    rows = {}
    rows["ours: lmoments (all 40,000)"] = measure(lambda: fit_gev(data), N_SERIES)[1:]
    mle, rate, peak = measure(
        lambda: fit_gev(data, method="mle"), N_SERIES, lambda: fit_gev(data[:4000], method="mle")
    )
    rows["ours: mle Newton (all 40,000)"] = (rate, peak)
    rows["ours: pmle Newton (all 40,000)"] = measure(
        lambda: fit_gev(data, method="pmle"), N_SERIES, lambda: fit_gev(data[:4000], method="pmle")
    )[1:]
    scipy_params, *rows["scipy genextreme.fit loop (200)"] = measure(
        lambda: scipy_loop(sub), SUBSAMPLE, lambda: scipy_loop(sub[:20])
    )
    rows["xclim fit ML (200)"] = measure(
        lambda: xclim_fit(sub, "ML"), SUBSAMPLE, lambda: xclim_fit(sub[:20], "ML")
    )[1:]
    rows["xclim fit PWM/lmoments3 (200)"] = measure(lambda: xclim_fit(sub, "PWM"), SUBSAMPLE)[1:]
    rows["lmoments3 gev.lmom_fit loop (200)"] = measure(lambda: lmoments3_loop(sub), SUBSAMPLE)[1:]
    reference = rows["scipy genextreme.fit loop (200)"][0]
    print(f"workload: {N_SERIES} series x {N_YEARS} annual maxima; loops on {SUBSAMPLE} series")
    print(f"{'implementation':<36}{'series/s':>12}{'x scipy':>10}{'peak MiB':>10}")
    for name, (rate, peak) in rows.items():
        print(f"{name:<36}{rate:>12.0f}{rate / reference:>10.1f}{peak:>10.1f}")
    scipy_loglik = np.array(
        [genextreme.logpdf(s, *p).sum() for s, p in zip(sub, scipy_params, strict=True)]
    )
    ours = -mle["nllh"][:SUBSAMPLE]
    share = np.mean(ours >= scipy_loglik - 1e-6)
    outside = np.abs(scipy_params[:, 0]) > 0.5
    print(
        f"ours mle loglik >= scipy - 1e-6 on {share:.1%} of {SUBSAMPLE} series "
        f"({outside.sum()} with scipy's |xi| > 0.5, outside our bound)"
    )
    print(f"median (ours - scipy) loglik: {np.median(ours - scipy_loglik):.2e}")
    fallback = fit_gev_mle(data, prior="none")["fallback"].sum()
    print(f"Newton series refined by the scipy fallback: {fallback} of {N_SERIES}")
    ratio = rows["ours: mle Newton (all 40,000)"][0] / reference
    verdict = "PASS" if ratio >= 200 and share >= 0.99 else "FAIL"
    print(f"target: mle >= 200x scipy and loglik share >= 99 % -> {verdict} ({ratio:.0f}x)")


if __name__ == "__main__":
    main()
