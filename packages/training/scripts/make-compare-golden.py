#!/usr/bin/python3
"""Golden numbers for packages/training/src/metrics/compare-stats.ts (issue 17, part 5).

Writes packages/training/test/fixtures/compare-golden.json: seeded inputs and the reference
libraries' answers for the model-family comparison's statistics. The unit test only reads
the JSON, so CI needs no python.

  /usr/bin/python3 packages/training/scripts/make-compare-golden.py [--out PATH]

Run with Debian's python (numpy 1.24, scipy 1.10, scikit-learn 1.2, python3-statsmodels
0.13). Deterministic: every input comes from numpy's seeded default_rng, and is rounded to
6 decimals before the references see it, so the doubles JSON carries are exactly the ones
they were computed on.

References:
  hac         statsmodels OLS(x, ones).fit(cov_type='HAC', cov_kwds={'maxlags': L,
              'use_correction': False}): params, bse, tvalues, pvalues (normal: use_t is
              False for HAC); use_correction=False is statsmodels' own default.
  spearman    scipy.stats.spearmanr on the pairs where neither value is NaN.
  brier       sklearn.metrics.brier_score_loss.
  calibration statsmodels Logit(y, add_constant(logit(clip(p, 1e-6, 1 - 1e-6))))
              .fit(method='newton', tol=1e-12): params (intercept, slope).
  seed_sd     numpy std(ddof=1).
"""
import argparse
import json
import os
import warnings

import numpy as np
import scipy.stats
import sklearn.metrics
import statsmodels.api as sm

warnings.simplefilter("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "test", "fixtures", "compare-golden.json")
EPS = 1e-6


def r6(a):
    return np.round(np.asarray(a, dtype=float), 6)


def ar1(rng, n, phi, scale=1.0, drift=0.0, df=None):
    """AR(1) series: x_t = drift + phi·(x_{t-1} − drift) + e_t, e normal or Student-t."""
    e = rng.standard_t(df, n) if df else rng.standard_normal(n)
    x = np.empty(n)
    prev = 0.0
    for t in range(n):
        prev = phi * prev + scale * e[t]
        x[t] = drift + prev
    return r6(x)


def default_lags(n):
    return int(np.floor(4 * (n / 100.0) ** (2.0 / 9.0)))


def hac_cases(rng):
    specs = [
        ("ar1_pos_250", ar1(rng, 250, 0.5, scale=12.0, drift=1.5), [0, 1, 3, 5, 12]),
        ("ar1_neg_120", ar1(rng, 120, -0.3, scale=5.0, drift=-0.4), [0, 2, 4, 9]),
        ("iid_60", r6(rng.normal(0.3, 2.0, 60)), [0, 1, 3]),
        ("ar1_strong_t_500", ar1(rng, 500, 0.8, scale=20.0, drift=2.0, df=4), [0, 5, 20]),
        ("short_8", r6(rng.normal(0.0, 1.0, 8)), [0, 1, 7, 10]),
    ]
    out = []
    for name, x, lag_list in specs:
        n = len(x)
        results = []
        for lags in lag_list:
            fit = sm.OLS(x, np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False})
            results.append({
                "lags": lags,
                "mean": float(fit.params[0]),
                "se": float(fit.bse[0]),
                "t": float(fit.tvalues[0]),
                "p": float(fit.pvalues[0]),
            })
        out.append({"name": name, "x": x.tolist(), "default_lags": default_lags(n), "results": results})
    return out


