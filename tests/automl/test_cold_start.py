"""cold_start: a retrieval model from a catalogue's texts alone, judged on real held-out
queries of 300 WordNet synsets against TF-IDF nearest-class built from the same texts."""
import csv
import os

import numpy as np
import pytest

import sparsebolt as sb

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "wordnet_search")


def _tfidf_nearest_class(docs, queries):
    """Top class of each query by cosine of word TF-IDF vectors (sublinear tf, smooth idf)."""
    vocab = {}
    rows = [[vocab.setdefault(w, len(vocab)) for w in d.lower().split()] for d in docs]
    df = np.zeros(len(vocab))
    for r in rows:
        df[list(set(r))] += 1
    idf = np.log((1 + len(docs)) / (1 + df)) + 1

    def vec(words):
        v = np.zeros(len(vocab))
        for w in words:
            if w in vocab:
                v[vocab[w]] += 1
        v[v > 0] = 1 + np.log(v[v > 0])
        v *= idf
        return v / max(np.linalg.norm(v), 1e-12)

    C = np.stack([vec(d.lower().split()) for d in docs])
    return np.argmax(np.stack([vec(q.lower().split()) for q in queries]) @ C.T, axis=1)


@pytest.mark.skipif(not os.path.isdir(DATA), reason="needs ../shared/data/wordnet_search (the team's data sets)")
def test_cold_start_on_synset_texts_finds_held_out_lemmas():
    test = list(csv.DictReader(open(os.path.join(DATA, "test.csv"), encoding="utf-8")))
    classes = {r["label"]: r for r in csv.DictReader(open(os.path.join(DATA, "classes.csv"), encoding="utf-8"))}
    rng = np.random.default_rng(0)
    pick = sorted(rng.choice(sorted({r["label"] for r in test}), 300, replace=False).tolist())
    catalogue = [classes[label] for label in pick]
    queries = [r for r in test if r["label"] in set(pick)]
    udt = sb.UniversalDeepTransformer({"query": sb.types.text(), "label": sb.types.categorical()}, target="label",
                                      embedding_dim=128)
    udt.cold_start(catalogue, strong_columns=["lemmas"], weak_columns=["gloss"], phrase_delimiter="|", verbose=False)
    got = udt.evaluate([{"query": r["query"], "label": r["label"]} for r in queries], metrics=["precision@1"])
    top = _tfidf_nearest_class([c["lemmas"].replace("|", " ") + " " + c["gloss"] for c in catalogue],
                               [r["query"] for r in queries])
    baseline = float(np.mean([pick[t] == r["label"] for t, r in zip(top, queries)]))
    # measured (one thread): 0.63 against 0.44, 0.6267 before an item's whole description stood in (sklearn's
    # word 1-2-gram TF-IDF: 0.48; its char_wb 3-5: 0.71)
    assert got["precision@1"] > baseline + 0.05, (got, baseline)


def test_cold_start_needs_one_text_column_and_some_text():
    two = sb.UniversalDeepTransformer({"a": sb.types.text(), "b": sb.types.text(), "y": sb.types.categorical()},
                                      target="y")
    with pytest.raises(ValueError, match="one text input column"):
        two.cold_start([{"a": "x", "y": "1"}], strong_columns=["a"])
    one = sb.UniversalDeepTransformer({"q": sb.types.text(), "y": sb.types.categorical()}, target="y")
    with pytest.raises(ValueError, match="found no text"):
        one.cold_start([{"name": None, "y": "1"}], strong_columns=["name"])
    with pytest.raises(ValueError, match="row 1.*target column 'y' is empty"):
        one.cold_start([{"name": "a", "y": "1"}, {"name": "b", "y": None}], strong_columns=["name"])


def test_cold_start_parameters_are_checked_by_name():
    one = sb.UniversalDeepTransformer({"q": sb.types.text(), "y": sb.types.categorical()}, target="y")
    rows = [{"name": "a b", "y": "1"}, {"name": "c d", "y": "2"}]
    for kw, match in (({"strong_columns": None}, r"'strong_columns' parameter of cold_start must be a column name or "
                                                 r"a list of them\. Got None"),
                      ({"strong_columns": "name", "weak_columns": 3}, r"'weak_columns' .* Got 3"),
                      ({"strong_columns": "name", "phrase_delimiter": 5},
                       r"'phrase_delimiter' .* a non-empty string or None\. Got 5"),
                      ({"strong_columns": "name", "span_words": 3}, r"'span_words' .* Got 3"),
                      ({"strong_columns": "name", "span_words": (2, 1)}, r"'span_words' .* Got \(2, 1\)"),
                      ({"strong_columns": "name", "seed": "x"}, r"'seed' parameter of cold_start must be an int >= 0"),
                      ({"strong_columns": []}, r"^The 'strong_columns' parameter of cold_start must be at least one "
                                               r"column when weak_columns is empty\. Got \[\] instead\.$")):
        with pytest.raises(ValueError, match=match):
            one.cold_start(rows, epochs=1, verbose=False, **kw)
    assert one.model is None  # nothing trained


def test_a_catalogue_value_that_is_no_text_names_the_row_and_span_words_take_numpy_ints():
    # its str() had been the query "['name1', 'alt1']"
    one = sb.UniversalDeepTransformer({"q": sb.types.text(), "y": sb.types.categorical()}, target="y")
    rows = [{"name": "a b", "gloss": "x y z", "y": "1"}, {"name": "c d", "gloss": "w v u", "y": "2"}]
    for column, value in (("name", ["a", "b"]), ("gloss", b"x y"), ("name", {"a": 1})):
        with pytest.raises(ValueError, match=rf"rows, row 1: column '{column}': expected a text \(a string\), got a "
                                             rf"{type(value).__name__}$"):
            one.cold_start([rows[0], {**rows[1], column: value}], "name", "gloss", epochs=1, verbose=False)
    assert one.model is None
    one.cold_start(rows, "name", "gloss", span_words=(np.int64(1), np.int32(2)), epochs=1, verbose=False)
    assert one.trained


def test_an_items_whole_description_stands_in_beside_its_spans():
    # a nearest-class model reads the description whole; the spans alone had left it unseen
    one = sb.UniversalDeepTransformer({"q": sb.types.text(), "y": sb.types.categorical()}, target="y")
    seen = []
    one.train = lambda rows, **kw: seen.append(rows)
    rows = [{"name": "ab|cd", "gloss": "one two three four five six", "note": "seven", "y": "1"},
            {"name": "ef", "gloss": "", "note": "", "y": "2"}]
    one.cold_start(rows, strong_columns="name", weak_columns=["gloss", "note"], phrase_delimiter="|", spans=3,
                   span_words=(1, 2))
    texts = {}
    for r in seen[0]:
        texts.setdefault(r["y"], []).append(r["q"])
    assert texts["1"].count("one two three four five six seven") == 1
    assert sorted(texts["1"])[:2] == ["ab", "cd"] and len(texts["1"]) == 2 + 1 + 3
    assert texts["2"] == ["ef"]  # no description: its name alone
