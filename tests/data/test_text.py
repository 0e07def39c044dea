"""HashedTextFeaturizer: character n-gram ranges, IDF weighting, fit_transform, and the
same features as a UDT text column (one featurizer)."""
import json

import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.automl.featurize import Featurizer
from sparsebolt.data.csv import read_chunks

TEXTS = ["domestic dog", "a dog barks", "the cat", "a large body of salt water", "dog dog"]


def _dense(feat, texts):
    offsets, ids, vals = feat.transform(texts)
    out = np.zeros((len(texts), feat.dim))
    for r in range(len(texts)):
        np.add.at(out[r], ids[offsets[r]:offsets[r + 1]], vals[offsets[r]:offsets[r + 1]])
    return out


def _n_features(feat, text):
    return int(feat.transform([text])[0][-1])


def test_char_ngram_range_adds_every_length_with_word_boundaries():
    feat = sb.data.HashedTextFeaturizer(char_ngram=(3, 5), bigrams=False)
    assert _n_features(feat, "dog") == 1 + 3 + 2 + 1  # the word; " dog " has 3, 2 and 1 windows
    assert _n_features(feat, "a") == 1 + 3  # the word, and " a " once for each length
    assert len(set(feat.transform(["dog"])[1])) == 7


def test_default_features_and_weights():
    feat = sb.data.HashedTextFeaturizer(dim=1 << 16)
    offsets, ids, vals = feat.transform(["domestic dog"])
    assert offsets[-1] == 2 + 1 + 8 + 3 == 14  # words, the bigram, char 3-grams of " domestic " and " dog "
    np.testing.assert_allclose(vals, 1 / np.sqrt(14), rtol=1e-6)
    assert _n_features(sb.data.HashedTextFeaturizer(bigrams=False, words=False), "domestic dog") == 11


def test_idf_rows_have_unit_norm_and_rare_features_weigh_more():
    feat = sb.data.HashedTextFeaturizer(dim=1 << 18, char_ngram=0, bigrams=False, idf=True).fit(TEXTS)
    rows = _dense(feat, ["dog cat", "dog dog"])
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)
    dog, cat = (int(feat.transform([w])[1][0]) for w in ("dog", "cat"))
    assert rows[0, cat] > rows[0, dog] > 0  # 'cat' is in one text, 'dog' in three


def test_fit_transform_matches_fit_then_transform():
    a = sb.data.HashedTextFeaturizer(char_ngram=(3, 5), idf=True)
    b = sb.data.HashedTextFeaturizer(char_ngram=(3, 5), idf=True)
    for x, y in zip(a.fit_transform(TEXTS), b.fit(TEXTS).transform(TEXTS)):
        np.testing.assert_array_equal(x, y)


