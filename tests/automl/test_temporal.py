"""Temporal tracking never shows a row its own interaction or a later one, ties included."""
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
