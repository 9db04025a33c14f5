"""The peer of bench_monitor.sh: what Evidently's engine does for the same drift report, with
pandas and scipy (run by Debian's /usr/bin/python3).

It reads the reference and the current CSV whole with pandas, then for each column applies
Evidently's default test as SPEC.md section 7 states it (reference above 1000 rows: numeric columns
with more than 5 unique values get the Wasserstein distance divided by the reference's standard
deviation, the others the Jensen-Shannon distance over value shares) and prints one JSON object
{column: score}, which the benchmark compares with mlo's scores.

usage: monitor_peer.py REFERENCE CURRENT NUMERIC_COLUMNS CATEGORICAL_COLUMNS (comma-separated)
"""
import json
import sys

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance


def clean(series):
    return series.replace([np.inf, -np.inf], np.nan).dropna()


def shares(reference, current):
    keys = sorted(set(reference.unique()) | set(current.unique()))
    ref_counts = reference.value_counts()
    cur_counts = current.value_counts()
    ref = np.array([ref_counts.get(k, 0) / len(reference) for k in keys])
    cur = np.array([cur_counts.get(k, 0) / len(current) for k in keys])
    return ref, cur


def score(reference, current, numeric):
    n_unique = pd.concat([reference, current]).nunique()
    if len(reference) <= 1000:
        raise SystemExit("the benchmark's reference has more than 1000 rows")
    if numeric and n_unique > 5:
        norm = max(np.std(reference), 0.001)
        return "wasserstein", stats.wasserstein_distance(reference, current) / norm
    ref, cur = shares(reference, current)
    return "jensenshannon", distance.jensenshannon(ref, cur)


def main():
    reference_path, current_path, numeric, categorical = sys.argv[1:5]
    numeric = [c for c in numeric.split(",") if c]
    categorical = [c for c in categorical.split(",") if c]
    dtypes = {c: str for c in categorical}
    reference = pd.read_csv(reference_path, dtype=dtypes, keep_default_na=False, na_values=[""])
    current = pd.read_csv(current_path, dtype=dtypes, keep_default_na=False, na_values=[""])
    out = {}
    for column in numeric + categorical:
        method, value = score(clean(reference[column]), clean(current[column]), column in numeric)
        out[column] = {"method": method, "score": float(value)}
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