def test_a_refit_weighs_by_the_new_frequencies():
    # the idf is worked out once a fit: a second fit must not keep the first's
    feat = sb.data.HashedTextFeaturizer(char_ngram=(3, 5), idf=True).fit(TEXTS)
    first = feat.transform(TEXTS)
    feat.fit(TEXTS[:2])
    fresh = sb.data.HashedTextFeaturizer(char_ngram=(3, 5), idf=True).fit(TEXTS[:2])
    for x, y in zip(feat.transform(TEXTS), fresh.transform(TEXTS)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(feat.transform(TEXTS)[2], first[2])


def test_idf_needs_fit_and_bad_ranges_are_refused():
    with pytest.raises(ValueError, match="must be fit"):
        sb.data.HashedTextFeaturizer(idf=True).transform(TEXTS)
    with pytest.raises(ValueError, match="The 'char_ngram' parameter of HashedTextFeaturizer"):
        sb.data.HashedTextFeaturizer(char_ngram=(5, 3))
    with pytest.raises(ValueError, match="The 'char_ngram' parameter of HashedTextFeaturizer"):
        sb.data.HashedTextFeaturizer(char_ngram=-1)
    with pytest.raises(ValueError, match="The 'char_ngram' parameter of HashedTextFeaturizer must be at least 1 "
                                         "with words=False"):
        sb.data.HashedTextFeaturizer(char_ngram=0, words=False)


@pytest.mark.parametrize("name", ["bigrams", "words", "idf", "balance"])
def test_flags_are_bools_not_truthy_strings(name):
    # bool('no') had read as true
    with pytest.raises(ValueError) as err:
        sb.data.HashedTextFeaturizer(**{name: "no"})
    assert str(err.value) == f"The '{name}' parameter of HashedTextFeaturizer must be a bool. Got 'no' instead."
    assert getattr(sb.data.HashedTextFeaturizer(**{name: np.bool_(True)}), name) is True


@pytest.mark.parametrize("bigrams, char_ngram, idf, words", [(True, (3, 5), True, True), (False, 3, False, True),
                                                             (True, 0, True, True), (False, (2, 4), False, False)])
def test_a_udt_text_column_has_the_same_features(bigrams, char_ngram, idf, words):
    texts = TEXTS + ["Sea-Water, SALT!", "naïve café au lait", "x"]
    feat = sb.data.HashedTextFeaturizer(dim=1 << 18, bigrams=bigrams, char_ngram=char_ngram, words=words, idf=idf)
    column = sb.types.text(tokenizer=feat.tokenizers, encoding="bigrams" if bigrams else "unigrams",
                           weighting="tfidf" if idf else "sqrt")
    udt = Featurizer({"text": column, "y": sb.types.categorical()}, "y", feat.dim)
    chunk = next(read_chunks([{"text": t, "y": "a"} for t in texts], ["text", "y"], 100))
    want = udt.transform(chunk, "train")[:3]
    for got, expected in zip(feat.fit_transform(texts), want):
        np.testing.assert_array_equal(got, expected)


def test_document_frequencies_count_rows_by_id():
    from sparsebolt.data.text import document_frequencies
    # dim 4: hashes 5 and 9 are both id 1, twice in the first row, once in the second
    offsets, hashes = np.array([0, 3, 5]), np.array([5, 9, 7, 5, 13], dtype=np.int64)
    n, ids, counts = document_frequencies(offsets, hashes, 4)
    assert n == 2 and ids.tolist() == [1, 3] and counts.tolist() == [2, 1]


def test_document_frequencies_agree_whether_counted_or_sorted():
    from sparsebolt.data.text import document_frequencies
    rng = np.random.default_rng(0)
    offsets = np.concatenate([[0], np.cumsum(rng.integers(0, 12, 40))]).astype(np.int64)
    hashes = rng.integers(0, 50, offsets[-1]).astype(np.int64)
    counted = document_frequencies(offsets, hashes, 50)        # more entries than ids: counted
    wide = document_frequencies(offsets, hashes, 1 << 30)      # a wide space: sorted
    expected = np.bincount(np.concatenate([np.unique(hashes[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]),
                           minlength=50)
    for n, ids, counts in (counted, wide):
        assert n == 40
        np.testing.assert_array_equal(ids, np.flatnonzero(expected))
        np.testing.assert_array_equal(counts, expected[expected > 0])


def test_word_pair_counts_count_pairs_within_rows_in_order_and_shuffled():
    from sparsebolt.data.text import word_pair_counts
    ordered, shuffled = word_pair_counts(["a b c d"] * 50 + ["e", "f"])
    # a single word makes no pair, nor does one row with the next
    assert sorted(ordered.tolist()) == [50, 50, 50] and shuffled.sum() == 150
    assert shuffled.size == 12  # 50 shuffles of four words hold every ordered pair of two of them
    again = word_pair_counts(["a b c d"] * 50, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(again, word_pair_counts(["a b c d"] * 50, seed=1)))
    assert [c.size for c in word_pair_counts([])] == [0, 0]


def test_a_lone_surrogate_hashes_as_a_code_point():
    from sparsebolt.data.text import encode, string_hashes
    lone = json.loads('"caf\\ud800"')  # JSON may hold one; UTF-32 refused it, naming no column
    codes, offsets = encode(["ok", lone])
    assert codes.tolist() == [ord(c) for c in "ok" + lone] and offsets.tolist() == [0, 2, 6]
    hashes = string_hashes(["ok", lone, "café"])
    assert hashes[0] == string_hashes(["ok"])[0] and len(set(hashes.tolist())) == 3


def test_balance_gives_the_words_and_the_character_ngrams_half_a_row_each():
    texts = ["domestic dog", "sadness", "a tool for cutting wood", "", "sad sad dog"]
    for idf in (False, True):
        kw = dict(dim=1 << 20, char_ngram=(3, 5), idf=idf)
        balanced = sb.data.HashedTextFeaturizer(balance=True, **kw)
        offsets, ids, vals = balanced.fit_transform(texts)
        word_ids = set(sb.data.HashedTextFeaturizer(dim=1 << 20, char_ngram=0, idf=idf).fit(texts).transform(texts)[1])
        for i in range(len(texts)):
            row_ids, row_vals = ids[offsets[i]:offsets[i + 1]], vals[offsets[i]:offsets[i + 1]].astype(np.float64)
            words = np.isin(row_ids, list(word_ids))
            if not texts[i]:
                assert row_ids.size == 0
                continue
            # unbalanced, one word's 13 n-grams left it a 14th of the row: 'sadness' read as 'madness'
            assert np.sum(row_vals[words] ** 2) == pytest.approx(0.5, abs=1e-6)
            assert np.sum(row_vals ** 2) == pytest.approx(1.0, abs=1e-6)
        plain = sb.data.HashedTextFeaturizer(**kw).fit_transform(texts)
        assert sorted(ids.tolist()) == sorted(plain[1].tolist())  # the same features, weighed otherwise
    # with one group only there is nothing to balance
    for kw in (dict(char_ngram=0), dict(words=False, char_ngram=(3, 5))):
        a = sb.data.HashedTextFeaturizer(balance=True, idf=True, **kw).fit_transform(texts)
        b = sb.data.HashedTextFeaturizer(idf=True, **kw).fit_transform(texts)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_one_string_or_an_item_that_is_no_string_is_refused():
    # iterated, one string had made a text of each of its characters
    featurizer = sb.data.HashedTextFeaturizer(dim=64)
    with pytest.raises(ValueError, match=r"'texts' parameter of HashedTextFeaturizer must be a sequence of strings, "
                                         r"one a sample\. Got one str instead"):
        featurizer.transform("hello world")
    with pytest.raises(ValueError, match=r"must hold strings\. Got NoneType None at position 1 instead"):
        featurizer.fit_transform(["a", None])


@pytest.mark.parametrize("vocab", [{"a": 0.7}, {"a": -1}, {"a": True}, {1: 0}, ["a"], {"a": 2 ** 31}])
def test_a_label_vocabulary_maps_strings_to_whole_ids(tmp_path, vocab):
    # a float id had been cut to an integer (0.7 to label 0)
    from sparsebolt.distributed.data import TextCsvFiles
    path = tmp_path / "t.csv"
    path.write_text("text,label\nhello,a\n")
    message = r"'label_vocab' parameter of (load_text_csv|TextCsvFiles) must be a dict of label strings to output ids"
    with pytest.raises(ValueError, match=message):
        sb.data.load_text_csv(path, "text", "label", sb.data.HashedTextFeaturizer(dim=64), label_vocab=vocab)
    with pytest.raises(ValueError, match=message):
        TextCsvFiles(path, "text", "label", sb.data.HashedTextFeaturizer(dim=64), label_vocab=vocab)
