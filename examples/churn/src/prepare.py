#!/usr/bin/env python3
"""Stage `prepare`: data/raw.csv -> data/prepared/{train,test}.csv.

Drops the id, one-hot encodes the categorical columns (a fixed column order, so the same raw file
always gives the same bytes) and makes a stratified train/test split with a fixed seed.

    /usr/bin/python3 src/prepare.py --test-size 0.25 --seed 42
"""
import argparse
import os
import sys

import pandas as pd
from sklearn.model_selection import train_test_split

CATEGORICAL = {
    "contract": ["month-to-month", "one-year", "two-year"],
    "plan": ["basic", "plus", "premium"],
    "payment_method": ["card", "bank-transfer", "electronic-check"],
}
TARGET = "churned"


def encode(raw):
    frame = raw.drop(columns=["customer_id"])
    for column, values in CATEGORICAL.items():
        unknown = set(frame[column]) - set(values)
        if unknown:
            sys.exit(f"prepare: unknown {column} value(s): {sorted(unknown)}")
        for value in values:
            frame[f"{column}={value}"] = (frame[column] == value).astype(int)
        frame = frame.drop(columns=[column])
    # The target last, the features in a stable order.
    features = [c for c in frame.columns if c != TARGET]
    return frame[features + [TARGET]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", default="data/raw.csv")
    parser.add_argument("--out", default="data/prepared")
    parser.add_argument("--test-size", type=float, required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()

    frame = encode(pd.read_csv(args.raw))
    train, test = train_test_split(
        frame, test_size=args.test_size, random_state=args.seed, stratify=frame[TARGET]
    )
    os.makedirs(args.out, exist_ok=True)
    for name, part in (("train", train), ("test", test)):
        part.to_csv(os.path.join(args.out, f"{name}.csv"), index=False, lineterminator="\n")
    print(f"{len(train)} training rows, {len(test)} test rows, {frame.shape[1] - 1} features")


if __name__ == "__main__":
    main()
