"""The HTTP server, started as a real subprocess on 127.0.0.1 and called with httpx:
single and batch predictions equal the in-process ones, malformed bodies get 422 naming the
field, oversized ones 413, and concurrent requests share the model safely. A
UniversalDeepTransformer file takes rows of named columns and gives labels by name, bad rows
get 422 naming the column, and a recommender's /update records interactions that the next
prediction sees."""
import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

import sparsebolt as sb

from ..automl.test_udt import SMALL, _reviews, _sessions
from ..io.helpers import trained
from ..synthetic import small_model

SCRIPT = Path(sys.executable).parent / "sparsebolt"
MAX_BODY = 20_000
# seconds a request may take: httpx's default of 5 is short for a first request on a busy
# machine (a fresh server process loads its compiled kernels then); a hung server still fails
TIMEOUT = 120


def start_server(model_path, *flags):
    """(process, base URL) of ``sparsebolt serve`` on a free port, once /health answers."""
    proc = subprocess.Popen([str(SCRIPT), "serve", str(model_path), "--host", "127.0.0.1", "--port", "0",
                             "--max-body-bytes", str(MAX_BODY), "--max-batch", "8", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(120)
    if not line or "serving on http://" not in line[0]:
        proc.kill()
        pytest.fail(f"the server did not start: {line} {proc.stderr.read()}")
    url = line[0].strip().rsplit(" ", 1)[1]
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=5).json() == {"status": "ok"}:
                return proc, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"the server never became healthy: {proc.stderr.read()}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(model, data, {"dense": url, "sparse": url}) with both servers running."""
    model, data = trained()
    path = tmp_path_factory.mktemp("serve") / "model.sbm"
    model.save(path)
    procs, urls = [], {}
    try:
        for mode, flags in (("dense", ()), ("sparse", ("--sparse-inference",))):
            proc, urls[mode] = start_server(path, *flags)
            procs.append(proc)
        yield model, data, urls
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def sample(data, i):
    x = data.batch([i]).inputs[0]
    return {"ids": x.ids.tolist(), "values": x.vals.tolist()}


def expected(model, data, rows, top_k, sparse):
    ids, scores = model.predict(data.batch(rows), top_k=top_k, sparse_inference=sparse)
    return [{"ids": i.tolist(), "scores": s.tolist()} for i, s in zip(ids, scores)]


@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_single_and_batch_predictions_equal_the_in_process_ones(served, mode):
    model, data, urls = served
    sparse = mode == "sparse"
    with httpx.Client(base_url=urls[mode], timeout=TIMEOUT) as client:
        one = client.post("/predict", json={**sample(data, 3), "top_k": 4})
        assert one.status_code == 200
        want = expected(model, data, [3], 4, sparse)[0]
        assert one.json()["ids"] == want["ids"]
        np.testing.assert_array_equal(np.float32(one.json()["scores"]), np.float32(want["scores"]))
        batch = client.post("/predict", json={"samples": [sample(data, i) for i in range(6)], "top_k": 2})
        assert batch.status_code == 200
        got = batch.json()["predictions"]
        assert [p["ids"] for p in got] == [p["ids"] for p in expected(model, data, list(range(6)), 2, sparse)]
        default = client.post("/predict", json={"ids": sample(data, 3)["ids"]})   # values 1.0, top_k 5
        assert len(default.json()["ids"]) == 5


@pytest.mark.parametrize("kw, message", [
    # a request without top_k would have got the top 500 past the cap of 100
    ({"default_top_k": 500, "max_top_k": 100}, "The 'default_top_k' parameter of create_app must be at most "
                                               "max_top_k (100). Got 500 instead."),
    ({"max_top_k": 0}, "The 'max_top_k' parameter of create_app must be an int >= 1. Got 0 instead."),
    ({"max_batch": 0}, "The 'max_batch' parameter of create_app must be an int >= 1. Got 0 instead."),
    ({"max_body_bytes": -1}, "The 'max_body_bytes' parameter of create_app must be an int >= 1. Got -1 instead."),
    ({"default_top_k": 2.5}, "The 'default_top_k' parameter of create_app must be an int >= 1. Got 2.5 instead."),
    ({"sparse_inference": "no"}, "The 'sparse_inference' parameter of create_app must be a bool. Got 'no' instead."),
])
def test_create_app_checks_its_limits(kw, message):
    from sparsebolt.serve import create_app
    with pytest.raises(ValueError) as err:
        create_app(small_model(), **kw)
    assert str(err.value) == message
    assert create_app(small_model(), default_top_k=np.int64(3), sparse_inference=np.bool_(True)) is not None


def test_create_app_refuses_a_model_of_two_inputs_in_the_parameter_template():
    from sparsebolt.serve import create_app
    a, b = sb.Input(dim=5), sb.Input(dim=3)
    model = sb.Model([a, b], sb.FullyConnected(4, activation="softmax")(sb.Concatenate()(a, b)))
    with pytest.raises(ValueError, match=r"^The 'model' parameter of create_app must be a sb.Model of one sparse input "
                                         r"\(feature ids in\) or a UniversalDeepTransformer\. Got a sb.Model of 2 inputs "
                                         r"instead\.$"):
        create_app(model)


def test_an_unknown_log_level_is_refused_before_the_socket_is_bound(capsys):
    # uvicorn raised KeyError after "serving on" was printed
    from sparsebolt.serve import run
    with pytest.raises(ValueError, match=r"The 'log_level' parameter of run must be one of 'critical', 'error', "
                                         r"'warning', 'info', 'debug', 'trace'\. Got 'verbose' instead\."):
        run(small_model(), port=0, log_level="verbose")
    assert capsys.readouterr().out == ""


def test_health_and_model_metadata(served):
    model, _, urls = served
    about = httpx.get(f"{urls['sparse']}/model", timeout=TIMEOUT).json()
    # the file name only: the absolute path says more about the host than a client needs (issue 15, finding 11)
    assert about["sparse_inference"] is True and about["path"] == "model.sbm"
    assert about["inputs"] == [{"name": model.inputs[0].layer.name, "dim": 2000}]
    assert about["layers"][-1]["dim"] == 500 and about["layers"][-1]["lsh"]["family"] == "dwta"
    assert about["limits"]["max_batch"] == 8 and about["limits"]["max_body_bytes"] == MAX_BODY


@pytest.mark.parametrize("body, loc, message", [
    ({"values": [1.0]}, ["body"], "give either 'ids' (one sample) or 'samples' (a batch)"),
    ({"ids": ["a", 2]}, ["body", "ids", 0], "Input should be a valid integer"),
    ({"ids": [1.5]}, ["body", "ids", 0], "Input should be a valid integer"),
    ({"ids": [1, 2000]}, ["body", "ids"], "feature id 2000 at position 1 is out of range: the model has 2000 input features"),
    ({"ids": [1, 2], "values": [1.0]}, ["body", "values"], "must have one value for each of the 2 ids, not 1"),
    ({"ids": [1], "top_k": 0}, ["body", "top_k"], "greater than or equal to 1"),
    ({"ids": [1], "top_k": 101}, ["body", "top_k"], "less than or equal to 100"),
    ({"ids": [1], "top_k": True}, ["body", "top_k"], "Input should be a valid integer"),   # not 1
    ({"ids": [1], "colour": "red"}, ["body", "colour"], "Extra inputs are not permitted"),
    ({"samples": [{"ids": [1]}, {"ids": [-1]}]}, ["body", "samples", 1, "ids"], "feature id -1 at position 0"),
    ({"samples": [{"ids": [1]}] * 9}, ["body", "samples"], "at most 8 items"),
    ({"samples": []}, ["body", "samples"], "at least 1 item"),
])
def test_malformed_requests_get_422_naming_the_field(served, body, loc, message):
    _, _, urls = served
    r = httpx.post(f"{urls['dense']}/predict", json=body, timeout=TIMEOUT)
    assert r.status_code == 422
    errors = r.json()["detail"]
    assert any(e["loc"] == loc and message in e["msg"] for e in errors), errors


def test_a_body_that_is_not_json_gets_422(served):
    _, _, urls = served
    r = httpx.post(f"{urls['dense']}/predict", content=b'{"ids": [1,', headers={"content-type": "application/json"},
                   timeout=TIMEOUT)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("body, message", [
    (b'{"ids": [1, 2], "values": [NaN, 1.0]}', "finite number"),
    (b'{"ids": [1, 2], "values": [Infinity, 1.0]}', "finite number"),
    (b'{"ids": [1], "values": [1e999]}', "finite number"),
    (b'{"ids": [1], "values": [4e38]}', "beyond float32's range"),
])
def test_non_finite_or_float32_overflowing_values_get_422_and_the_connection_lives(served, body, message):
    # issue 15, finding 2: these were 500s (the 422 handler could not encode the value) and
    # the next request on the same connection got a reset
    _, data, urls = served
    with httpx.Client(base_url=urls["dense"], timeout=TIMEOUT) as client:
        r = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422 and message in r.json()["detail"][0]["msg"], r.text
        assert client.post("/predict", json=sample(data, 0)).status_code == 200


def test_oversized_bodies_get_413_with_or_without_a_content_length(served):
    _, _, urls = served
    big = json.dumps({"ids": list(range(2000)) * 3}).encode()
    assert len(big) > MAX_BODY
    r = httpx.post(f"{urls['dense']}/predict", content=big, headers={"content-type": "application/json"}, timeout=TIMEOUT)
    assert r.status_code == 413

    def chunks():
        for lo in range(0, len(big), 4096):
            yield big[lo:lo + 4096]

    r = httpx.post(f"{urls['dense']}/predict", content=chunks(), headers={"content-type": "application/json"}, timeout=TIMEOUT)
    assert r.status_code == 413
    assert httpx.get(f"{urls['dense']}/health", timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_concurrent_requests_share_the_model_safely(served, mode):
    model, data, urls = served
    want = expected(model, data, list(range(40)), 3, mode == "sparse")

    def call(i):
        with httpx.Client(base_url=urls[mode], timeout=TIMEOUT) as client:
            return [client.post("/predict", json={**sample(data, j), "top_k": 3}).json()["ids"]
                    for j in range(i % 5, 40, 5)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(16)))
    for i, got in enumerate(results):
        assert got == [want[j]["ids"] for j in range(i % 5, 40, 5)]
    batch = [sample(data, j) for j in range(8)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: httpx.post(f"{urls[mode]}/predict", json={"samples": batch, "top_k": 3}, timeout=TIMEOUT).json(),
                                range(12)))
    assert all([p["ids"] for p in a["predictions"]] == [w["ids"] for w in want[:8]] for a in answers)


