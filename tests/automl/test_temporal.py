"""Temporal tracking never shows a row its own interaction or a later one, ties included."""
import bisect

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.automl.temporal import InteractionHistory
from sparsebolt.data import DataFormatError

from .helpers import featurize, history_ids, make


def _feat(**kw):
    types = {"user": sb.types.categorical(), "item": sb.types.categorical(), "t": sb.types.date(format="unix")}
    return make(types, target="item", temporal_tracking={"user": ["item"]}, **kw)


def _history(feat, rows, mode="train"):
    """For each row, which of all items appear in its history tokens."""
    items = sorted({r["item"] for r in rows if "item" in r} | {"a", "b", "c", "d", "e"})
    per_row = featurize(feat, rows, mode)
    out = []
    for ids, _ in per_row:
        out.append({it for it in items if history_ids(feat, [it]) & set(ids)})
    return out


ROWS = [{"user": "u", "item": "a", "t": 1}, {"user": "u", "item": "b", "t": 2},
        {"user": "u", "item": "c", "t": 2}, {"user": "v", "item": "e", "t": 2},
        {"user": "u", "item": "d", "t": 3}]


def test_history_holds_only_strictly_earlier_items_of_the_same_user():
    seen = _history(_feat(), ROWS)
    assert seen == [set(), {"a"}, {"a"}, set(), {"a", "b", "c"}]


def test_no_future_leak_when_the_file_is_not_in_time_order():
    seen = _history(_feat(), ROWS[::-1])
    # the t=3 row comes first and sees nothing; the tied t=2 rows never see each other or d
    assert seen == [set(), set(), set(), set(), set()]
    # a second pass (another epoch) sees the whole past, still never a tie or the future
    feat = _feat()
    _history(feat, ROWS[::-1])
    assert _history(feat, ROWS[::-1]) == [{"a", "b", "c"}, set(), {"a"}, {"a"}, set()]


def test_epochs_do_not_duplicate_history():
    feat = _feat()
    first = featurize(feat, ROWS)
    size = len(feat.histories[("user", "item")])
    assert featurize(feat, ROWS) == first
    assert len(feat.histories[("user", "item")]) == size == 5


def test_prediction_reads_history_without_recording():
    feat = _feat()
    featurize(feat, ROWS)
    (at2,), (latest,) = (_history(feat, [r], "predict") for r in ({"user": "u", "t": 2}, {"user": "u"}))
    assert at2 == {"a"}
    assert latest == {"a", "b", "c", "d"}  # no time: the whole recorded history
    _history(feat, [{"user": "u", "item": "e", "t": 9}], "predict")
    assert len(feat.histories[("user", "item")]) == 5


def test_history_length_keeps_the_latest():
    feat = _feat(history_length=2)
    seen = _history(feat, ROWS)
    assert seen[-1] == {"b", "c"}


