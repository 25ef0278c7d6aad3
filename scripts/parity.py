#!/usr/bin/env python3
"""Parity between riskgate's tree inference and the libraries' own, and the benchmark models.

  parity.py check --riskgate BIN [--dir DIR] [--rows N]
      Trains small XGBoost and LightGBM models (named by the feature schema, `BIN model schema`) on
      synthetic data holding NaN, zeros and values exactly equal to split thresholds; exports
      XGBoost JSON and LightGBM text; computes the libraries' raw margins (output_margin=True,
      raw_score=True); runs `BIN model predict` on the same rows; fails when any |delta| > 1e-5.

  parity.py bench --riskgate BIN [--dir DIR]
      Writes 100- and 500-tree depth-6 models of both libraries and a rows CSV to DIR (read by
      `cargo bench --bench model`), and times the libraries' own per-row prediction.

Needs the packages of scripts/requirements.txt.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import lightgbm as lgb
import numpy as np
import xgboost as xgb

TOLERANCE = 1e-5


def schema(riskgate):
    out = subprocess.run([riskgate, "model", "schema"], check=True, capture_output=True, text=True)
    return out.stdout.split()


def synthetic(rng, n, names, nan_free):
    """Rows mixing continuous, binary and count-like columns, with NaN and exact zeros."""
    k = len(names)
    X = np.empty((n, k))
    for j in range(k):
        kind = j % 3
        if kind == 0:
            X[:, j] = rng.lognormal(3.0, 1.5, n)
        elif kind == 1:
            X[:, j] = rng.integers(0, 2, n)
        else:
            X[:, j] = rng.poisson(2.0, n)
        X[rng.random(n) < 0.1, j] = 0.0
        if j not in nan_free:
            X[rng.random(n) < 0.15, j] = np.nan
    logit = (
        0.8 * np.nan_to_num(np.log1p(X[:, 0]) - 3.0)
        + 1.5 * np.nan_to_num(X[:, 1])
        - 0.7 * np.nan_to_num(X[:, 2] - 2.0)
        + 1.0 * np.isnan(X[:, 4])
        + 0.5 * np.nan_to_num(X[:, 7])
        + rng.normal(0, 1, n)
    )
    y = (logit > np.quantile(logit, 0.8)).astype(int)
    return X, y


def thresholds_xgb(path):
    model = json.load(open(path))
    out = {}
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for left, feat, cond in zip(tree["left_children"], tree["split_indices"], tree["split_conditions"]):
            if left != -1:
                out.setdefault(feat, set()).add(float(np.float32(cond)))
    return out


def thresholds_lgb(booster):
    out = {}
    for tree in booster.dump_model()["tree_info"]:
        stack = [tree["tree_structure"]]
        while stack:
            node = stack.pop()
            if "split_feature" in node:
                out.setdefault(node["split_feature"], set()).add(float(node["threshold"]))
                stack += [node["left_child"], node["right_child"]]
    return out


def at_thresholds(rng, X, thresholds, share=0.5):
    """A copy of X where about `share` of each split feature's cells sit exactly on a threshold."""
    X = X.copy()
    for feat, ts in thresholds.items():
        ts = np.array(sorted(ts))
        mask = rng.random(len(X)) < share
        X[mask, feat] = rng.choice(ts, mask.sum())
    return X


def write_csv(path, names, X):
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for row in X:
            f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


def riskgate_margins(riskgate, model, rows):
    out = subprocess.run(
        [riskgate, "model", "predict", "--model", model, rows], check=True, capture_output=True, text=True
    )
    return np.array([float(line) for line in out.stdout.split()])


def compare(label, ours, theirs):
    if ours.shape != theirs.shape:
        print(f"{label}: {len(ours)} margins from riskgate, {len(theirs)} from the library")
        return False
    delta = np.abs(ours - theirs)
    worst = int(np.argmax(delta))
    print(
        f"{label}: {len(ours)} rows, max |delta| = {delta.max():.3g} "
        f"(row {worst}: riskgate {ours[worst]!r}, library {theirs[worst]!r})"
    )
    return bool(delta.max() <= TOLERANCE)


def check(args):
    rng = np.random.default_rng(20261121)
    names = schema(args.riskgate)
    nan_free = set(range(0, len(names), 5))  # never NaN in training: LightGBM missing type none
    X, y = synthetic(rng, 4000, names, nan_free)
    Xtest, _ = synthetic(rng, args.rows, names, set())  # NaN everywhere at prediction time
    ok = True
    d = args.dir

    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 5, "eta": 0.3, "base_score": 0.3, "nthread": 1},
        xgb.DMatrix(X, label=y, feature_names=names),
        num_boost_round=60,
    )
    path = os.path.join(d, "parity-xgboost.json")
    booster.save_model(path)
    rows = at_thresholds(rng, Xtest, thresholds_xgb(path))
    csv = os.path.join(d, "parity-xgboost.csv")
    write_csv(csv, names, rows)
    theirs = booster.predict(xgb.DMatrix(rows, feature_names=names), output_margin=True).astype(np.float64)
    ok &= compare("xgboost", riskgate_margins(args.riskgate, path, csv), theirs)

    for variant, extra in [("lightgbm", {}), ("lightgbm-zero-as-missing", {"zero_as_missing": True})]:
        params = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.1, "verbose": -1,
                  "num_threads": 1, "min_data_in_leaf": 5, **extra}
        model = lgb.train(params, lgb.Dataset(X, label=y, feature_name=names), num_boost_round=60)
        path = os.path.join(d, f"parity-{variant}.txt")
        model.save_model(path)
        rows = at_thresholds(rng, Xtest, thresholds_lgb(model))
        csv = os.path.join(d, f"parity-{variant}.csv")
        write_csv(csv, names, rows)
        theirs = model.predict(rows, raw_score=True)
        ok &= compare(variant, riskgate_margins(args.riskgate, path, csv), theirs)
    return 0 if ok else 1


