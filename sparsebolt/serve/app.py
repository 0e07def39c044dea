"""The FastAPI application of ``sparsebolt serve`` (see the package docstring)."""
# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at
# runtime, and the request models are local classes a string could not name
import json
import os
import socket
import threading
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np

from .._validation import _fail, check_choice, check_flag, check_float, check_int
from ..automl._rows import RowCheck
from ..data import csr_value
from ..data.csv import RowError

if TYPE_CHECKING:
    from ..automl.udt import UniversalDeepTransformer
    from ..nn.model import Model

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_INSTALL = "The server needs FastAPI and uvicorn: pip install 'sparsebolt[serve]'"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's


def _require():
    try:
        import fastapi  # noqa: F401
        import pydantic  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise ImportError(f"{_INSTALL} ({e}).") from None


class Predictor:
    """One model shared by every request; ``predict`` holds a lock while the model runs."""

    def __init__(self, model, sparse_inference=False):
        if len(model.inputs) != 1:
            raise ValueError(f"The 'model' parameter of create_app must be a sb.Model of one sparse input (feature ids "
                             f"in) or a UniversalDeepTransformer. Got a sb.Model of {len(model.inputs)} inputs "
                             f"instead.")
        self.model = model
        self.sparse_inference = sparse_inference
        self.n_features = model.inputs[0].dim
        self._lock = threading.Lock()

    def predict(self, samples, top_k):
        """samples : list of (ids, values or None) -> list of {"ids": [...], "scores": [...]}"""
        lengths = [len(ids) for ids, _ in samples]
        offsets = np.zeros(len(samples) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.fromiter((i for row, _ in samples for i in row), dtype=np.int32, count=int(offsets[-1]))
        vals = np.fromiter((v for row, values in samples for v in (values if values is not None else [1.0] * len(row))),
                           dtype=np.float32, count=int(offsets[-1]))
        value = csr_value(self.n_features, offsets, ids, vals)
        with self._lock:
            top_ids, scores = self.model.predict(value, top_k=top_k, sparse_inference=self.sparse_inference)
        out = []
        for row_ids, row_scores in zip(top_ids.tolist(), scores.tolist()):
            n = sum(1 for i in row_ids if i >= 0)
            out.append({"ids": row_ids[:n], "scores": row_scores[:n]})
        return out


class RowPredictor:
    """A UniversalDeepTransformer shared by every request: rows of named columns in, labels
    with scores out; ``update`` records interactions. One lock around the model, as ``Predictor``."""

    def __init__(self, udt, sparse_inference=False):
        self.udt = udt
        self.sparse_inference = sparse_inference
        self.rows = RowCheck(udt)
        self.required = self.rows.required
        self._lock = threading.Lock()

    def check_row(self, row, update=False):
        """A ValueError naming the first unknown, missing or mistyped column of ``row``
        (``automl._rows.RowCheck``)."""
        return self.rows.check(row, update)

    def interactions(self):
        """The interactions the model holds now (the temporal tracking's histories)."""
        with self._lock:
            return sum(len(h) for h in self.udt.featurizer.histories.values())

    def predict(self, rows, top_k):
        with self._lock:
            out = self.udt.predict_batch(rows, top_k=top_k, sparse_inference=self.sparse_inference)
        return [{"labels": [label for label, _ in r], "scores": [score for _, score in r]} for r in out]

    def update(self, rows, refresh_neighbors=False):
        with self._lock:
            self.udt.update_history(rows)
            if refresh_neighbors:
                self.udt.refresh_neighbors()


def create_app(model: "Model | UniversalDeepTransformer", model_path: str | os.PathLike | None = None,
               sparse_inference: bool = False, default_top_k: int = 5, max_top_k: int = 100, max_batch: int = 1024,
               max_body_bytes: int = 4 << 20) -> Any:
    """The FastAPI app serving a model (the endpoints are in the package docstring).

    Parameters
    ----------
    model : Model or UniversalDeepTransformer
        A loaded ``sb.Model`` of one sparse input (feature ids in) or a
        ``UniversalDeepTransformer`` (rows of named columns in).
    model_path : str, path-like or None, default=None
        The model's file; GET /model shows its name (not its path).
    sparse_inference : bool, default=False
        Score only the output neurons the LSH tables retrieve.
    default_top_k : int, default=5
        ``top_k`` of a request that gives none.
    max_top_k : int, default=100
        The largest ``top_k`` a request may ask for (422 beyond).
    max_batch : int, default=1024
        The most samples or rows a request may hold (422 beyond).
    max_body_bytes : int, default=4 MiB
        Larger request bodies get 413.

    Returns
    -------
    fastapi.FastAPI

    Raises
    ------
    ImportError
        When FastAPI, pydantic or uvicorn is missing (``pip install 'sparsebolt[serve]'``).
    ValueError
        For a bad parameter (``default_top_k`` above ``max_top_k`` among them), or an ``sb.Model``
        that has not exactly one input.
    """
    sparse_inference = check_flag("create_app", "sparse_inference", sparse_inference)
    max_top_k = check_int("create_app", "max_top_k", max_top_k, 1)
    default_top_k = check_int("create_app", "default_top_k", default_top_k, 1)
    if default_top_k > max_top_k:  # a request without top_k would get more than the cap
        _fail("create_app", "default_top_k", f"at most max_top_k ({max_top_k})", default_top_k)
    max_batch = check_int("create_app", "max_batch", max_batch, 1)
    max_body_bytes = check_int("create_app", "max_body_bytes", max_body_bytes, 1)
    _require()
    from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

    from ..io._describe import describe_model

    if hasattr(model, "predict_batch"):
        return _row_app(model, model_path, sparse_inference, default_top_k, max_top_k, max_batch, max_body_bytes)
    predictor = Predictor(model, sparse_inference)
    n_features = predictor.n_features
    FeatureIds = list[StrictInt]
    Values = list[Annotated[float, Field(allow_inf_nan=False)]]

    class SampleFields(BaseModel):
        model_config = ConfigDict(extra="forbid")
        ids: FeatureIds | None = None
        values: Values | None = None

        @field_validator("ids")
        @classmethod
        def _ids_in_range(cls, ids):
            for i, x in enumerate(ids or ()):
                if x < 0 or x >= n_features:
                    raise ValueError(f"feature id {x} at position {i} is out of range: the model has "
                                     f"{n_features} input features")
            return ids

        @field_validator("values")
        @classmethod
        def _one_value_an_id(cls, values, info):
            ids = info.data.get("ids")
            if values is not None and ids is not None and len(values) != len(ids):
                raise ValueError(f"must have one value for each of the {len(ids)} ids, not {len(values)}")
            return _float32_values(values)

    class Sample(SampleFields):
        ids: FeatureIds

    class PredictRequest(SampleFields):
        """One sample (``ids``, ``values``) or a batch (``samples``), and ``top_k``."""
        samples: list[Sample] | None = Field(None, min_length=1, max_length=max_batch)
        top_k: StrictInt = Field(default_top_k, ge=1, le=max_top_k)

        @model_validator(mode="after")
        def _one_or_a_batch(self):
            if (self.samples is None) == (self.ids is None):
                raise ValueError("give either 'ids' (one sample) or 'samples' (a batch), not both or neither")
            if self.samples is not None and self.values is not None:
                raise ValueError("'values' belongs to a sample; in a batch put it in each of 'samples'")
            return self

    limits = {"max_batch": max_batch, "max_top_k": max_top_k, "max_body_bytes": max_body_bytes,
              "default_top_k": default_top_k}
    about = {"path": None if model_path is None else os.path.basename(model_path), "sparse_inference": sparse_inference,
             "limits": limits, **describe_model(model)}
    app = _app("Top-k predictions of a sparsebolt model.", max_body_bytes, about)

    @app.post("/predict")
    def predict(request: PredictRequest):
        if request.samples is None:
            return _json(predictor.predict([(request.ids, request.values)], request.top_k)[0])
        rows = [(s.ids, s.values) for s in request.samples]
        return _json({"predictions": predictor.predict(rows, request.top_k)})

    return app


def _row_app(udt, model_path, sparse_inference, default_top_k, max_top_k, max_batch, max_body_bytes):
    """``create_app`` for a UniversalDeepTransformer."""
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

    from ..automl._persist import featurizer_state
    from ..io._describe import describe_automl, describe_model

    predictor = RowPredictor(udt, sparse_inference)
    # bool kept as it is (pydantic would make true 1), for check_row to refuse it
    Row = dict[str, str | bool | int | float | None]

    def _rows_valid(rows, update=False):
        for i, row in enumerate(rows or ()):
            try:
                predictor.check_row(row, update)
            except ValueError as e:
                raise ValueError(f"row {i}: {e}") from None
        return rows

    class PredictRows(BaseModel):
        """One row (``row``) or a batch (``rows``) of column name -> value, and ``top_k``."""
        model_config = ConfigDict(extra="forbid")
        row: Row | None = None
        rows: list[Row] | None = Field(None, min_length=1, max_length=max_batch)
        top_k: StrictInt = Field(default_top_k, ge=1, le=max_top_k)

        @field_validator("row")
        @classmethod
        def _row_valid(cls, row):
            return row if row is None else predictor.check_row(row)

        @field_validator("rows")
        @classmethod
        def _rows_valid(cls, rows):
            return _rows_valid(rows)

        @model_validator(mode="after")
        def _one_or_a_batch(self):
            if (self.row is None) == (self.rows is None):
                raise ValueError("give either 'row' (one row) or 'rows' (a batch), not both or neither")
            return self

    class UpdateRows(BaseModel):
        """Interactions to record: rows with the user, item and time columns; with
        ``refresh_neighbors``, the item neighbors' similarities then worked out again."""
        model_config = ConfigDict(extra="forbid")
        rows: list[Row] = Field(min_length=1, max_length=max_batch)
        refresh_neighbors: bool = False

        @field_validator("rows")
        @classmethod
        def _rows_valid(cls, rows):
            return _rows_valid(rows, update=True)

        @field_validator("refresh_neighbors")
        @classmethod
        def _refreshable(cls, refresh):  # refused before anything is recorded
            if refresh and udt.neighbors is None:
                raise ValueError("this model has no item neighbors to refresh (automatic training of a next-item "
                                 "target chooses them)")
            return refresh

    limits = {"max_batch": max_batch, "max_top_k": max_top_k, "max_body_bytes": max_body_bytes,
              "default_top_k": default_top_k}
    saved = {"config": udt.get_config(), "state": featurizer_state(udt.featurizer)[0]}
    about = {"path": None if model_path is None else os.path.basename(model_path), "sparse_inference": sparse_inference,
             "limits": limits, "required_columns": predictor.required, **describe_model(udt.model),
             "automl": describe_automl(saved)}

    def live_about():  # /update adds interactions while the server runs
        return {**about, "automl": {**about["automl"], "interactions": predictor.interactions()}}

    app = _app("Top-k labels of a sparsebolt UniversalDeepTransformer for rows of named columns.", max_body_bytes,
               live_about if udt.temporal_tracking else about)

    def _unprocessable(field, e):
        # a value the featurizer cannot read (a date it cannot parse): the client's fault; one
        # row's message without the batch's row number
        msg = e.reason if field == "row" and isinstance(e, RowError) else str(e)
        return JSONResponse(status_code=422, content={"detail": [{"type": "value_error", "loc": ["body", field],
                                                                  "msg": msg}]})

    @app.post("/predict")
    def predict(request: PredictRows):
        try:
            if request.rows is None:
                return _json(predictor.predict([request.row], request.top_k)[0])
            return _json({"predictions": predictor.predict(request.rows, request.top_k)})
        except ValueError as e:
            return _unprocessable("row" if request.rows is None else "rows", e)

    if udt.temporal_tracking:
        @app.post("/update")
        def update(request: UpdateRows):
            try:
                predictor.update(request.rows, request.refresh_neighbors)
            except ValueError as e:
                return _unprocessable("rows", e)
            return {"recorded": len(request.rows)}
    else:
        @app.post("/update", include_in_schema=False)
        def no_update():  # a bare 404 left a client guessing
            return JSONResponse(status_code=404, content={
                "detail": "this model keeps no interaction histories (it was built without temporal_tracking): "
                          "there is nothing for /update to record"})

    return app


def _json(obj):
    from fastapi import Response
    return Response(content=json.dumps(obj, allow_nan=False), media_type="application/json")


def _app(description, max_body_bytes, about):
    """A FastAPI app with the 422 handler, GET /health and GET /model (``about``: a dict, or
    a function that gives it at each request)."""
    from fastapi import FastAPI, Response
    app = FastAPI(title="sparsebolt", version=_version(), max_body_size=max_body_bytes, description=description)
    _add_error_handler(app)
    fixed = None if callable(about) else json.dumps(about)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/model")
    def model_info():
        return Response(content=fixed or json.dumps(about()), media_type="application/json")

    return app


def _float32_values(values):
    """Reject numbers that float32, the model's type, cannot hold (4e38 would become inf)."""
    for i, v in enumerate(values or ()):
        if abs(v) > _FLOAT32_MAX:
            raise ValueError(f"value {v!r} at position {i} is beyond float32's range (about 3.4e38)")
    return values


def _add_error_handler(app):
    """422 for every invalid request, also when the rejected value is NaN or infinite:
    FastAPI's own handler echoes the value and fails to encode it as JSON (a 500)."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    def _plain(value):
        try:
            json.dumps(value, allow_nan=False)
            return value
        except (TypeError, ValueError):
            return repr(value)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        detail = [{"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg"),
                   "input": _plain(e.get("input"))} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": detail})


def _version():
    from .. import __version__
    return __version__


def _deadline_protocol(request_timeout):
    """uvicorn's HTTP protocol class with a deadline on receiving each request.

    uvicorn has no such timeout: its keep-alive timer restarts on every byte, so a client
    trickling a request one byte at a time holds a connection (and its memory) forever, and
    ASGI middleware runs only once the headers are in. The deadline starts at a request's
    first byte; if its headers and body are not all in ``request_timeout`` seconds later, the
    connection is closed. It never limits the time spent answering.
    """
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class DeadlineProtocol(AutoHTTPProtocol):
        _deadline = None

        def data_received(self, data):
            if self._deadline is None:
                self._deadline = self.loop.call_later(request_timeout, self._expire, self.cycle)
            super().data_received(data)

        def _expire(self, previous_cycle):
            self._deadline = None
            cycle = self.cycle
            if cycle is None or cycle is previous_cycle or cycle.more_body:
                self.transport.close()

        def on_response_complete(self):
            self._disarm()
            super().on_response_complete()

        def connection_lost(self, exc):
            self._disarm()
            super().connection_lost(exc)

        def _disarm(self):
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

    return DeadlineProtocol


def listening_socket(host, port):
    """A TCP socket bound to (host, port) and listening; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when the listening
    # socket says TCP; without it Nagle and delayed ACKs add ~40 ms to every response
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def run(model: "Model | UniversalDeepTransformer", host: str = "127.0.0.1", port: int = 8000,
        log_level: str = "warning", request_timeout: float = 30.0, **app_kw: Any) -> None:
    """Serve a model over HTTP until interrupted. Prints the address once the socket
    listens (``sparsebolt: serving on http://HOST:PORT``).

    Parameters
    ----------
    model : Model or UniversalDeepTransformer
        As for ``create_app``.
    host : str, default='127.0.0.1'
        The address to listen on (IPv6 when it holds a ':').
    port : int, default=8000
        The port; 0 picks a free one.
    log_level : {'critical', 'error', 'warning', 'info', 'debug', 'trace'}, default='warning'
        uvicorn's log level ('info', 'debug' and 'trace' log each request).
    request_timeout : float, default=30.0
        Seconds from a request's first byte to its last (headers and body); a slower
        connection is closed.
    **app_kw
        ``create_app``'s other parameters.

    Raises
    ------
    ImportError
        When FastAPI, pydantic or uvicorn is missing.
    ValueError
        For a bad ``log_level``, ``request_timeout`` or ``create_app`` parameter.
    OSError
        When the address cannot be bound.
    """
    _require()
    log_level = check_choice("run", "log_level", log_level, LOG_LEVELS)
    request_timeout = check_float("run", "request_timeout", request_timeout, low=0, low_open=True)
    import uvicorn
    app = create_app(model, **app_kw)
    sock = listening_socket(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if sock.family == socket.AF_INET6 else host
    print(f"sparsebolt: serving on http://{shown}:{bound}", flush=True)
    config = uvicorn.Config(app, http=_deadline_protocol(request_timeout), log_level=log_level,
                            access_log=log_level in ("info", "debug", "trace"), timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