def test_serving_a_missing_or_damaged_file_fails_with_exit_code_1(tmp_path):
    run = subprocess.run([str(SCRIPT), "serve", str(tmp_path / "none.sbm"), "--port", "0"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1 and "No model file at" in run.stderr


def _closed_by_the_server(sock):
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def test_a_client_too_slow_to_send_its_request_is_disconnected(served, tmp_path):
    model, data, _ = served
    path = tmp_path / "model.sbm"
    model.save(path)
    proc, url = start_server(path, "--request-timeout", "1")
    try:
        host, port = url.removeprefix("http://").split(":")
        body = json.dumps(sample(data, 0)).encode()
        head = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
        for unfinished in (head[:30], head + body[:5]):
            with socket.create_connection((host, int(port)), timeout=60) as sock:
                sock.sendall(unfinished)
                assert _closed_by_the_server(sock)
        # a trickle of bytes does not keep the connection: uvicorn's own timer restarts on each
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            sock.sendall(b"POST /predict HTTP/1.1\r\nX-Pad: ")
            with pytest.raises((BrokenPipeError, ConnectionResetError)):
                for _ in range(600):
                    sock.sendall(b"a")
                    time.sleep(0.1)
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            sock.sendall(head + body)
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        assert httpx.post(f"{url}/predict", json=sample(data, 0), timeout=60).status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)


def test_accepted_connections_send_without_waiting_for_a_delayed_ack():
    # without TCP_NODELAY on accepted connections every response waited ~40 ms for the
    # client's delayed ACK (Nagle); asyncio, which uvicorn serves on, sets it on accepted
    # sockets only when the listening socket was made with proto IPPROTO_TCP
    from sparsebolt.serve.app import listening_socket

    async def main():
        accepted = asyncio.get_running_loop().create_future()

        def on_client(reader, writer):
            accepted.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        sock = listening_socket("127.0.0.1", 0)
        server = await asyncio.start_server(on_client, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
            nodelay = await asyncio.wait_for(accepted, 30)
            writer.close()
        return nodelay

    assert asyncio.run(main()) != 0


def _stop(proc):
    proc.terminate()
    proc.wait(30)


@pytest.fixture(scope="module")
def served_udt(tmp_path_factory):
    rng = np.random.default_rng(0)
    rows = [{"review": text, "price": float(rng.uniform(5, 50)), "size": str(rng.choice(["S", "M", "L"])),
             "recommended": label} for text, label in _reviews(rng, 300)]
    udt = sb.UniversalDeepTransformer({"review": sb.types.text(), "price": sb.types.numerical(bins=8),
                                       "size": sb.types.categorical(), "recommended": sb.types.categorical()},
                                      target="recommended", **SMALL)
    udt.train(rows, epochs=2, learning_rate=5e-3, verbose=False)
    path = tmp_path_factory.mktemp("udt") / "udt.sbm"
    udt.save(path)
    proc, url = start_server(path)
    try:
        yield udt, [{k: v for k, v in r.items() if k != "recommended"} for r in rows], url
    finally:
        _stop(proc)


def test_rows_get_labels_by_name_equal_to_the_in_process_ones(served_udt):
    udt, rows, url = served_udt
    with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        one = client.post("/predict", json={"row": rows[0], "top_k": 2})
        assert one.status_code == 200, one.text
        want = udt.predict(rows[0], top_k=2)
        assert one.json()["labels"] == [label for label, _ in want]
        np.testing.assert_allclose(one.json()["scores"], [s for _, s in want], rtol=1e-6)
        batch = client.post("/predict", json={"rows": rows[:5]})
        assert batch.status_code == 200
        assert [p["labels"][0] for p in batch.json()["predictions"]] == [r[0][0] for r in udt.predict_batch(rows[:5])]
        # null is a missing value
        assert client.post("/predict", json={"row": {**rows[0], "price": None}}).status_code == 200
        about = client.get("/model").json()
        assert about["automl"]["target"] == "recommended" and about["required_columns"] == ["review", "price", "size"]
        r = client.post("/update", json={"rows": rows[:1]})  # no temporal tracking: says so
        assert r.status_code == 404 and "without temporal_tracking" in r.json()["detail"]


@pytest.mark.parametrize("row, message", [
    ({"review": "nice", "price": 10.0, "size": "S", "colour": "red"}, "unknown column 'colour'"),
    ({"review": "nice", "price": 10.0}, "missing column(s) ['size']"),
    ({"review": "nice", "price": "ten", "size": "S"}, "column 'price' is numerical: expected a number"),
    ({"review": 5, "price": 1.0, "size": "S"}, "column 'review' is text: expected a string"),
    ({"review": "nice", "price": 1.0, "size": "S", "recommended": "yes"}, "column 'recommended' is the target"),
    # JSON true is no number, nor a category (pydantic had made it 1)
    ({"review": "nice", "price": True, "size": "S"}, "column 'price' is numerical: expected a number"),
    ({"review": "nice", "price": 1.0, "size": False}, "column 'size' is categorical"),
    ({"review": "nice", "price": 10 ** 400, "size": "S"}, "column 'price': expected a number"),
])
def test_a_bad_row_gets_422_naming_the_column(served_udt, row, message):
    _, _, url = served_udt
    for body, loc in (({"row": row}, ["body", "row"]), ({"rows": [row]}, ["body", "rows"])):
        r = httpx.post(f"{url}/predict", json=body, timeout=TIMEOUT)
        assert r.status_code == 422
        assert any(e["loc"] == loc and message in e["msg"] for e in r.json()["detail"]), r.json()


def test_a_non_finite_number_gets_422_not_500(served_udt):
    _, _, url = served_udt
    r = httpx.post(f"{url}/predict", content=b'{"row": {"review": "nice", "price": NaN, "size": "S"}}',
                   headers={"content-type": "application/json"}, timeout=TIMEOUT)
    assert r.status_code == 422 and "column 'price': numbers must be finite" in r.json()["detail"][0]["msg"], r.text


def test_a_recommender_takes_new_interactions_through_update(tmp_path):
    rng = np.random.default_rng(2)
    rows = _sessions(rng, 80, 20, 10)
    udt = sb.UniversalDeepTransformer(
        {"user": sb.types.categorical(), "item": sb.types.categorical(), "time": sb.types.date(format="unix")},
        target="item", temporal_tracking={"user": ["item"]}, **SMALL)
    udt.train([dict(zip(["user", "item", "time"], r)) for r in rows], epochs=6, learning_rate=1e-2, verbose=False)
    udt.save(tmp_path / "rec.sbm")
    proc, url = start_server(tmp_path / "rec.sbm")
    try:
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            # a new user: after their interactions with items 3 and 4, the cycle says item 5
            r = client.post("/update", json={"rows": [{"user": "new", "item": "item3", "time": 2_000_000},
                                                      {"user": "new", "item": "item4", "time": 2_000_100}]})
            assert r.status_code == 200 and r.json() == {"recorded": 2}
            got = client.post("/predict", json={"row": {"user": "new"}, "top_k": 1}).json()
            assert got["labels"] == ["item5"]
            before = client.get("/model").json()["automl"]["interactions"]
            assert before == sum(len(h) for h in udt.featurizer.histories.values()) + 2
            # a null user or item records nothing: refused (it had answered 'recorded')
            for row in ({"user": None, "item": "item3", "time": 2_000_200},
                        {"user": "new", "item": None, "time": 2_000_200}):
                r = client.post("/update", json={"rows": [row]})
                assert r.status_code == 422 and "nothing to record" in r.json()["detail"][0]["msg"], r.json()
            assert client.post("/predict", json={"row": {"user": "new"}, "top_k": True}).status_code == 422
            # trained for 6 epochs given: no item neighbors to refresh, and nothing recorded
            r = client.post("/update", json={"rows": [{"user": "new", "item": "item6", "time": 2_000_300}],
                                              "refresh_neighbors": True})
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "refresh_neighbors"], r.json()
            assert client.get("/model").json()["automl"]["interactions"] == before
            bad = client.post("/update", json={"rows": [{"user": "new", "item": "item3", "time": "yesterday"}]})
            assert bad.status_code == 422 and "time" in bad.json()["detail"][0]["msg"], bad.json()
            one = client.post("/predict", json={"row": {"user": "new", "time": "yesterday"}})
            assert one.status_code == 422 and one.json()["detail"][0]["msg"].startswith("column 'time'"), one.json()
    finally:
        _stop(proc)


def test_an_update_row_is_refused_only_when_it_has_nothing_to_record():
    from sparsebolt.serve.app import RowPredictor
    rows = [{"user": f"u{i % 5}", "item": f"item{i % 7}", "cat": f"c{i % 3}", "time": 1000 + i} for i in range(60)]
    udt = sb.UniversalDeepTransformer(
        {"user": sb.types.categorical(), "item": sb.types.categorical(), "cat": sb.types.categorical(),
         "time": sb.types.date(format="unix")},
        target="item", temporal_tracking={"user": ["item", "cat"]}, **SMALL)
    udt.train(rows, epochs=1, verbose=False)
    check = RowPredictor(udt, False).check_row
    # one tracked item column null, the other given: its item is recorded (a whole-row refusal had lost it)
    assert check({"user": "u1", "item": "item3", "cat": None, "time": 2000}, update=True)
    for row in ({"user": None, "item": "item3", "cat": "c1", "time": 2000},
                {"user": "u1", "item": None, "cat": None, "time": 2000}):
        with pytest.raises(ValueError, match="nothing to record"):
            check(row, update=True)


def test_an_update_can_refresh_the_item_neighbors():
    from sparsebolt.serve.app import RowPredictor

    from ..automl.test_neighbors import TYPES, _histories

    train, _, _ = _histories(3)
    udt = sb.UniversalDeepTransformer(TYPES, target="item", temporal_tracking={"user": ["item"]})
    udt.train(train, verbose=False)
    predictor = RowPredictor(udt)
    table = udt.neighbors
    rows = [{"user": r["user"], "item": "i0" if r["item"] != "i0" else "i1", "time": 9_000_000 + i}
            for i, r in enumerate(train[:200])]
    predictor.update(rows)
    assert udt.neighbors is table  # recorded only
    predictor.update(rows, refresh_neighbors=True)
    assert udt.neighbors is not table and udt.neighbors.weight == table.weight
    assert not np.array_equal(udt.neighbors.vals, table.vals)