def bench(args):
    """Depth-6 models of 100 and 500 trees, and the libraries' per-row predict times."""
    rng = np.random.default_rng(7)
    names = schema(args.riskgate)
    X, y = synthetic(rng, 20000, names, set())
    rows = X[:1000]
    write_csv(os.path.join(args.dir, "rows.csv"), names, rows)
    report = {}
    for trees in (100, 500):
        booster = xgb.train(
            {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "nthread": 1, "min_child_weight": 0},
            xgb.DMatrix(X, label=y, feature_names=names),
            num_boost_round=trees,
        )
        booster.save_model(os.path.join(args.dir, f"xgboost-{trees}.json"))
        booster.set_param({"nthread": 1})
        model = lgb.train(
            {"objective": "binary", "max_depth": 6, "num_leaves": 64, "learning_rate": 0.1, "verbose": -1,
             "num_threads": 1, "min_data_in_leaf": 1},
            lgb.Dataset(X, label=y, feature_name=names),
            num_boost_round=trees,
        )
        model.save_model(os.path.join(args.dir, f"lightgbm-{trees}.txt"))
        report[f"xgboost_{trees}_inplace_predict_per_row_ns"] = per_row(
            lambda r: booster.inplace_predict(r, predict_type="margin"), rows)
        report[f"lightgbm_{trees}_predict_per_row_ns"] = per_row(
            lambda r: model.predict(r, raw_score=True, num_threads=1), rows)
        report[f"lightgbm_{trees}_c_api_single_row_fast_ns"] = lgb_single_row_fast(model, rows)
    for k, v in report.items():
        print(f"{k} = {v:.0f}")
    json.dump(report, open(os.path.join(args.dir, "library-timings.json"), "w"), indent=2)
    return 0


def per_row(predict, rows, repeat=3):
    """Median over repeats of the mean time of one single-row call."""
    singles = [rows[i:i + 1] for i in range(len(rows))]
    for r in singles[:50]:
        predict(r)
    times = []
    for _ in range(repeat):
        t = time.perf_counter_ns()
        for r in singles:
            predict(r)
        times.append((time.perf_counter_ns() - t) / len(singles))
    return float(np.median(times))


def lgb_single_row_fast(model, rows, repeat=3):
    """LightGBM's C API single-row fast path (LGBM_BoosterPredictForMatSingleRowFast) via ctypes:
    the cheapest per-row call the library offers; includes the ctypes call overhead (~0.3 µs)."""
    import ctypes

    lib = lgb.basic._LIB
    handle = ctypes.c_void_p()
    ncol = rows.shape[1]
    params = b"num_threads=1"
    rc = lib.LGBM_BoosterPredictForMatSingleRowFastInit(
        model._handle, ctypes.c_int(1),  # C_API_PREDICT_RAW_SCORE
        ctypes.c_int(0), ctypes.c_int(-1), ctypes.c_int(1),  # start iter, all iters, C_API_DTYPE_FLOAT64
        ctypes.c_int32(ncol), ctypes.c_char_p(params), ctypes.byref(handle))
    if rc != 0:
        return float("nan")
    out = np.zeros(1)
    out_len = ctypes.c_int64()
    data = [np.ascontiguousarray(r) for r in rows]
    ptrs = [d.ctypes.data_as(ctypes.c_void_p) for d in data]
    out_ptr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    fn = lib.LGBM_BoosterPredictForMatSingleRowFast
    times = []
    for _ in range(repeat):
        t = time.perf_counter_ns()
        for p in ptrs:
            fn(handle, p, ctypes.byref(out_len), out_ptr)
        times.append((time.perf_counter_ns() - t) / len(ptrs))
    lib.LGBM_FastConfigFree(handle)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["check", "bench"])
    parser.add_argument("--riskgate", required=True, help="the riskgate binary")
    parser.add_argument("--dir", help="where models and rows are written (default: a temporary directory)")
    parser.add_argument("--rows", type=int, default=5000, help="rows compared per model (check)")
    args = parser.parse_args()
    if args.dir is None:
        args.dir = tempfile.mkdtemp(prefix="riskgate-parity-")
    os.makedirs(args.dir, exist_ok=True)
    sys.exit(check(args) if args.command == "check" else bench(args))


if __name__ == "__main__":
    main()
