"""UDTClassifier and UDTRegressor: the UniversalDeepTransformer on a DataFrame as a
scikit-learn estimator, in cross_val_score, a Pipeline and GridSearchCV, pickled."""
import pickle

import numpy as np
import pytest

import sparsebolt as sb

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from sparsebolt.sklearn import UDTClassifier, UDTRegressor  # noqa: E402

FILLER = [f"word{i}" for i in range(30)]
CUES = {"good": ["great", "love", "perfect"], "bad": ["poor", "hate", "awful"], "mid": ["meh", "okay", "fine"]}
TYPES = {"review": sb.types.text(), "shop": sb.types.categorical(), "price": sb.types.numerical()}
SMALL = {"input_dim": 1 << 14, "embedding_dim": 32, "batch_size": 16}


def _reviews(n, seed=0):
    """A DataFrame of reviews whose label shows in two cue words, and a price column."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for _ in range(n):
        label = str(rng.choice(list(CUES)))
        words = list(rng.choice(FILLER, 4)) + list(rng.choice(CUES[label], 2))
        rng.shuffle(words)
        rows.append({"review": " ".join(words), "shop": f"shop{rng.integers(5)}", "price": float(rng.uniform(1, 100))})
        labels.append(label)
    return pd.DataFrame(rows), np.array(labels)


def test_classifier_cross_validates_on_a_dataframe():
    X, y = _reviews(300)
    scores = cross_val_score(UDTClassifier(TYPES, epochs=5, learning_rate=5e-3, **SMALL), X, y, cv=3)
    assert scores.min() > 0.9


def test_classifier_predicts_the_labels_of_y_and_probabilities_in_their_order():
    X, y = _reviews(300)
    clf = UDTClassifier(TYPES, **SMALL).fit(X, y)
    assert clf.classes_.tolist() == ["bad", "good", "mid"]
    assert clf.n_features_in_ == 3 and clf.feature_names_in_.tolist() == ["review", "shop", "price"]
    X_test, y_test = _reviews(60, seed=1)
    predicted = clf.predict(X_test)
    assert predicted.dtype == y.dtype and (predicted == y_test).mean() > 0.9
    proba = clf.predict_proba(X_test)
    assert proba.shape == (60, 3) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    assert (clf.classes_[proba.argmax(axis=1)] == predicted).all()


def test_integer_classes_are_given_back_as_they_were():
    X, y = _reviews(200)
    codes = np.where(y == "good", 7, np.where(y == "bad", -3, 0))
    clf = UDTClassifier(TYPES, epochs=5, learning_rate=5e-3, **SMALL).fit(X, codes)
    assert clf.classes_.tolist() == [-3, 0, 7]
    assert set(clf.predict(X).tolist()) <= {-3, 0, 7}
    assert clf.score(X, codes) > 0.9


def test_grid_search_over_a_pipeline_refits_the_best():
    X, y = _reviews(240)
    pipe = Pipeline([("udt", UDTClassifier(TYPES, epochs=4, learning_rate=5e-3, **SMALL))])
    search = GridSearchCV(pipe, {"udt__embedding_dim": [8, 32]}, cv=2).fit(X, y)
    assert search.best_params_["udt__embedding_dim"] in (8, 32)
    assert search.best_estimator_.named_steps["udt"].udt_.embedding_dim == search.best_params_["udt__embedding_dim"]
    assert search.score(X, y) > 0.9


def test_fit_leaves_the_column_types_it_was_given_as_they_were():
    X, y = _reviews(60)
    types = {"review": sb.types.text(), "shop": sb.types.categorical()}
    before = {c: t.get_config() for c, t in types.items()}
    clf = UDTClassifier(types, epochs=1, **SMALL).fit(X, y)
    assert {c: t.get_config() for c, t in clf.data_types.items()} == before
    assert clf.udt_.data_types["review"].get_config()["tokenizer"] != "auto"


def test_clone_keeps_the_parameters_and_drops_the_model():
    clf = UDTClassifier(TYPES, target="label", epochs=3, **SMALL)
    copy = clone(clf)
    assert copy.get_params()["target"] == "label" and copy.get_params()["data_types"] == TYPES
    assert not hasattr(copy, "udt_")


def test_regressor_cross_validates_on_a_dataframe():
    X, _ = _reviews(300)
    y = 2.0 * X["price"].to_numpy() + np.random.default_rng(2).normal(0, 1.0, len(X))
    scores = cross_val_score(UDTRegressor({"price": sb.types.numerical()}, **SMALL), X, y, cv=3)
    assert scores.min() > 0.8


def test_pickled_estimators_predict_the_same():
    X, y = _reviews(120)
    clf = UDTClassifier(TYPES, epochs=2, **SMALL).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(back.predict_proba(X), clf.predict_proba(X))
    reg = UDTRegressor({"price": sb.types.numerical()}, epochs=2, **SMALL).fit(X, X["price"])
    assert np.array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))


def test_bad_input_is_refused_with_a_clear_error():
    X, y = _reviews(40)
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        UDTClassifier(TYPES, **SMALL).fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="The 'target' parameter of UDTClassifier"):
        UDTClassifier(TYPES, target="price", **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="rows in X"):
        UDTClassifier(TYPES, **SMALL).fit(X, y[:-1])
    with pytest.raises(ValueError, match="The 'y' parameter of UDTRegressor must be finite"):
        UDTRegressor({"price": sb.types.numerical()}, **SMALL).fit(X, np.full(len(X), np.nan))
    # each of these had given another parameter's error, NumPy's, or none
    with pytest.raises(ValueError, match="The 'y' parameter of UDTRegressor must be finite numbers. Got 'a'"):
        UDTRegressor({"price": sb.types.numerical()}, **SMALL).fit(X, ["a"] * len(X))
    with pytest.raises(ValueError, match="The 'target' parameter of UDTClassifier must be a column name"):
        UDTClassifier(TYPES, target=5, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="The 'verbose' parameter of UDTClassifier must be a bool"):
        UDTClassifier(TYPES, verbose="x", **SMALL).fit(X, y)
    with pytest.raises(ValueError, match=r"The 'y' parameter of UDTClassifier must hold no missing label\. Got None "
                                         r"at position 1 instead\."):  # NumPy's sort had raised a TypeError
        UDTClassifier(TYPES, **SMALL).fit(X, np.array(["a", None] * 20, dtype=object))
    with pytest.raises(ValueError, match="UDTClassifier.fit got no rows"):
        UDTClassifier(TYPES, **SMALL).fit(X.iloc[:0], y[:0])
    with pytest.raises(Exception, match="not fitted"):
        UDTClassifier(TYPES, **SMALL).predict(X)


def test_a_fit_that_fails_leaves_the_estimator_unfitted():
    X, y = _reviews(200)
    clf = UDTClassifier(TYPES, epochs=2, **SMALL).fit(X, y)
    bad = X.assign(price=np.where(np.arange(200) == 7, np.inf, X.price))
    with pytest.raises(ValueError, match=r"row 7: column 'price'"):
        clf.fit(bad, y)
    # it had predicted from the untrained network the failed fit began with
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="got 200 rows in X but 199 values in y"):
        clf.fit(X, np.array(["x", "y"] * 99 + ["z"]))
    # a check before training had kept the old network beside the new classes_ ('x', 'y', 'z')
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_a_long_review_alone_gets_the_long_text_width_as_in_the_model_itself():
    X, y = _reviews(60)
    X = X.assign(review=X["review"] + " " + X["review"])  # 12 words a row: a long text
    clf = UDTClassifier({"review": sb.types.text()}, epochs=1, input_dim=1 << 14, batch_size=16).fit(X[["review"]], y)
    assert clf.udt_.data_types["review"].tokenizers == ["words", "char_wb-4"] and clf.udt_.hidden_dim == 64