def test_evaluation_rows_record_a_time_is_required(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("user,item,t\nu,a,1\nu,b,\n")
    with pytest.raises(DataFormatError, match=r"line 3: temporal tracking needs a time in column 't'"):
        featurize(_feat(), str(path))


def test_interaction_history_directly():
    h = InteractionHistory()
    for t, item in ((5, "x"), (1, "y"), (5, "z"), (5, "x"), (3, "w")):
        h.record("u", t, item)
    assert len(h) == 4 and h.n_users == 1
    assert h.before("u", 5, 10) == ["y", "w"]
    assert h.before("u", 6, 10) == ["y", "w", "x", "z"]
    assert h.before("u", 6, 2) == ["x", "z"]
    assert h.before("u", 1, 10) == [] and h.before("nobody", 9, 10) == []
    # the same items as codes into the vocabulary, which a loaded history rebuilds
    assert [h.vocab[c] for c in h.codes_before("u", 6, 10)] == h.before("u", 6, 10)
    assert sorted(h.vocab) == ["w", "x", "y", "z"] and h.codes_before("nobody", 9, 10) == []
    state = h.as_lists()
    g = InteractionHistory()
    g.set_lists(*state)
    assert g.before("u", None, 10) == h.before("u", None, 10)
    assert [g.vocab[c] for c in g.codes_before("u", None, 10)] == h.before("u", None, 10)
    g.clear()
    assert g.vocab == [] and g.codes_before("u", None, 10) == []


# the pasts and histories of whole chunks (InteractionHistory.rows, one kernel) against
# recording row by row, as InteractionHistory did before them: bisect over per-user lists

class _RowByRow:
    def __init__(self):
        self.times, self.items, self.users = {}, {}, []

    def before(self, user, time, n):
        times = self.times.get(user, [])
        end = len(times) if time is None else bisect.bisect_left(times, time)
        return self.items.get(user, [])[max(0, end - n):end]

    def record(self, user, time, item):
        if user not in self.times:
            self.times[user], self.items[user] = [], []
            self.users.append(user)
        times, items = self.times[user], self.items[user]
        lo, hi = bisect.bisect_left(times, time), bisect.bisect_right(times, time)
        if item not in items[lo:hi]:
            times.insert(hi, time)
            items.insert(hi, item)

    def chunk(self, users, times, timed, items, n):
        """Each row's past, then its items recorded (items None: nothing recorded)."""
        out = []
        for i, user in enumerate(users):
            t = int(times[i]) if timed[i] else None
            out.append([] if user is None else self.before(user, t, n))
            if user is not None and items is not None and t is not None:
                for item in items[i]:
                    self.record(user, t, item)
        return out

    def as_lists(self):
        return (self.users, [len(self.times[u]) for u in self.users],
                [t for u in self.users for t in self.times[u]], [x for u in self.users for x in self.items[u]])


def _chunk(history, users, times, timed, items, n):
    """``history.rows`` of rows given as lists; each row's past as item strings."""
    distinct = list(dict.fromkeys(users))
    place = np.array([distinct.index(u) for u in users], dtype=np.int64)
    recorded = None
    if items is not None:
        offsets = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum([len(row) for row in items], out=offsets[1:])
        recorded = ([x for row in items for x in row], offsets, np.arange(offsets[-1]))
    offsets, codes = history.rows(distinct, place, np.asarray(times, dtype=np.int64), np.asarray(timed, dtype=bool),
                                  n, recorded)
    assert offsets.dtype == np.int64 and codes.dtype == np.int32
    return [[history.vocab[c] for c in codes[a:b]] for a, b in zip(offsets[:-1], offsets[1:])]


def _both(chunks, n):
    """Feed (users, times, timed, items) chunks to both; assert they agree, return the pasts."""
    history, reference, pasts = InteractionHistory(), _RowByRow(), []
    for users, times, timed, items in chunks:
        want = reference.chunk(users, times, timed, items, n)
        assert _chunk(history, users, times, timed, items, n) == want
        assert history.as_lists() == reference.as_lists()
        pasts.append(want)
    # codes count up in the order items were first recorded
    assert history.vocab == list(dict.fromkeys(x for users, _, timed, items in chunks if items is not None
                                               for u, ok, row in zip(users, timed, items) if u is not None and ok
                                               for x in row))
    return pasts


def test_chunks_agree_with_row_by_row_recording_on_random_rows():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 6)) if rng.random() < 0.8 else 1 << 62
        chunks = []
        for _ in range(int(rng.integers(1, 4))):
            rows = int(rng.integers(0, 12))
            record = rng.random() < 0.7
            chunks.append(([None if rng.random() < 0.15 else f"u{rng.integers(4)}" for _ in range(rows)],
                           rng.integers(0, 5, rows), np.ones(rows, bool) if record else rng.random(rows) < 0.7,
                           [[f"i{rng.integers(6)}" for _ in range(rng.integers(0, 3))] for _ in range(rows)]
                           if record else None))
        _both(chunks, n)


def test_users_without_history_see_nothing_and_unseen_ones_are_not_recorded():
    rows = (["u", None, "v", "u"], [1, 1, 2, 3], [True] * 4, [["a"], ["x"], [], ["b"]])
    asked = (["nobody", None, "v", "u"], [9, 9, 9, 9], [True, True, True, False], None)
    pasts = _both([rows, asked], 10)
    assert pasts == [[[], [], [], ["a"]], [[], [], [], ["a", "b"]]]
    history = InteractionHistory()
    _chunk(history, *rows, 10)
    # a row without a user records nothing ('x'); a user whose rows bring no item is not kept
    assert history.as_lists() == (["u"], [2], [1, 3], ["a", "b"]) and history.vocab == ["a", "b"]
    _chunk(history, ["new"], [5], [True], None, 10)  # not recorded: no user, no item added
    assert history.n_users == 1 and history.vocab == ["a", "b"] and history.codes_before("new", None, 5) == []


