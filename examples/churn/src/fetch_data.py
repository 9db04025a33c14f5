#!/usr/bin/env python3
"""Writes data/raw.csv: synthetic telecom customers and whether they churned.

The stand-in for "download the raw data": the rows come from Python's own `random.Random(seed)`,
whose stream is fixed across Python versions and platforms, and every number is written with a
fixed number of decimals, so the file is byte-identical on every machine (same SHA-256, same mlo
id). Run it before `mlo track data/raw.csv`; run it with another --seed or --rows for "new data".

    /usr/bin/python3 src/fetch_data.py [--rows N] [--seed S] [--out data/raw.csv]
"""
import argparse
import csv
import math
import os
import random
import sys

CONTRACTS = ["month-to-month", "one-year", "two-year"]
PLANS = ["basic", "plus", "premium"]
PAYMENTS = ["card", "bank-transfer", "electronic-check"]


def customer(rng, number):
    contract = rng.choices(CONTRACTS, weights=[55, 25, 20])[0]
    tenure = min(72, int(rng.expovariate(1 / (8 if contract == "month-to-month" else 30))))
    plan = rng.choices(PLANS, weights=[50, 30, 20])[0]
    base = {"basic": 25.0, "plus": 55.0, "premium": 90.0}[plan]
    monthly = max(15.0, rng.gauss(base, 8.0))
    support_calls = min(9, int(rng.expovariate(1 / 1.5)))
    payment = rng.choices(PAYMENTS, weights=[35, 30, 35])[0]
    paperless = 1 if rng.random() < 0.6 else 0
    # The hidden truth: short tenure, monthly contracts, many support calls, high bills and
    # electronic checks make customers leave; long contracts keep them.
    score = (
        -2.0
        - 0.09 * tenure
        + {"month-to-month": 2.4, "one-year": 0.0, "two-year": -2.0}[contract]
        + 0.7 * support_calls
        + 0.025 * (monthly - 55.0)
        + (1.0 if payment == "electronic-check" else 0.0)
        + 0.4 * paperless
        + rng.gauss(0.0, 0.5)
    )
    churned = 1 if rng.random() < 1.0 / (1.0 + math.exp(-score)) else 0
    return [number, tenure, contract, plan, f"{monthly:.2f}", support_calls, payment, paperless, churned]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="data/raw.csv")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    churned = 0
    with open(args.out, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["customer_id", "tenure_months", "contract", "plan", "monthly_charges",
                         "support_calls", "payment_method", "paperless_billing", "churned"])
        for number in range(1, args.rows + 1):
            row = customer(rng, number)
            churned += row[-1]
            writer.writerow(row)
    print(f"wrote {args.out}: {args.rows} customers, {churned} churned "
          f"({churned / args.rows:.1%}), seed {args.seed}", file=sys.stderr)


if __name__ == "__main__":
    main()
