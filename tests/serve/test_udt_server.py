"""``sparsebolt serve`` of a UniversalDeepTransformer file: rows of named columns in, labels
by name out, equal to the in-process predictions; bad rows get 422 naming the column; a
recommender's /update records interactions that the next prediction sees."""
import httpx
import numpy as np
import pytest

import sparsebolt as sb

from ..automl.test_udt import SMALL, _reviews, _sessions
from .test_server import TIMEOUT, start_server


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
