"""mlo's worker protocol for Python models, standard library only.

A model worker loads its model and hands a predict function to serve():

    import os, pickle
    from mlo_worker import serve, rows
    model = pickle.load(open(os.path.join(os.environ["MLO_MODEL_DIR"], "model.pkl"), "rb"))
    serve(lambda inputs: {"churned": model.predict(rows(inputs, ["tenure", "plan"])).tolist()})

How mlo finds this file: `mlo serve` writes it into a directory of its own and puts that directory
on PYTHONPATH, so the worker imports it as `mlo_worker`; nothing needs installing.

The protocol (SPEC.md section 6, "The worker protocol"): the worker prints {"ready": true}; mlo then
writes one JSON request per line, {"id": "b17", "inputs": {"tenure": [3, 40], "plan": ["a", "b"]}}
(a batch of rows as columns); the worker answers each with one line carrying the same id, either
{"id": "b17", "outputs": {...}} or {"id": "b17", "error": "message"}. Anything else on stdout would
break the protocol, so importing this module moves the protocol streams aside: from then on print()
(and anything else writing to file descriptor 1, C libraries included) goes to stderr, which mlo
keeps in the deployment's log, and reading stdin gets end-of-file.
"""

import json
import os
import sys
import traceback

__all__ = ["serve", "rows", "frame"]


def _take_protocol_streams():
    sys.stdout.flush()
    out_fd = os.dup(1)  # not inheritable: child processes never see the protocol pipes
    in_fd = os.dup(0)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    return os.fdopen(in_fd, "rb"), os.fdopen(out_fd, "w", encoding="utf-8")


_requests, _answers = _take_protocol_streams()


def _jsonable(value):
    # numpy arrays and scalars (and pandas objects) know how to become plain Python values.
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _encode(message):
    return json.dumps(message, default=_jsonable, allow_nan=False)


def _write(text):
    _answers.write(text + "\n")
    _answers.flush()


def serve(predict, ready=True):
    """Answers mlo's requests with predict(inputs) until mlo closes stdin, then returns.

    predict gets a request's "inputs", a dict of column lists, and returns a dict of output columns
    (lists, or numpy arrays). An exception answers that request with an error ("ValueError: ...")
    and prints the traceback to stderr; the worker goes on. ready=False skips printing
    {"ready": true}, for a worker that announced itself already.
    """
    if ready:
        _write(_encode({"ready": True}))
    for line in _requests:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            request_id = request["id"]
        except (ValueError, TypeError, KeyError):
            print(f"mlo_worker: ignoring a line that is not a request: {line[:200]!r}", file=sys.stderr)
            continue
        try:
            outputs = predict(request.get("inputs", {}))
            if not isinstance(outputs, dict):
                raise TypeError(f"predict must return a dict of output columns, not {type(outputs).__name__}")
            text = _encode({"id": request_id, "outputs": outputs})  # NaN or odd types fail here
        except Exception as error:  # noqa: BLE001 - every failure becomes the request's answer
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            text = _encode({"id": request_id, "error": f"{type(error).__name__}: {error}"})
        _write(text)


def rows(inputs, names):
    """The columns `names` of `inputs` as a list of rows, e.g. for scikit-learn's predict."""
    missing = [name for name in names if name not in inputs]
    if missing:
        raise ValueError(f"inputs have no column {', '.join(missing)}")
    columns = [inputs[name] for name in names]
    lengths = {len(column) for column in columns}
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths: {sorted(lengths)}")
    return [list(row) for row in zip(*columns)]


def frame(inputs):
    """The inputs as a pandas DataFrame (raises ImportError naming pandas when it is not installed)."""
    try:
        import pandas
    except ImportError as error:
        raise ImportError("mlo_worker.frame needs pandas; install it or use mlo_worker.rows") from error
    return pandas.DataFrame(inputs)
