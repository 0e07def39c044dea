"""HashedTextFeaturizer: character n-gram ranges, IDF weighting, fit_transform."""
import zlib

import numpy as np
import pytest

import sparsebolt as sb

TEXTS = ["domestic dog", "a dog barks", "the cat", "a large body of salt water", "dog dog"]


def _dense(feat, texts):
    offsets, ids, vals = feat.transform(texts)
    out = np.zeros((len(texts), feat.dim))
    for r in range(len(texts)):
        np.add.at(out[r], ids[offsets[r]:offsets[r + 1]], vals[offsets[r]:offsets[r + 1]])
    return out


def test_char_ngram_range_adds_every_length_with_word_boundaries():
    feat = sb.data.HashedTextFeaturizer(char_ngram=(3, 5), bigrams=False)
    grams = [t for t in feat.tokens("dog") if t.startswith(b"c")]
    assert grams == [b"c do", b"cdog", b"cog ", b"c dog", b"cdog ", b"c dog "]
    assert len(feat.tokens("a")) == 1 + 3  # the word, and " a " once for each length


def test_default_featurizer_is_unchanged():
    feat = sb.data.HashedTextFeaturizer(dim=1 << 16)
    offsets, ids, vals = feat.transform(["domestic dog"])
    assert offsets[-1] == len(feat.tokens("domestic dog")) == 14
    np.testing.assert_allclose(vals, 1 / np.sqrt(14), rtol=1e-6)


def test_idf_rows_have_unit_norm_and_rare_features_weigh_more():
    feat = sb.data.HashedTextFeaturizer(dim=1 << 18, char_ngram=0, bigrams=False, idf=True).fit(TEXTS)
    rows = _dense(feat, ["dog cat", "dog dog"])
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-5)
    dog, cat = (zlib.crc32(b"w" + w) % feat.dim for w in (b"dog", b"cat"))
    assert rows[0, cat] > rows[0, dog] > 0  # 'cat' is in one text, 'dog' in three


def test_fit_transform_matches_fit_then_transform():
    a = sb.data.HashedTextFeaturizer(char_ngram=(3, 5), idf=True)
    b = sb.data.HashedTextFeaturizer(char_ngram=(3, 5), idf=True)
    for x, y in zip(a.fit_transform(TEXTS), b.fit(TEXTS).transform(TEXTS)):
        np.testing.assert_array_equal(x, y)


def test_idf_needs_fit_and_bad_ranges_are_refused():
    with pytest.raises(ValueError, match="must be fit"):
        sb.data.HashedTextFeaturizer(idf=True).transform(TEXTS)
    with pytest.raises(ValueError, match="The 'char_ngram' parameter of HashedTextFeaturizer"):
        sb.data.HashedTextFeaturizer(char_ngram=(5, 3))
    with pytest.raises(ValueError, match="The 'char_ngram' parameter of HashedTextFeaturizer"):
        sb.data.HashedTextFeaturizer(char_ngram=-1)
