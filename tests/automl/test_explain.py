"""UniversalDeepTransformer.explain and embed, on models whose answer is known by construction."""
import numpy as np
import pytest

import sparsebolt as sb

from .test_udt import BAD, GOOD, SMALL, _reviews


@pytest.fixture(scope="module")
def reviews_model():
    rng = np.random.default_rng(0)
    rows = [{"review": text, "size": str(rng.choice(["S", "M", "L"])), "recommended": label}
            for text, label in _reviews(rng, 800)]
    udt = sb.UniversalDeepTransformer({"review": sb.types.text(tokenizer="words"), "size": sb.types.categorical(),
                                       "recommended": sb.types.categorical()}, target="recommended", **SMALL)
    udt.train(rows, epochs=10, learning_rate=1e-2, verbose=False)
    return udt


def test_the_words_that_decide_the_label_explain_it(reviews_model):
    # the label is "yes" exactly when the review holds GOOD words; filler words and the
    # size carry nothing
    row = {"review": "word3 great word7 love word12", "size": "M"}
    assert reviews_model.predict(row)[0][0] == "yes"
    got = reviews_model.explain(row)
    assert {t for _, t, _ in got[:2]} == {"great", "love"} and all(c > 0 for _, _, c in got[:2])
    rest = [abs(c) for _, t, c in got[2:]]
    assert max(rest) < 0.5 * min(c for _, _, c in got[:2])
    assert ("size", "M") in [(col, t) for col, t, _ in got]
    # the other class: the same words push its score down
    against = {t: c for _, t, c in reviews_model.explain(row, target="no")}
    assert against["great"] < 0 and against["love"] < 0
    with pytest.raises(ValueError, match="The 'target' parameter of explain"):
        reviews_model.explain(row, target="maybe")


def test_embeddings_separate_the_classes(reviews_model):
    good = [{"review": f"word{i} {GOOD[i % 6]} word{i + 1}"} for i in range(20)]
    bad = [{"review": f"word{i} {BAD[i % 6]} word{i + 1}"} for i in range(20)]
    e = reviews_model.embed(good + bad)
    assert e.shape == (40, reviews_model.embedding_dim) and e.dtype == np.float32
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    sim = e @ e.T
    same = (sim[:20, :20].sum() - 20) / 380 + (sim[20:, 20:].sum() - 20) / 380
    across = sim[:20, 20:].mean()
    assert same / 2 > across + 0.1
    # the embedding is what the output layer sees
    ids, _ = reviews_model.model.output.layer.dense_top_k(sb.nn.Value.dense(reviews_model.embed(good[:1])), 1)
    assert reviews_model.featurizer.labels.name(int(ids[0, 0])) == reviews_model.predict(good[0])[0][0]