def test_ties_in_time_never_see_each_other_and_keep_their_recording_order():
    rows = (["u"] * 6, [5, 5, 3, 5, 9, 5], [True] * 6, [["b"], ["a", "a"], ["c"], ["b", "d"], [], ["a"]])
    pasts = _both([rows, rows], 10)
    # t=5 rows see the t=3 item once it is recorded, never another t=5 one; duplicates kept once
    assert pasts[0] == [[], [], [], ["c"], ["c", "b", "a", "d"], ["c"]]
    assert pasts[1] == [["c"], ["c"], [], ["c"], ["c", "b", "a", "d"], ["c"]]


def test_rows_out_of_time_order_see_only_the_rows_recorded_before_them():
    rows = (["u", "u", "u", "v", "u"], [9, 2, 5, 1, 7], [True] * 5, [["late"], ["early"], ["mid"], ["x"], ["z"]])
    assert _both([rows], 10) == [[[], [], ["early"], [], ["early", "mid"]]]


def test_histories_longer_than_the_window_give_their_latest_items():
    items = [[f"i{k}"] for k in range(12)]
    rows = (["u"] * 12, list(range(12)), [True] * 12, items)
    pasts = _both([rows, (["u", "u"], [100, 4], [False, True], None)], 3)
    assert pasts[0][-1] == ["i8", "i9", "i10"] and pasts[1] == [["i9", "i10", "i11"], ["i1", "i2", "i3"]]
    assert _both([rows], 1 << 62)[0][-1] == [f"i{k}" for k in range(11)]


def test_a_user_joins_the_histories_at_its_first_recorded_item():
    rows = (["a", "b", "a", "c", "b"], [1, 1, 2, 2, 3], [True] * 5, [[], ["x"], ["y"], [], ["z"]])
    _both([rows], 10)
    history = InteractionHistory()
    _chunk(history, *rows, 10)
    assert history.as_lists()[0] == ["b", "a"]


def test_featurized_history_and_recent_tokens_match_the_row_by_row_pasts():
    items = [f"m{k}" for k in range(9)]
    rows = [{"user": "u", "item": it, "t": 10 + k // 2} for k, it in enumerate(items)]  # pairs tie
    rows += [{"user": None, "item": "m0", "t": 50}, {"user": "w", "item": "m3", "t": 1}]
    feat = _feat(history_length=6)
    got = featurize(feat, rows)
    reference = _RowByRow()
    want = reference.chunk([r["user"] for r in rows], [r["t"] for r in rows], [True] * len(rows),
                           [[r["item"]] for r in rows], 6)
    for (ids, vals), past in zip(got, want):
        weights = dict(zip(ids, vals))
        for role, kept in (("history", past), ("recent", past[-5:])):
            tokens = history_ids(feat, kept, role=role)
            assert tokens <= set(ids)
            assert all(weights[t] == pytest.approx(1 / np.sqrt(len(kept))) for t in tokens)
        assert not history_ids(feat, set(items) - set(past)) & set(ids)
    assert [len(p) for p in want] == [0, 0, 2, 2, 4, 4, 6, 6, 6, 0, 0]


def test_users_of_several_types_are_keyed_as_their_categories():
    # 1, 1.0 and True are one dict key; their users are '1', '1' and 'True'
    rows = [{"user": 1, "item": "a", "t": 1}, {"user": True, "item": "b", "t": 2},
            {"user": 1.0, "item": "c", "t": 3}, {"user": "True", "item": "d", "t": 4}]
    feat = _feat()
    seen = _history(feat, rows)
    assert seen == [set(), set(), {"a"}, {"b"}]
    assert feat.histories[("user", "item")].as_lists()[0] == ["1", "True"]
