#!/usr/bin/env python3
"""Stage `evaluate`: models/model.pkl + data/prepared/test.csv -> metrics/eval.json.

Scores the model on the held-out rows with scikit-learn's definitions (churned = 1 is the positive
class): accuracy, precision, recall, f1 and roc_auc, rounded to 6 decimals, keys sorted, so the
same model and data always give the same bytes.

    /usr/bin/python3 src/evaluate.py
"""
import argparse
import json
import os
import pickle

import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

TARGET = "churned"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/model.pkl")
    parser.add_argument("--test", default="data/prepared/test.csv")
    parser.add_argument("--out", default="metrics/eval.json")
    args = parser.parse_args()

    with open(args.model, "rb") as source:
        model = pickle.load(source)
    frame = pd.read_csv(args.test)
    x, y = frame.drop(columns=[TARGET]), frame[TARGET]
    predicted = model.predict(x)
    scores = model.predict_proba(x)[:, 1]
    metrics = {
        "accuracy": accuracy_score(y, predicted),
        "precision": precision_score(y, predicted, zero_division=0),
        "recall": recall_score(y, predicted, zero_division=0),
        "f1": f1_score(y, predicted, zero_division=0),
        "roc_auc": roc_auc_score(y, scores),
    }
    metrics = {key: round(float(value), 6) for key, value in metrics.items()}

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as out:
        json.dump(metrics, out, indent=2, sort_keys=True)
        out.write("\n")
    print("  ".join(f"{key} {value:.4f}" for key, value in metrics.items()))


if __name__ == "__main__":
    main()
