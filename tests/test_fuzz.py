"""Property-based fuzzing of everything that reads outside input: the SVM parser, the CSV
reader, the model-file loader and the HTTP request schema. Every generated input must end
in the documented error type or a correct result, within a time bound: never a hang, a
crash, another exception or a NaN output.

``make test`` runs a small budget; a larger one:

    SPARSEBOLT_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest -q tests/test_fuzz.py
"""
import contextlib
import json
import os
import signal
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sparsebolt as sb
from sparsebolt.data import DataFormatError
from sparsebolt.data.csv import RowError, read_chunks
from sparsebolt.io import ModelFileError
from sparsebolt.io._describe import describe_file

from .io.helpers import trained

EXAMPLES = int(os.environ.get("SPARSEBOLT_FUZZ_EXAMPLES", "30"))
# a generous bound per input: a hang fails the test instead of stalling the suite
SECONDS = 60
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@contextlib.contextmanager
def time_bound(seconds=SECONDS):
    def hang(*_):
        raise TimeoutError(f"no answer within {seconds} s: a hang")
    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# SVM text: mostly well-formed tokens, sometimes any bytes
_svm_token = st.one_of(st.from_regex(r"[0-9]{1,4}:-?[0-9]{0,3}(\.[0-9]{0,3})?(e[+-]?[0-9]{1,3})?", fullmatch=True),
                       st.from_regex(r"[0-9]{1,3}(,[0-9]{1,3}){0,2}", fullmatch=True),
                       st.sampled_from(["nan", "inf", ":", ",", " ", "\t", "1e39", "-0", "2147483648:1"]))
_svm_line = st.lists(_svm_token, max_size=8).map(" ".join)
_svm_text = st.one_of(st.lists(_svm_line, max_size=12).map(lambda ls: "\n".join(ls).encode()),
                      st.binary(max_size=300))


@FUZZ
@given(data=_svm_text)
def test_svm_parser(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("svm") / "d.svm"
    path.write_bytes(data)
    with time_bound():
        try:
            ds = sb.data.load_svm(path, batch_size=7)
            for batch in ds:
                x = batch.inputs[0]
                assert np.isfinite(x.vals).all()
                assert x.ids.size == 0 or (x.ids.min() >= 0 and x.ids.max() < ds.n_features)
                assert batch.labels.ids.size == 0 or batch.labels.ids.max() < ds.n_labels
        except (DataFormatError, ValueError):
            pass


_csv_text = st.one_of(
    st.lists(st.lists(st.one_of(st.text(max_size=12), st.sampled_from(['"', '""', "\n", ",", "inf", "NaT", "1e400"])),
                      min_size=1, max_size=4).map(lambda r: ",".join(r)), max_size=8).map(lambda ls: "a,b\n" + "\n".join(ls)),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")))


@FUZZ
@given(text=_csv_text, encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
def test_csv_reader(tmp_path_factory, text, encoding):
    path = tmp_path_factory.mktemp("csv") / "d.csv"
    path.write_bytes(text.encode(encoding, "replace"))
    with time_bound():
        try:
            for chunk in read_chunks(str(path), ["a", "b"], 3):
                assert set(chunk.columns) == {"a", "b"}
        except (DataFormatError, RowError, ValueError):
            pass


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    model, data = trained()
    path = tmp_path_factory.mktemp("model") / "m.sbm"
    model.save(path)
    return path, data.batch(np.arange(8))


def _load_and_predict(path, batch):
    with time_bound():
        try:
            model = sb.Model.load(path, verify=True)
        except ModelFileError:
            return
        for sparse in (False, True):
            ids, scores = model.predict(batch.inputs[0], top_k=3, sparse_inference=sparse)
            assert not np.isnan(scores).any()


@FUZZ
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=4))
def test_model_file_loader_on_damaged_bytes(model_file, tmp_path_factory, cut, flips):
    path, batch = model_file
    raw = bytearray(path.read_bytes())
    for where, xor in flips:
        raw[int(where * (len(raw) - 1))] ^= xor
    raw = raw[:max(1, int(len(raw) * (0.5 + cut / 2)))] if cut < 0.5 else raw
    damaged = tmp_path_factory.mktemp("damaged") / "m.sbm"
    damaged.write_bytes(bytes(raw))
    _load_and_predict(damaged, batch)


_json = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                               st.text(max_size=8)),
                     lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner,
                                                                                            max_size=3)), max_leaves=8)


@FUZZ
@given(path=st.sampled_from(["state", "model", "arrays", "format_version"]), value=_json)
def test_model_file_loader_on_crafted_manifests(model_file, tmp_path_factory, path, value):
    src, batch = model_file
    crafted = tmp_path_factory.mktemp("crafted") / "m.sbm"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(crafted, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                manifest[path] = value
                data = json.dumps(manifest).encode()
            zout.writestr(info.filename, data)
    _load_and_predict(crafted, batch)
    with time_bound():
        try:
            describe_file(crafted)
        except ModelFileError:
            pass


@pytest.fixture(scope="module")
def client(model_file):
    from fastapi.testclient import TestClient

    from sparsebolt.serve import create_app
    path, _ = model_file
    return TestClient(create_app(sb.Model.load(path), max_batch=8), raise_server_exceptions=False)


_bodies = st.one_of(
    st.fixed_dictionaries({"ids": st.lists(st.integers(-5, 2100), max_size=6)},
                          optional={"values": st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64),
                                                       max_size=6), "top_k": st.integers(-2, 200)}),
    st.dictionaries(st.sampled_from(["ids", "values", "samples", "top_k", "x"]), _json, max_size=3))


@FUZZ
@given(body=_bodies)
def test_http_request_schema(client, body):
    with time_bound():
        raw = json.dumps(body, allow_nan=True)
        r = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert r.status_code in (200, 422), (r.status_code, raw, r.text)
    if r.status_code == 200:
        out = r.json()
        for p in out.get("predictions", [out]):
            assert all(np.isfinite(p["scores"]))
