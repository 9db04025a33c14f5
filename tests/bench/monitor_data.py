"""Writes the benchmark data of bench_monitor.sh (run by /usr/bin/python3, numpy only).

usage: monitor_data.py OUT_DIR REFERENCE_ROWS CURRENT_ROWS

reference.csv and current.csv with 15 numeric columns f00..f14 (normal, exponential and uniform
shapes, rounded to 4 decimals; a few missing cells) and 5 categorical ones c0..c4 (3 to 50
categories). The current data is drifted in f00 (shifted), f01 (scaled) and c0 (shares moved), so
both drift and no drift are exercised. Deterministic (fixed seed).
"""
import sys

import numpy as np


def write(path, columns, rows, chunk=200_000, **kw):
    names = list(columns)
    with open(path, "w") as out:
        out.write(",".join(names) + "\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            data = [columns[name](n, **kw) for name in names]
            lines = []
            for i in range(n):
                lines.append(",".join(col[i] for col in data))
            out.write("\n".join(lines) + "\n")


def main():
    out_dir, reference_rows, current_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(20240601)

    def numeric(kind, shift=0.0, scale=1.0):
        def make(n, drift):
            s, k = (shift, scale) if drift else (0.0, 1.0)
            if kind == "normal":
                v = rng.normal(50 + s, 10 * k, n)
            elif kind == "exp":
                v = rng.exponential(3 * k, n) + s
            else:
                v = rng.uniform(0 + s, 100 * k, n)
            text = np.char.mod("%.4f", v).astype(object)
            text[rng.random(n) < 0.001] = ""  # missing cells
            return text
        return make

    def categorical(levels, moved=False):
        names = np.array([f"v{i}" for i in range(levels)], dtype=object)
        base = np.linspace(2, 1, levels)
        def make(n, drift):
            p = base[::-1] if (drift and moved) else base
            return names[rng.choice(levels, n, p=p / p.sum())]
        return make

    kinds = ["normal", "exp", "uniform"]
    columns = {}
    for i in range(15):
        shift = 2.0 if i == 0 else 0.0
        scale = 1.3 if i == 1 else 1.0
        columns[f"f{i:02d}"] = numeric(kinds[i % 3], shift, scale)
    for i, levels in enumerate([3, 5, 10, 20, 50]):
        columns[f"c{i}"] = categorical(levels, moved=(i == 0))
    write(f"{out_dir}/reference.csv", columns, reference_rows, drift=False)
    write(f"{out_dir}/current.csv", columns, current_rows, drift=True)


if __name__ == "__main__":
    main()
