#!/usr/bin/python3
"""Golden values for the linear models (packages/ensemble/src/linear.ts) from scikit-learn.

Builds a seeded test matrix (400 rows x 6 features: NaNs in features 1 and 4, feature 3
constant, a target with signal and noise), the design matrix of the training rows exactly
as linear.ts builds it, and fits scikit-learn's Ridge and LogisticRegression on it:

  design = [StandardScaler(x) with NaN -> 0 ..., MissingIndicator(x) ...]

StandardScaler is fitted on the raw training columns, where it skips NaNs: means and
population sds over each feature's non-NaN training values. Missing values then become 0
(the training mean, standardised), and the 0/1 indicators (features='missing-only') are
not standardised. Note the order: SimpleImputer(mean) *before* StandardScaler would shrink
the sd of a feature with NaNs (the imputed means count as spread-free rows); linear.ts
takes the sd over the observed values only.

Run with Debian's python (/usr/bin/python3: numpy 1.24, scikit-learn 1.2):
    /usr/bin/python3 packages/ensemble/scripts/make-linear-golden.py > packages/ensemble/test/fixtures/linear-golden.json
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.impute import MissingIndicator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

SEED = 17
N_ROWS = 400
ALPHAS = [0.5, 50.0]
CS = [0.01, 1.0]


def make_matrix(rng):
    n = N_ROWS
    x = np.empty((n, 6))
    x[:, 0] = rng.normal(0.0, 1.0, n)
    x[:, 1] = rng.normal(5.0, 3.0, n)
    x[:, 2] = rng.uniform(-2.0, 2.0, n)
    x[:, 3] = 2.5  # constant: scale 1, coefficient 0
    x[:, 4] = rng.exponential(1.0, n) * 100.0
    x[:, 5] = rng.normal(0.0, 0.01, n)
    y = 0.8 * x[:, 0] - 0.3 * (x[:, 1] - 5.0) + 0.5 * x[:, 2] + 0.004 * (x[:, 4] - 100.0) + 30.0 * x[:, 5] + rng.normal(0.0, 1.0, n)
    # missing values: 10% of feature 1 at random, feature 4 more often where y is high (informative)
    x[rng.uniform(size=n) < 0.10, 1] = np.nan
    x[(rng.uniform(size=n) < 0.08) | ((y > 1.0) & (rng.uniform(size=n) < 0.15)), 4] = np.nan
    return x, y


def design(scaler, indicator, x):
    z = scaler.transform(x)
    z[np.isnan(z)] = 0.0
    return np.hstack([z, indicator.transform(x).astype(np.float64)])


def split_coef(coef, n_features):
    return [float(v) for v in coef[:n_features]], [float(v) for v in coef[n_features:]]


def main():
    rng = np.random.default_rng(SEED)
    x, y = make_matrix(rng)
    n, n_features = x.shape
    # training rows: the first 320 but every 7th (ascending, not contiguous); held out: the rest
    train = np.array([i for i in range(320) if i % 7 != 3], dtype=np.int64)
    held = np.array([i for i in range(n) if i not in set(train.tolist())], dtype=np.int64)
    # a few held-out rows, most with a NaN
    nan_held = [int(i) for i in held if np.isnan(x[i]).any()]
    probe = sorted(nan_held[:6] + [int(i) for i in held if not np.isnan(x[i]).any()][:2])

    xt = x[train]
    scaler = StandardScaler().fit(xt)
    indicator = MissingIndicator(features="missing-only").fit(xt)
    d_train = design(scaler, indicator, xt)
    d_probe = design(scaler, indicator, x[probe])

    ridge = []
    for alpha in ALPHAS:
        m = Ridge(alpha=alpha, solver="cholesky", fit_intercept=True).fit(d_train, y[train])
        coef, ind = split_coef(m.coef_, n_features)
        ridge.append({"alpha": alpha, "coef": coef, "indicator_coef": ind, "intercept": float(m.intercept_), "predictions": [float(v) for v in m.predict(d_probe)]})

    logistic = []
    cls = (y[train] > 0).astype(np.int64)
    for c in CS:
        m = LogisticRegression(penalty="l2", C=c, fit_intercept=True, tol=1e-12, max_iter=100000, solver="newton-cholesky").fit(d_train, cls)
        # check the optimum independently: the gradient of C·Σ log loss + ½‖w‖² vanishes
        # (lbfgs is no check here: scikit-learn 1.2 stops it on a relative decrease of the
        # objective, 1e-5 away in the coefficients)
        w, b = m.coef_[0], m.intercept_[0]
        p = 1.0 / (1.0 + np.exp(-(d_train @ w + b)))
        grad = max(np.abs(c * d_train.T @ (p - cls) + w).max(), abs(c * np.sum(p - cls)))
        print(f"C={c}: gradient at the newton-cholesky optimum {grad:.3g}", file=sys.stderr)
        assert grad < 1e-9, grad
        coef, ind = split_coef(m.coef_[0], n_features)
        logistic.append({
            "C": c,
            "coef": coef,
            "indicator_coef": ind,
            "intercept": float(m.intercept_[0]),
            "margins": [float(v) for v in m.decision_function(d_probe)],
            "probabilities": [float(v) for v in m.predict_proba(d_probe)[:, 1]],
        })

    out = {
        "generator": "packages/ensemble/scripts/make-linear-golden.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "seed": SEED,
        # columnar, NaN as null
        "columns": [[None if np.isnan(v) else float(v) for v in x[:, f]] for f in range(n_features)],
        "y": [float(v) for v in y],
        "train_rows": [int(i) for i in train],
        "probe_rows": probe,
        "standardiser": {
            "means": [float(v) for v in scaler.mean_],
            "scales": [float(v) for v in scaler.scale_],
            "indicator_features": [int(f) for f in indicator.features_],
        },
        "ridge": ridge,
        "logistic": logistic,
    }
    # one line per top-level key (Python's float repr round-trips every double exactly)
    lines = [f" {json.dumps(k)}: {json.dumps(v, separators=(',', ':'), allow_nan=False)}" for k, v in out.items()]
    sys.stdout.write("{\n" + ",\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    main()
