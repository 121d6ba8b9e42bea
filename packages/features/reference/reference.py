#!/usr/bin/python3
"""Independent pandas implementation of the FeatureRecipe (packages/features/README.md).

Written from the definitions, with pandas' own rolling / ewm / rank primitives, to check
the TypeScript kernels (which use running sums, deques and a sorted-block rank).

Modes:
  golden:  reference.py --coin ETHUSDT-1m.csv.gz --ref BTCUSDT-1m.csv.gz --start S --rows N
                        --tail K --out golden.csv.gz [--digits 12]
           computes every feature on rows [S, S+N) and writes the last K rows (CSV, gzip).
  timing:  reference.py --coin ... --ref ... --start S --rows N --time [--repeat 3]
           prints one JSON line: the best-of-repeat wall and CPU time of the textbook subset
           and of the whole recipe (CSV loading is not timed).

Run with Debian's python (/usr/bin/python3: pandas 1.5, numpy 1.24).
"""
import argparse
import gzip
import json
import sys
import time

import numpy as np
import pandas as pd

# The textbook indicators timed against the TypeScript batch (same names there).
SUBSET = [
    "ret_1", "ret_3", "ret_5", "zscore_ret_1", "zscore_ret_3", "zscore_ret_5",
    "ema_5", "ema_8", "ema_21", "ema_34", "ema_diff_5_21", "ema_diff_8_34",
    "adx", "atr", "rsi_7", "rsi_14", "bb_upper", "bb_lower", "bb_width", "mean_rev",
    "realized_sigma_30", "realized_sigma_60", "vol_regime", "kurt", "btc_beta",
]


def nz(s):
    """A denominator with zeros replaced by NaN (the recipe: x / 0 is NaN, never inf)."""
    return s.replace(0.0, np.nan)


def wilder(s, n):
    return s.ewm(alpha=1.0 / n, adjust=False, ignore_na=True).mean()


def ema(s, span):
    return s.ewm(span=span, adjust=False, ignore_na=True).mean()


def rolling_std_two_pass(s, n):
    win = np.lib.stride_tricks.sliding_window_view(s.values, n)
    out = np.full(len(s), np.nan)
    out[n - 1:] = win.std(axis=1, ddof=1)
    return pd.Series(out, index=s.index)


def clip(s, lo, hi):
    return s.clip(lower=lo, upper=hi)