def spearman_cases(rng):
    out = []
    # Continuous, positively related.
    a = r6(rng.standard_normal(300))
    b = r6(0.3 * a + rng.standard_normal(300))
    out.append(("continuous_300", a, b))
    # Heavy ties on both sides (integer grades), negatively related.
    a = np.round(rng.normal(0, 2, 200))
    b = np.round(-0.5 * a + rng.normal(0, 2, 200))
    out.append(("ties_200", a, b))
    # NaNs scattered in both, never the same rows only.
    a = r6(rng.standard_normal(150))
    b = r6(a + rng.standard_normal(150))
    a[rng.choice(150, 12, replace=False)] = np.nan
    b[rng.choice(150, 9, replace=False)] = np.nan
    out.append(("nan_pairs_150", a, b))
    # Prediction vs realised bps with many zero outcomes (the rank IC's usual shape).
    a = r6(rng.normal(5, 10, 400))
    b = r6(np.where(rng.random(400) < 0.4, 0.0, 0.1 * a + rng.normal(0, 20, 400)))
    out.append(("zero_heavy_400", a, b))
    cases = []
    for name, a, b in out:
        keep = ~(np.isnan(a) | np.isnan(b))
        rho = scipy.stats.spearmanr(a[keep], b[keep]).correlation
        omit = scipy.stats.spearmanr(a, b, nan_policy="omit").correlation
        assert abs(rho - omit) < 1e-12, (name, rho, omit)
        cases.append({
            "name": name,
            # JSON has no NaN: null marks a missing value.
            "a": [None if np.isnan(v) else float(v) for v in a],
            "b": [None if np.isnan(v) else float(v) for v in b],
            "pairs": int(keep.sum()),
            "rho": float(rho),
        })
    return cases


def calibrated(rng, n, slope=1.0, intercept=0.0, lo=0.02, hi=0.98):
    """p uniform in [lo, hi]; y ~ Bernoulli(σ(intercept + slope·logit p)). slope 1, intercept 0: calibrated."""
    p = r6(rng.uniform(lo, hi, n))
    z = np.log(p / (1 - p))
    q = 1 / (1 + np.exp(-(intercept + slope * z)))
    y = (rng.random(n) < q).astype(int)
    return p, y


def brier_cases(rng):
    specs = [("calibrated_500", *calibrated(rng, 500)), ("overconfident_300", *calibrated(rng, 300, slope=0.5))]
    p = r6(rng.random(50))
    p[:5] = [0.0, 1.0, 0.0, 1.0, 0.5]
    y = (rng.random(50) < 0.5).astype(int)
    specs.append(("edges_50", p, y))
    return [{"name": n, "p": p.tolist(), "y": y.tolist(), "brier": float(sklearn.metrics.brier_score_loss(y, p))} for n, p, y in specs]


def calibration_cases(rng):
    specs = [
        ("calibrated_2000", *calibrated(rng, 2000)),
        ("overconfident_800", *calibrated(rng, 800, slope=0.5, intercept=0.2)),
        ("underconfident_600", *calibrated(rng, 600, slope=1.8, intercept=-0.3, lo=0.3, hi=0.7)),
    ]
    # Confidences at the edges: 0 and 1 exercise the clip to [1e-6, 1 − 1e-6].
    p, y = calibrated(rng, 400)
    p[:4] = [0.0, 1.0, 0.0, 1.0]
    y[:4] = [0, 1, 1, 0]
    specs.append(("clipped_edges_400", p, y))
    out = []
    for name, p, y in specs:
        z = np.log(np.clip(p, EPS, 1 - EPS) / (1 - np.clip(p, EPS, 1 - EPS)))
        fit = sm.Logit(y, sm.add_constant(z)).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
        assert fit.mle_retvals["converged"], name
        out.append({"name": name, "p": p.tolist(), "y": y.tolist(), "intercept": float(fit.params[0]), "slope": float(fit.params[1])})
    return out


def seed_sd_cases(rng):
    specs = [("five_sharpes", r6(rng.normal(1.2, 0.3, 5))), ("two", r6(rng.normal(0, 1, 2))), ("twenty_bps", r6(rng.normal(40, 15, 20)))]
    return [{"name": n, "values": v.tolist(), "sd": float(np.std(v, ddof=1))} for n, v in specs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    rng = np.random.default_rng(20240517)
    golden = {
        "generator": "packages/training/scripts/make-compare-golden.py",
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sklearn": sklearn.__version__,
            "statsmodels": sm.__version__ if hasattr(sm, "__version__") else __import__("statsmodels").__version__,
        },
        "clip": EPS,
        "hac": hac_cases(rng),
        "spearman": spearman_cases(rng),
        "brier": brier_cases(rng),
        "calibration": calibration_cases(rng),
        "seed_sd": seed_sd_cases(rng),
    }
    with open(args.out, "w") as f:
        json.dump(golden, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
