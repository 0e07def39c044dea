"""A next-item UDT (temporal tracking of the target's items) ranks with item-item co-occurrence
beside its network and, where users never come back to an item, without their past items:
both chosen on the held-out rows of automatic training."""
import numpy as np
import pytest

import sparsebolt as sb
import sparsebolt.automl.udt as udt_module
from sparsebolt.io import ModelFileError

from ..io.helpers import load_crafted_udt

TYPES = {"user": sb.types.categorical(), "item": sb.types.categorical(), "time": sb.types.date(format="unix")}


def _histories(seed, n_users=400, n_items=300, n_topics=30, length=16, repeat=0.0):
    """(train rows, {user: later items}, {user: first later time}): each user's items come
    from two topics of theirs in no order; with ``repeat`` a row is, with that probability,
    one of the user's earlier items again. A user's last quarter is the test."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, n_topics, n_items)
    train, later, first = [], {}, {}
    for u in range(n_users):
        pool = np.flatnonzero(np.isin(topic, rng.choice(n_topics, 2, replace=False)))
        items = list(rng.choice(pool, min(length, pool.size), replace=False))
        seq = []
        for it in items:
            seq.append(seq[rng.integers(len(seq))] if seq and rng.random() < repeat else it)
        cut = len(seq) * 3 // 4
        times = 1_000_000 + 3600 * np.arange(len(seq)) + u
        train += [{"user": f"u{u}", "item": f"i{it}", "time": int(t)} for it, t in zip(seq[:cut], times[:cut])]
        later[f"u{u}"] = {f"i{it}" for it in seq[cut:]}
        first[f"u{u}"] = int(times[cut])
    return train, later, first


def _recall(udt, later, first, past=None):
    users = sorted(later)
    preds = udt.predict_batch([{"user": u, "time": first[u]} for u in users], top_k=10 + 16)
    total = 0.0
    for u, p in zip(users, preds):
        ranked = [label for label, _ in p if past is None or label not in past[u]][:10]
        total += len(set(ranked) & later[u]) / min(10, len(later[u]))
    return total / len(users)


@pytest.fixture(scope="module")
def fitted():
    train, later, first = _histories(0)
    udt = sb.UniversalDeepTransformer(TYPES, target="item", temporal_tracking={"user": ["item"]})
    history = udt.train(train, verbose=False)
    return udt, history, train, later, first


def test_co_occurrence_is_chosen_and_lifts_the_next_items(fitted):
    udt, history, train, later, first = fitted
    past = {}
    for r in train:
        past.setdefault(r["user"], set()).add(r["item"])
    assert history.history_weight > 0.0 and history.history_excluded
    assert udt.neighbors.weight == history.history_weight
    blended = _recall(udt, later, first)
    # no prediction names an item the user had
    preds = udt.predict_batch([{"user": u, "time": first[u]} for u in sorted(later)], top_k=50)
    assert all(label not in past[u] for u, p in zip(sorted(later), preds) for label, _ in p)
    neighbors, udt.neighbors = udt.neighbors, None
    try:
        network = _recall(udt, later, first, past)  # the network alone, past items filtered as before
    finally:
        udt.neighbors = neighbors
    assert blended > network + 0.03


def test_evaluate_and_sparse_inference_rank_as_predict_does(fitted):
    udt, _, _, later, first = fitted
    rows = [{"user": u, "time": first[u] + 1, "item": sorted(later[u])[0]} for u in sorted(later)]
    preds = udt.predict_batch([{"user": r["user"], "time": r["time"]} for r in rows], top_k=10)
    want = np.mean([r["item"] in [label for label, _ in p] for r, p in zip(rows, preds)])
    assert udt.evaluate(rows, metrics=["recall@10"])["recall@10"] == pytest.approx(want)
    sparse = udt.predict_batch([{"user": r["user"], "time": r["time"]} for r in rows], top_k=5,
                               sparse_inference=True)
    assert all(0.0 < s <= 1.0 for p in sparse for _, s in p) and all(len(p) <= 5 for p in sparse)


def test_the_matrix_and_the_lists_rank_alike(fitted, monkeypatch):
    import sparsebolt.automl.neighbors as neighbors_module

    udt, _, _, later, first = fitted
    rows = [{"user": u, "time": first[u]} for u in sorted(later)]
    ranked = {}
    for share, items in ((0.0, 10**6), (1.0, 0)):  # always the matrix, then never
        monkeypatch.setattr(neighbors_module, "DENSE_SHARE", share)
        monkeypatch.setattr(neighbors_module, "DENSE_ITEMS", items)
        udt.neighbors._matrix = None
        ranked[share] = udt.predict_batch(rows, top_k=10) + [udt.predict(rows[0], top_k=10)]
    assert ranked[0.0] == ranked[1.0]


def test_a_saved_model_keeps_its_neighbors(fitted, tmp_path):
    udt, _, _, later, first = fitted
    path = tmp_path / "m.sbm"
    udt.save(path)
    loaded = sb.UniversalDeepTransformer.load(path)
    assert (loaded.neighbors.weight, loaded.neighbors.exclude) == (udt.neighbors.weight, udt.neighbors.exclude)
    rows = [{"user": u, "time": first[u]} for u in sorted(later)[:50]]
    assert loaded.predict_batch(rows, top_k=5) == udt.predict_batch(rows, top_k=5)


@pytest.mark.parametrize("key, change, message", [
    ("automl/neighbors/ids", lambda a: a + 10_000, "must hold values in"),
    ("automl/neighbors/offsets", lambda a: a[::-1].copy(), "never decrease"),
])
def test_a_file_with_damaged_neighbors_is_refused(fitted, tmp_path, key, change, message):
    with pytest.raises(ModelFileError, match=message):
        load_crafted_udt(fitted[0], tmp_path, key, change)


def test_users_who_come_back_keep_their_past_items_in_the_ranking():
    train, _, _ = _histories(1, repeat=0.6)
    udt = sb.UniversalDeepTransformer(TYPES, target="item", temporal_tracking={"user": ["item"]})
    history = udt.train(train, verbose=False)
    assert not history.history_excluded


def test_none_is_chosen_where_the_held_out_rows_gain_nothing(monkeypatch):
    monkeypatch.setattr(udt_module, "HISTORY_WEIGHTS", (0.0,))
    train, _, _ = _histories(1, repeat=0.6)
    udt = sb.UniversalDeepTransformer(TYPES, target="item", temporal_tracking={"user": ["item"]})
    history = udt.train(train, verbose=False)
    assert history.history_weight == 0.0 and not history.history_excluded and udt.neighbors is None


def test_rows_of_several_items_count_each_item():
    # each row two items of the user's topics: the similarities and past items see both
    train, later, first = _histories(2, length=24)
    pairs = [dict(a, item=f"{a['item']}|{b['item']}") for a, b in zip(train[::2], train[1::2])
             if a["user"] == b["user"]]
    types = dict(TYPES, item=sb.types.categorical(delimiter="|"))
    udt = sb.UniversalDeepTransformer(types, target="item", temporal_tracking={"user": ["item"]})
    history = udt.train(pairs, verbose=False)
    assert history.history_excluded and udt.neighbors is not None
    past = {}
    for r in pairs:
        past.setdefault(r["user"], set()).update(r["item"].split("|"))
    preds = udt.predict_batch([{"user": u, "time": first[u]} for u in sorted(later)], top_k=20)
    assert all(label not in past[u] for u, p in zip(sorted(later), preds) for label, _ in p)
    assert udt.neighbors.offsets[-1] > 0


def test_streamed_rows_choose_the_neighbors_too(fitted, tmp_path):
    # held out from the first chunk only; the rows of the later chunks are kept ones, and the
    # model's similarities come from every interaction, as in memory
    udt, _, train, later, first = fitted
    path = tmp_path / "rows.csv"
    path.write_text("user,item,time\n" + "".join(f"{r['user']},{r['item']},{r['time']}\n" for r in train))
    streamed = sb.UniversalDeepTransformer(TYPES, target="item", temporal_tracking={"user": ["item"]})
    history = streamed.train(path, verbose=False, max_in_memory_rows=1024)
    assert history.history_weight > 0.0 and history.history_excluded
    np.testing.assert_array_equal(streamed.neighbors.offsets, udt.neighbors.offsets)
    np.testing.assert_array_equal(streamed.neighbors.ids, udt.neighbors.ids)
    blended = _recall(streamed, later, first)
    streamed.neighbors = None
    past = {}
    for r in train:
        past.setdefault(r["user"], set()).add(r["item"])
    assert blended > _recall(streamed, later, first, past) + 0.03


def test_refresh_neighbors_takes_interactions_recorded_since_training(tmp_path):
    train, later, first = _histories(3)
    udt = sb.UniversalDeepTransformer(TYPES, target="item", temporal_tracking={"user": ["item"]})
    udt.train(train, verbose=False)
    weight, exclude = udt.neighbors.weight, udt.neighbors.exclude
    # a new item that half the users of an item take up after training
    anchor = train[0]["item"]
    fans = sorted({r["user"] for r in train if r["item"] == anchor})
    takers, others = fans[: len(fans) // 2], fans[len(fans) // 2:]
    new = [{"user": u, "item": "brand_new", "time": 5_000_000 + i} for i, u in enumerate(takers)]
    new_id = udt.introduce_label(new, "brand_new")
    udt.update_history(new)
    assert udt.neighbors.offsets.shape[0] - 1 <= new_id  # none for the class added

    def places():  # where the new item ranks for the anchor's other users
        rows = [{"user": u, "time": 6_000_000} for u in others]
        ranked = udt.predict_batch(rows, top_k=udt.n_classes)
        return [[label for label, _ in r].index("brand_new") for r in ranked]

    before = places()
    udt.refresh_neighbors()
    table = udt.neighbors
    assert (table.weight, table.exclude) == (weight, exclude)
    assert udt.featurizer.labels.index[anchor] in table.ids[table.offsets[new_id]:table.offsets[new_id + 1]]
    assert np.mean(places()) < np.mean(before) / 2  # 77.5 -> 10.2 when written
    path = tmp_path / "m.sbm"
    udt.save(path)
    np.testing.assert_array_equal(sb.UniversalDeepTransformer.load(path).neighbors.ids, table.ids)
    udt.neighbors = None
    with pytest.raises(ValueError, match="refresh_neighbors needs item neighbors"):
        udt.refresh_neighbors()
