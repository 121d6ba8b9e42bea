#!/usr/bin/python3
"""scikit-learn's RandomForestRegressor on a gbdt_bench.py data folder: the reference of `npm run bench:rf`.

    /usr/bin/python3 rf_anchor.py DATA_DIR --trees 100 --max-depth 6 --max-leaf-nodes 64 \
        --min-samples-leaf 20 --max-features 20 --max-samples 0.5 --threads 2 --repeats 2 --warmup 1

DATA_DIR is the interchange format of /work/shared/anchors/gbdt_bench.py (X.f32, y.f32,
meta.json; rows [0, train_rows) train, the rest test). The forest is
RandomForestRegressor(n_estimators, max_depth, max_leaf_nodes, min_samples_leaf,
max_features (an int: features per node), bootstrap=True, max_samples (share of the training
rows drawn with replacement per tree), n_jobs=threads, random_state=seed).

Missing values: scikit-learn >= 1.4 routes NaN in its trees; older versions (Debian's 1.2)
refuse them, so NaN is replaced by the sentinel -FLT_MAX, which every split sends left. The
output says which ("nan_handling"), so the caller can give its own trainer the same matrix.

Prints one JSON line: train_s_best / train_s_median / train_s_all (wall clock of .fit from
the in-memory float32 arrays, after --warmup untimed fits), predict_s, test rmse / pearson,
train rmse, leaves, and the settings used.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np

SENTINEL = float(np.finfo(np.float32).min)


def load(d):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    n, p, k = int(meta["rows"]), int(meta["features"]), int(meta["train_rows"])
    X = np.fromfile(os.path.join(d, "X.f32"), dtype="<f4").reshape(n, p)
    y = np.fromfile(os.path.join(d, "y.f32"), dtype="<f4")
    return X, y, k


def native_nan_support(version):
    major, minor = (int(v) for v in version.split(".")[:2])
    return (major, minor) >= (1, 4)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--max-depth", type=int, default=6)
    ap.add_argument("--max-leaf-nodes", type=int, default=64)
    ap.add_argument("--min-samples-leaf", type=int, default=20)
    ap.add_argument("--max-features", type=int, required=True, help="features drawn per node")
    ap.add_argument("--max-samples", type=float, default=0.5, help="bootstrap draws per tree, share of the training rows")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import sklearn
    from sklearn.ensemble import RandomForestRegressor

    X, y, k = load(args.data)
    nan_handling = "native" if native_nan_support(sklearn.__version__) else "sentinel"
    if nan_handling == "sentinel":
        X = np.where(np.isnan(X), np.float32(SENTINEL), X)
    Xtr, ytr = np.ascontiguousarray(X[:k]), np.ascontiguousarray(y[:k])
    Xte, yte = np.ascontiguousarray(X[k:]), y[k:].astype(np.float64)
    params = dict(n_estimators=args.trees, criterion="squared_error", max_depth=args.max_depth,
                  max_leaf_nodes=args.max_leaf_nodes, min_samples_leaf=args.min_samples_leaf,
                  max_features=args.max_features, bootstrap=True, max_samples=args.max_samples,
                  n_jobs=args.threads, random_state=args.seed)

    model = None
    cold = []
    times = []
    for i in range(args.warmup + args.repeats):
        model = None
        t0 = time.perf_counter()
        model = RandomForestRegressor(**params).fit(Xtr, ytr)
        (cold if i < args.warmup else times).append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    pred = model.predict(Xte).astype(np.float64)
    predict_s = time.perf_counter() - t0
    err = pred - yte
    pred_train = model.predict(Xtr).astype(np.float64)
    out = {
        "lib": "sklearn_rf",
        "library": "scikit-learn " + sklearn.__version__,
        "nan_handling": nan_handling,
        "sentinel": SENTINEL,
        "rows_train": int(k),
        "rows_test": int(X.shape[0] - k),
        "features": int(X.shape[1]),
        "threads": args.threads,
        "train_s_best": min(times),
        "train_s_median": statistics.median(times),
        "train_s_all": times,
        "train_s_cold": cold[0] if cold else None,
        "predict_s": predict_s,
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "pearson": float(np.corrcoef(pred, yte)[0, 1]) if pred.std() > 0 else 0.0,
        "train_rmse": float(np.sqrt(np.mean((pred_train - ytr.astype(np.float64)) ** 2))),
        "n_leaves_total": int(sum(e.get_n_leaves() for e in model.estimators_)),
        "params": params,
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
