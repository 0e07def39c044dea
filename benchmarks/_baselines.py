"""Simple, honest baselines that the benchmarks hold sparsebolt against (scikit-learn)."""
import numpy as np


def tfidf_linear(train_texts, train_y, test_texts, seed=0, load=None, logistic=True):
    """TF-IDF word 1-2-grams (sublinear tf, min_df 2) with LinearSVC (C=1) and with
    LogisticRegression (C=16; not with ``logistic=False``): {name: (fitted pipeline, fit
    seconds)}. Fit time includes vectorizing the training texts, and with ``load`` (a
    callable returning the training texts and labels, read from a file) reading them: each
    clock then starts from the file, as the UDT's does."""
    import time

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    out = {}
    models = [("TF-IDF 1-2-grams + LinearSVC", LinearSVC(C=1.0, random_state=seed))]
    if logistic:
        models.append(("TF-IDF 1-2-grams + LogisticRegression(C=16)", LogisticRegression(C=16.0, max_iter=2000)))
    for name, clf in models:
        pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float32), clf)
        start = time.perf_counter()
        texts, y = (train_texts, train_y) if load is None else load()
        pipe.fit(texts, y)
        out[name] = (pipe, time.perf_counter() - start)
        if load is not None and (texts != list(train_texts) or y != list(train_y)):
            raise RuntimeError(f"{name}: the file read inside the clock gave other rows than the ones in memory")
    return out


def linear_scores(pipe, texts):
    """Per-class scores of a fitted ``tfidf_linear`` pipeline (decision function)."""
    scores = pipe.decision_function(texts)
    return scores if scores.ndim == 2 else np.stack([-scores, scores], axis=1)


def nearest_class(train_texts, train_labels, test_texts, analyzer="word", ngram_range=(1, 2), k=10,
                  block=2000):
    """TF-IDF nearest class: each class is one document, its training texts joined; a test
    text's classes are ranked by the cosine of their TF-IDF vectors. Returns (class names,
    int32[n_test, k] top class indices, fit seconds)."""
    import time

    from sklearn.feature_extraction.text import TfidfVectorizer

    start = time.perf_counter()
    docs = {}
    for text, label in zip(train_texts, train_labels):
        docs.setdefault(label, []).append(text)
    classes = list(docs)
    vec = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=True, dtype=np.float32)
    centroids = vec.fit_transform([" \n ".join(docs[c]) for c in classes]).T.tocsr()
    seconds = time.perf_counter() - start
    q = vec.transform(test_texts)
    top = np.empty((q.shape[0], k), dtype=np.int32)
    for lo in range(0, q.shape[0], block):
        scores = (q[lo:lo + block] @ centroids).toarray()
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        top[lo:lo + block] = np.take_along_axis(part, order, axis=1)
    return classes, top, seconds


def topk_hits(classes, top, gold, ks=(1, 10)):
    """Recall@k for each k of ``ks`` (recall@1 is P@1: one gold class a query) of ranked
    class indices against gold class names, as a tuple."""
    index = {c: i for i, c in enumerate(classes)}
    g = np.array([index.get(x, -1) for x in gold])[:, None]
    return tuple(float(np.mean(np.any(top[:, :k] == g, axis=1))) for k in ks)


def tabular_baselines(x_train, y_train, x_test, y_test, categorical=()):
    """{name: (accuracy, AUC or None, fit seconds)} of HistGradientBoosting (native
    categoricals and missing values; a column of more than 255 categories, which it refuses
    as one, as its categories' places in sorted order) and LogisticRegression (one-hot
    ``categorical`` columns, a missing category its own; numbers scaled, a missing one the
    median)."""
    import time

    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in x_train.columns if c not in categorical]
    if categorical:
        x_train, x_test = x_train.copy(), x_test.copy()
        for c in categorical:
            kinds = sorted(x_train[c].dropna().unique())
            x_train[c] = x_train[c].astype("category").cat.set_categories(kinds)
            x_test[c] = x_test[c].astype("category").cat.set_categories(kinds)
    trees_train, trees_test = x_train, x_test
    wide = [c for c in categorical if len(x_train[c].cat.categories) > 255]
    if wide:
        trees_train, trees_test = x_train.copy(), x_test.copy()
        for c in wide:
            for frame in (trees_train, trees_test):
                codes = frame[c].cat.codes.astype(np.float64)
                frame[c] = codes.where(codes >= 0)
    hgb = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    scaled = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    linear = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), list(categorical)),
                                                   (scaled, numeric)),
                           LogisticRegression(max_iter=5000))
    out = {}
    for name, clf, train, test in (("HistGradientBoosting", hgb, trees_train, trees_test),
                                   ("LogisticRegression", linear, x_train, x_test)):
        start = time.perf_counter()
        clf.fit(train, y_train)
        seconds = time.perf_counter() - start
        acc = float((clf.predict(test) == y_test).mean())
        auc = roc_auc_score(y_test == clf.classes_[1], clf.predict_proba(test)[:, 1]) if len(clf.classes_) == 2 \
            else None
        out[name] = (acc, auc, seconds)
    return out


def tabular_splits(frame, types, categorical, splits, metrics, udt):
    """{method: [scores, ...]} over ``splits`` stratified 70/30 splits of ``frame`` (its
    target the column 'y'): the UDT's (``train(data)`` only) ``metrics`` then its fit
    seconds, under the name ``udt``, and ``tabular_baselines``' (accuracy, AUC or None, fit
    seconds). An untimed UDT first trains on 300 rows from across the table (a sorted one's
    first 300 may hold one class), which loads the compiled kernels from numba's cache; a
    fit that compiled more is timed again (``timed_fit``)."""
    from sklearn.model_selection import train_test_split

    import sparsebolt as sb
    from benchmarks._common import timed_fit

    warm = frame.sample(n=min(300, len(frame)), random_state=0)
    sb.UniversalDeepTransformer(types, target="y", seed=0).train(warm, epochs=1, verbose=False)
    scores = {}
    x_cols = [c for c in frame.columns if c != "y"]
    for seed in range(splits):
        train, test = train_test_split(frame, test_size=0.3, random_state=seed, stratify=frame["y"])
        model = sb.UniversalDeepTransformer(types, target="y", seed=seed)
        seconds, _ = timed_fit(model, lambda m: m.train(train, verbose=False))
        found = model.evaluate(test, metrics=metrics)
        scores.setdefault(udt, []).append(tuple(found[m] for m in metrics) + (seconds,))
        for method, s in tabular_baselines(train[x_cols], train["y"], test[x_cols], test["y"], categorical).items():
            scores.setdefault(method, []).append(s)
    return scores