def textbook(df, ref, exact=True):
    c, h, l = df["close"], df["high"], df["low"]
    out = {}
    r = c / c.shift(1) - 1
    for n in (1, 3, 5):
        rn = c / c.shift(n) - 1
        out["ret_%d" % n] = rn
        out["zscore_ret_%d" % n] = (rn - rn.rolling(60).mean()) / nz(rn.rolling(60).std())
    e = {n: ema(c, n) for n in (5, 8, 21, 34)}
    for n in (5, 8, 21, 34):
        out["ema_%d" % n] = e[n] / c - 1
    out["ema_diff_5_21"] = (e[5] - e[21]) / c
    out["ema_diff_8_34"] = (e[8] - e[34]) / c
    pc = c.shift(1)
    tr = pd.Series(np.fmax.reduce([(h - l).values, (h - pc).abs().values, (l - pc).abs().values]), index=c.index)
    tr[pc.isna()] = np.nan  # TR needs the previous close
    atr = wilder(tr, 14)
    out["atr"] = atr / c
    up = h - h.shift(1)
    down = l.shift(1) - l
    tol = 1e-10 * pc  # decimal-price ties: |up - down| within 1e-10 of the price are equal
    pdm = pd.Series(np.where((up - down > tol) & (up > tol), up, 0.0), index=c.index)
    mdm = pd.Series(np.where((down - up > tol) & (down > tol), down, 0.0), index=c.index)
    pdm[tr.isna()] = np.nan
    mdm[tr.isna()] = np.nan
    pdi = 100 * wilder(pdm, 14) / atr
    mdi = 100 * wilder(mdm, 14) / atr
    di_sum = pdi + mdi
    dx = pd.Series(np.where(di_sum > 0, 100 * (pdi - mdi).abs() / di_sum, 0.0), index=c.index)
    dx[tr.isna()] = np.nan
    out["adx"] = wilder(dx, 14)
    d = c.diff()
    for n in (7, 14):
        g = wilder(d.clip(lower=0), n)
        lo = wilder((-d).clip(lower=0), n)
        out["rsi_%d" % n] = 100 * g / nz(g + lo)
    m20 = c.rolling(20).mean()
    # pandas' rolling variance updates one running mean/M2 down the whole series, and its
    # rounding error grows with mean² / variance: on raw prices (~3 000, std ~3) it drifts
    # to ~1e-9 relative. For the golden output use an exact two-pass std per window; the
    # timing runs time the idiomatic (faster) c.rolling(20).std().
    s20 = rolling_std_two_pass(c, 20) if exact else c.rolling(20).std()
    out["bb_upper"] = (m20 + 2 * s20) / c - 1
    out["bb_lower"] = (m20 - 2 * s20) / c - 1
    out["bb_width"] = 4 * s20 / nz(m20)
    out["mean_rev"] = clip((c - m20) / nz(s20), -3, 3) / 3
    out["realized_sigma_30"] = r.rolling(30).std()
    out["realized_sigma_60"] = r.rolling(60).std()
    out["vol_regime"] = r.rolling(10).std() / nz(r.rolling(50).std())
    out["kurt"] = r.rolling(60).kurt()
    rr = ref["close"] / ref["close"].shift(1) - 1
    out["btc_beta"] = r.rolling(60).cov(rr) / nz(rr.rolling(60).var())
    return out


