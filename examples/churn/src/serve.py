#!/usr/bin/env python3
"""The churn model's serving worker, started by `mlo serve churn-clf` (models.churn-clf.serve.cmd).

mlo hands each batch of requests over as columns named as in the model's signature (the raw
customer fields); the worker encodes them exactly as prepare.py does and answers with the
predicted class. mlo_worker (put on PYTHONPATH by mlo serve) speaks the protocol.
"""
import os
import pickle

import pandas as pd
from mlo_worker import serve

from prepare import TARGET, encode

with open(os.path.join(os.environ["MLO_MODEL_DIR"], "model.pkl"), "rb") as model_file:
    model = pickle.load(model_file)


def predict(inputs):
    raw = pd.DataFrame(inputs)
    raw[TARGET] = 0  # encode() keeps the target column last; it is dropped again below
    try:
        features = encode(raw).drop(columns=[TARGET])
    except SystemExit as refusal:  # prepare.py exits on unknown categories; here it is a bad request
        raise ValueError(str(refusal)) from None
    return {"churned": model.predict(features).astype(int).tolist()}


serve(predict)
