#!/usr/bin/env python3
"""Stage `train`: data/prepared/train.csv -> models/model.pkl.

Two models, chosen by the `train.model` param:
  logreg  logistic regression fitted by stochastic gradient descent, one epoch at a time, with an
          L2 penalty of strength 1 / (C * rows), as in LogisticRegression(C=...); features scaled.
  forest  a random forest grown `step` trees at a time (warm start) up to n_estimators.
After each epoch (or each batch of trees) one JSON line goes to $MLO_METRICS, mlo's step metrics:
  {"step": 3, "train_loss": 0.47, "train_accuracy": 0.78}      (logreg)
  {"step": 60, "oob_accuracy": 0.77, "train_accuracy": 0.93}   (forest)
Every random choice has a fixed seed, so the same data and params give the same model.

    /usr/bin/python3 src/train.py --model logreg --C 1.0 --epochs 20 --n-estimators 100 --seed 42
"""
import argparse
import json
import os
import pickle
import warnings

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

TARGET = "churned"


class StepMetrics:
    """Appends JSON lines to $MLO_METRICS (when run by mlo; a no-op by hand)."""

    def __init__(self):
        path = os.environ.get("MLO_METRICS")
        self.out = open(path, "a") if path else None

    def log(self, step, **values):
        if self.out:
            self.out.write(json.dumps({"step": step, **values}, sort_keys=True) + "\n")
            self.out.flush()


def train_logreg(x, y, args, metrics):
    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    model = SGDClassifier(loss="log_loss", penalty="l2", alpha=1.0 / (args.C * len(x)),
                          random_state=args.seed)
    for epoch in range(1, args.epochs + 1):
        model.partial_fit(xs, y, classes=[0, 1])
        loss = log_loss(y, model.predict_proba(xs))
        accuracy = accuracy_score(y, model.predict(xs))
        metrics.log(epoch, train_loss=round(loss, 6), train_accuracy=round(accuracy, 6))
        if epoch == 1 or epoch % 5 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:3d}  loss {loss:.4f}  accuracy {accuracy:.4f}", flush=True)
    return Pipeline([("scale", scaler), ("model", model)])


def train_forest(x, y, args, metrics):
    model = RandomForestClassifier(n_estimators=0, max_depth=args.max_depth, warm_start=True,
                                   oob_score=True, n_jobs=1, random_state=args.seed)
    # With few trees some rows are in every bootstrap sample and have no out-of-bag score yet.
    warnings.filterwarnings("ignore", message="Some inputs do not have OOB scores")
    step = max(1, args.n_estimators // 10)
    trees = 0
    while trees < args.n_estimators:
        trees = min(args.n_estimators, trees + step)
        model.set_params(n_estimators=trees)
        model.fit(x, y)
        accuracy = accuracy_score(y, model.predict(x))
        metrics.log(trees, oob_accuracy=round(model.oob_score_, 6), train_accuracy=round(accuracy, 6))
        print(f"{trees:4d} trees  out-of-bag accuracy {model.oob_score_:.4f}", flush=True)
    return Pipeline([("model", model)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="data/prepared/train.csv")
    parser.add_argument("--out", default="models/model.pkl")
    parser.add_argument("--model", choices=["logreg", "forest"], required=True)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--max-depth", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.C <= 0:
        parser.error("--C must be positive")

    frame = pd.read_csv(args.train)
    x, y = frame.drop(columns=[TARGET]), frame[TARGET]
    metrics = StepMetrics()
    fit = train_logreg if args.model == "logreg" else train_forest
    pipeline = fit(x, y, args, metrics)

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "wb") as out:
        pickle.dump(pipeline, out, protocol=4)


if __name__ == "__main__":
    main()