def everything(df, ref, exact=True):
    out = textbook(df, ref, exact)
    c, h, l, v = df["close"], df["high"], df["low"], df["volume"]
    rc = ref["close"]
    r = out["ret_1"]
    out["momentum_slope"] = out["ret_5"] - out["ret_5"].shift(5)
    e20 = ema(c, 20)
    out["trend_strength"] = np.tanh(100 * (e20 - e20.shift(1)) / c)
    out["htf"] = (clip(c / c.rolling(240).mean(), 0.8, 1.2) - 0.8) / 0.4
    rng = (h - l) / c
    key = np.round(rng * 1e12) / 1e12  # ranges compared at 1e-12 resolution
    out["compression"] = 1 - clip(rng / nz(rng.rolling(20).mean()), 0, 2) / 2
    m7 = key.rolling(7).min()
    out["nr7_dens"] = (key <= m7).astype(float).where(m7.notna()).rolling(20).mean()
    out["compress_rank"] = (100 - key.rolling(100).rank(method="average")) / 99
    mx, mn = c.rolling(20).max(), c.rolling(20).min()
    out["pullback"] = (mx - c) / nz(mx - mn)
    pm = h.shift(1).rolling(20).max()
    vm20 = v.rolling(20).mean()
    vr3 = clip(v / nz(vm20), 0, 3) / 3
    atr_abs = out["atr"] * c
    out["ignition_score"] = 60 * clip((c - pm) / nz(atr_abs), 0, 1) + 40 * vr3
    out["breakout_thrust"] = clip((c - pm) / pm, 0, 0.01) * 100
    out["breakout_qual"] = clip(r.rolling(5).sum().abs() * vr3 / nz(r.rolling(20).std() * np.sqrt(5)), 0, 1)
    vr2 = clip(v / nz(v.rolling(10).mean()), 0, 2) / 2
    out["micro"] = 50 * (1 + clip(np.sign(r.rolling(10).mean()) * vr2, -1, 1))
    out["uptick"] = (c > c.shift(1)).astype(float).where(c.shift(1).notna()).rolling(20).mean()
    lc, eta = np.log(c), (np.log(h) + np.log(l)) / 2
    s2 = 4 * (lc.shift(1) - eta.shift(1)) * (lc.shift(1) - eta)
    out["spread"] = 1e4 * np.sqrt(s2.rolling(20).mean().clip(lower=0))
    out["orderbook_imbalance"] = pd.Series(np.nan, index=c.index)
    out["vol_jump"] = (v - vm20) / nz(v.rolling(20).std())
    v60 = v.rolling(60).mean()
    out["volume_ma_ratio"] = v / nz(v60)
    out["volume_trend"] = v.rolling(10).mean() / nz(v60) - 1
    rr = rc / rc.shift(1) - 1
    out["leader"] = clip((r - rr).rolling(20).mean(), -0.1, 0.1) * 10
    rs = {n: (c / c.shift(n) - 1) - (rc / rc.shift(n) - 1) for n in (5, 10, 20)}
    out["rs"] = 50 * (1 + np.tanh(10 * (0.6 * rs[10] + 0.4 * rs[20])))
    out["btc_divergence"] = clip(rs[5] - rs[20], -0.2, 0.2) / 0.2
    out["cross_momentum"] = rc / rc.shift(10) - 1
    close_time = pd.to_datetime(df["ts"] + 60_000, unit="ms", utc=True)
    secs = close_time.dt.hour * 3600 + close_time.dt.minute * 60 + close_time.dt.second
    frac = secs / 86400.0
    out["tod_fraction"] = frac
    out["tod_sin"] = np.sin(2 * np.pi * frac)
    out["tod_cos"] = np.cos(2 * np.pi * frac)
    dow = close_time.dt.dayofweek.astype(float)  # Monday = 0
    out["dow"] = dow
    out["dow_sin"] = np.sin(2 * np.pi * dow / 7)
    out["dow_cos"] = np.cos(2 * np.pi * dow / 7)
    out["liquidity_score"] = np.log10((c * v).rolling(1440).sum())
    out["spread_bps"] = 1e4 * rng
    out["volume_score"] = (v.rolling(60).sum().rolling(10080).rank(method="average") - 1) / (10080 - 1)
    return out


def load(path, start, rows):
    df = pd.read_csv(path, skiprows=range(1, start + 1), nrows=rows)
    return df.reset_index(drop=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--coin", required=True)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--tail", type=int, default=2000)
    ap.add_argument("--out")
    ap.add_argument("--digits", type=int, default=17)
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    df = load(a.coin, a.start, a.rows)
    ref = load(a.ref, a.start, a.rows)
    if len(df) != a.rows or not (df["ts"].values == ref["ts"].values).all():
        sys.exit("reference.py: coin and reference rows do not line up (expected %d rows on one grid)" % a.rows)
    if a.time:
        best = {}
        for name, fn in (("subset", textbook), ("all", everything)):
            times, cpu = [], []
            for _ in range(a.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                fn(df, ref, False)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            best[name] = min(times) * 1000
            best[name + "_cpu"] = min(cpu) * 1000
            best[name + "_first"] = times[0] * 1000
        print(json.dumps({"rows": a.rows, "subset_ms": best["subset"], "all_ms": best["all"],
                          "subset_cpu_ms": best["subset_cpu"], "all_cpu_ms": best["all_cpu"],
                          "subset_first_ms": best["subset_first"], "all_first_ms": best["all_first"],
                          "subset": SUBSET, "pandas": pd.__version__}))
        return
    out = everything(df, ref)
    frame = pd.DataFrame(out)
    frame.insert(0, "ts", df["ts"])
    tail = frame.iloc[-a.tail:]
    fmt = "%%.%dg" % a.digits
    # mtime=0: the same inputs give the same bytes (the golden file is committed).
    with open(a.out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(tail.to_csv(index=False, float_format=fmt, na_rep="NaN").encode())


if __name__ == "__main__":
    main()
