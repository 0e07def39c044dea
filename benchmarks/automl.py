"""sparsebolt's UniversalDeepTransformer with its defaults (``train(data)`` and nothing else)
against the simplest honest baselines on five real data sets, in one process; prints one
table of test quality and fit time, with each baseline's ratio of fit times (the UDT's over
its own, from the same run: above 1, the baseline fits faster).

    clothing_reviews  text -> recommended (accuracy, AUC), text -> class_name (accuracy,
                      macro-F1): TF-IDF word 1-2-grams + LinearSVC and + LogisticRegression
    adult             typed tabular columns -> income (accuracy, AUC):
                      HistGradientBoostingClassifier (native categoricals, defaults)
    movielens_100k    next-item recall@10 with temporal user history: most popular, and
                      item-item co-occurrence (cosine), each over the user's unrated items
    movielens_rating  typed columns (user, item, the user's age, gender, occupation, zip, the
                      movie's year and genres) -> rating >= 4 (accuracy, AUC), the data set's
                      second task: HistGradientBoostingClassifier (ids as numbers), and with
                      target-encoded user and item ids
    wordnet_graph     gloss text + node id + neighbors -> lexname (accuracy, macro-F1):
                      TF-IDF + LinearSVC / LogisticRegression on the gloss text
    wordnet_2k        query -> one of the 2,000 synsets with the most training queries (a
                      text task with over 1,000 classes; accuracy, macro-F1): TF-IDF +
                      LinearSVC / LogisticRegression
    wordnet_hypernym  a noun synset's gloss -> its hypernym (the first listed parent), for
                      the 1,412 parents with at least 8 training children: long texts and
                      over 1,000 classes (accuracy, macro-F1), wordnet_graph's split: TF-IDF
                      + LinearSVC (LogisticRegression's coefficients took 17 GB)
    wordnet_lexname   text -> its noun synset's lexname (26 classes): 100,000 training rows of
                      wordnet_search (definitions, example sentences, lemmas), tested on the
                      held-out lemmas: TF-IDF + LinearSVC / LogisticRegression
    wordnet_search    query -> one of 117,659 synsets (P@1, R@10): TF-IDF nearest class
                      (a class = its training queries joined), word 1-2-grams and char_wb
                      3-5-grams

Fit time is the wall time from the training CSV file to a fitted model: for sparsebolt
``model.train`` (CSV reading, featurization and the per-epoch validation of automatic
stopping included), for the baselines reading the same file (pandas ``read_csv``; the
co-occurrence counts the csv module's rows), building their columns (the categorical casts,
vectorizing) and ``fit`` (wordnet_search's nearest-class baselines start from the texts
in memory). Both warm: scikit-learn is imported before its clock
starts, and an untimed copy of each UDT first trains on 300 rows, which loads the compiled
kernels from numba's cache (about 2 s once per process on clothing); where numba still
compiles inside the timed fit (a cold cache: the first run of a fresh clone), an identical
untrained UDT is fitted again and that fit is timed. Run from the repository root, under
the shared lock (2 threads):

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/automl.py [--only adult,movielens]

The data are read from ../shared/data beside the repository (``--data`` to change).
"""
import argparse
import collections
import copy
import csv
import os
import sys
import tempfile
import time

import numpy as np
from scipy import sparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from benchmarks._baselines import linear_scores, nearest_class, tfidf_linear, topk_hits  # noqa: E402
from benchmarks._common import (chosen_tasks, format_table, git_revision, limit_threads, machine_info,  # noqa: E402
                                plot_time_to_quality, timed_fit, Timer, write_json)

THREADS = 2
# rows of the untimed warm-up fit before each timed UDT fit
WARM_ROWS = 300
TASKS = ("clothing", "adult", "adult_age", "movielens", "movielens_rating", "wordnet_graph", "wordnet_2k",
         "wordnet_hypernym", "wordnet_lexname", "wordnet_search")
# a hypernym is a class of the gloss -> hypernym task with at least this many training children
HYPERNYM_MIN_CHILDREN = 8
# training queries of the lexname task (a random sample of those whose synset is a noun of wordnet_graph)
LEXNAME_TRAIN_ROWS = 100_000
# users a block when co-occurrence ranks the items of each (a dense block of scores)
RANK_BLOCK = 1000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    p.add_argument("--only", default=",".join(TASKS), help="comma-separated subset of " + ", ".join(TASKS))
    p.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    p.add_argument("--plot", metavar="PATH", help="write the quality-against-fit-time plot to this PNG "
                                                  "(default: beside --json, same name with .png)")
    p.add_argument("--threads", type=int, default=THREADS)
    p.add_argument("--seeds", type=int, default=1,
                   help="adult, adult_age and movielens_rating: also train seeds 1..N-1 of the UDT and "
                        "random_state 1..N-1 of HistGradientBoosting (and of the target encoder's folds) and "
                        "report each method's mean (the table's rows stay seed 0's)")
    return p.parse_args(argv)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def macro_f1(truth, pred):
    labels = sorted(set(truth))
    truth, pred = np.asarray(truth), np.asarray(pred)
    f1 = []
    for lab in labels:
        tp = np.sum((pred == lab) & (truth == lab))
        fp = np.sum((pred == lab) & (truth != lab))
        fn = np.sum((pred != lab) & (truth == lab))
        f1.append(2 * tp / max(2 * tp + fp + fn, 1))
    return float(np.mean(f1))


def result(dataset, task, method, seconds, config, **metrics):
    row = {"dataset": dataset, "task": task, "method": method, "train_s": seconds, "config": config, **metrics}
    shown = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
    print(f"  {method:<42} {shown}  train {seconds:.1f} s", flush=True)
    return row


def seeded_rows(dataset, task, runs, seeds):
    """Rows of seeded methods: ``runs`` maps a method's name to ``run(seed) -> (seconds,
    config, metrics)``. Seed 0's row of each method, and with ``seeds`` > 1 a row of each
    method's means over seeds 0 to ``seeds`` - 1 (one seed's result is a coin toss when two
    methods are this close: adult income's accuracy moved by 0.0015 with the seed). The
    methods take turns seed by seed, so a slower spell of a shared machine falls on both."""
    out, means = [], []
    runs_by_seed = [{name: run(seed) for name, run in runs.items()} for seed in range(seeds)]
    for name in runs:
        results = [by_seed[name] for by_seed in runs_by_seed]
        secs, cfg, metrics = results[0]
        out.append(result(dataset, task, name, secs, cfg, **metrics))
        if seeds > 1:
            for seed, (s, _, m) in enumerate(results[1:], start=1):
                print(f"    seed {seed}: " + " ".join(f"{k}={v:.4f}" for k, v in m.items()) + f"  train {s:.1f} s")
            mean = {k: float(np.mean([m[k] for _, _, m in results])) for k in metrics}
            means.append(result(dataset, task, f"{name}, mean of seeds 0-{seeds - 1}",
                                float(np.mean([s for s, _, _ in results])), {}, **mean))
    return out + means


def udt_run(types, target, train_path, test_path, metrics):
    """``seeded_rows``' run of the UDT with its defaults on a seed: (fit seconds, config
    note, test metrics, 'categorical_accuracy' as 'accuracy')."""
    def run(seed):
        model = sb.UniversalDeepTransformer(types, target=target, seed=seed)
        secs, cfg = udt_fit(model, train_path)
        res = model.evaluate(test_path, metrics=metrics)
        return secs, cfg, {("accuracy" if k == "categorical_accuracy" else k): v for k, v in res.items()}
    return run


def warm_up(model, path):
    """Train an untimed copy of ``model`` on a CSV file of the first ``WARM_ROWS`` rows of
    ``path``: this loads the compiled kernels the data needs, the CSV reader's included,
    from numba's cache, a cost paid once per process, as the baselines' imports are paid
    before their clocks start."""
    with open(path, newline="", encoding="utf-8") as f, tempfile.TemporaryDirectory() as tmp:
        first = os.path.join(tmp, "first.csv")
        with open(first, "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(row for _, row in zip(range(WARM_ROWS + 1), csv.reader(f)))
        copy.deepcopy(model).train(first, max_epochs=2, verbose=False)


def udt_fit(model, path):
    """``model.train(path)`` with the defaults, timed after ``warm_up`` (``timed_fit``);
    (fit seconds, a config note: epochs trained and the epoch kept)."""
    warm_up(model, path)
    seconds, history = timed_fit(model, lambda m: m.train(path, verbose=False))
    return seconds, {"epochs": len(history.epochs), "best_epoch": history.best_epoch}


def pandas_columns(path, text, target):
    """A callable reading the text and label columns of a training CSV with pandas (as
    strings, an empty field an empty string): what a baseline's clock starts from."""
    import pandas as pd

    def load():
        d = pd.read_csv(path, usecols=[text, target], dtype=str, keep_default_na=False)
        return d[text].tolist(), d[target].tolist()

    return load


def linear_rows(dataset, task, train_texts, y_train, test_texts, y_test, positive=None, load=None, logistic=True):
    """Both TF-IDF + linear baselines' result rows (accuracy, macro-F1, AUC when binary;
    LinearSVC alone with ``logistic=False``); ``load`` (``pandas_columns``) reads the
    training rows inside each clock."""
    from sklearn.metrics import roc_auc_score

    out = []
    for name, (pipe, secs) in tfidf_linear(train_texts, y_train, test_texts, load=load, logistic=logistic).items():
        pred = pipe.predict(test_texts)
        metrics = {"accuracy": float(np.mean(pred == np.asarray(y_test))), "macro_f1": macro_f1(y_test, list(pred))}
        if positive is not None:
            col = list(pipe.classes_).index(positive)
            metrics["auc"] = float(roc_auc_score(np.asarray(y_test) == positive, linear_scores(pipe, test_texts)[:, col]))
        out.append(result(dataset, task, name, secs, {}, **metrics))
    return out


# clothing reviews -------------------------------------------------------------------------

def clothing(data):
    root = os.path.join(data, "clothing_reviews")
    train_path, test_path = os.path.join(root, "train.csv"), os.path.join(root, "test.csv")
    train, test = read_csv(train_path), read_csv(test_path)
    out = []
    for target, metrics in (("recommended", ["categorical_accuracy", "auc"]), ("class_name", ["categorical_accuracy"])):
        print(f"clothing_reviews: text -> {target}")
        model = sb.UniversalDeepTransformer({"text": sb.types.text(), target: sb.types.categorical()}, target=target)
        secs, cfg = udt_fit(model, train_path)
        res = model.evaluate(test_path, metrics=metrics)
        pred = [p[0][0] for p in model.predict_batch([{"text": r["text"]} for r in test])]
        extra = {"auc": res["auc"]} if "auc" in res else {}
        out.append(result("clothing_reviews", target, "sparsebolt UDT (defaults)", secs, cfg,
                          accuracy=res["categorical_accuracy"], macro_f1=macro_f1([r[target] for r in test], pred),
                          **extra))
        out += linear_rows("clothing_reviews", target, [r["text"] for r in train], [r[target] for r in train],
                           [r["text"] for r in test], [r[target] for r in test],
                           positive="1" if target == "recommended" else None,
                           load=pandas_columns(train_path, "text", target))
    return out


# adult -------------------------------------------------------------------------------------

ADULT_NUMERIC = ["age", "fnlwgt", "educational-num", "capital-gain", "capital-loss", "hours-per-week"]
ADULT_CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "gender",
                     "native-country"]


def read_typed(path, categorical, categories=None):
    """(a CSV as pandas reads it with ``categorical`` columns cast to categoricals, their
    categories): ``categories`` given (a training frame's) or each column's sorted values."""
    import pandas as pd

    frame = pd.read_csv(path)
    categories = categories or {c: sorted(frame[c].unique()) for c in categorical}
    for c in categorical:
        frame[c] = pd.Categorical(frame[c], categories=categories[c])
    return frame, categories


def adult(data, seeds=1):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    root = os.path.join(data, "adult")
    train_path, test_path = os.path.join(root, "train.csv"), os.path.join(root, "test.csv")
    print("adult: typed columns -> income")
    types = {c: sb.types.categorical() for c in ADULT_CATEGORICAL}
    types.update({c: sb.types.numerical() for c in ADULT_NUMERIC})
    types["income"] = sb.types.categorical()

    def hgb(seed):
        with Timer() as t:  # from the CSV file, as the UDT's clock
            train, categories = read_typed(train_path, ADULT_CATEGORICAL)
            model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
            model.fit(train[ADULT_NUMERIC + ADULT_CATEGORICAL], train["income"] == ">50K")
        test, _ = read_typed(test_path, ADULT_CATEGORICAL, categories)
        proba = model.predict_proba(test[ADULT_NUMERIC + ADULT_CATEGORICAL])[:, 1]
        truth = (test["income"] == ">50K").to_numpy()
        return t.seconds, {}, {"accuracy": float(np.mean((proba > 0.5) == truth)),
                               "auc": float(roc_auc_score(truth, proba))}

    return seeded_rows("adult", "income", {
        "sparsebolt UDT (defaults)": udt_run(types, "income", train_path, test_path, ["categorical_accuracy", "auc"]),
        "HistGradientBoostingClassifier (defaults)": hgb}, seeds)


def adult_age(data, seeds=1):
    """Regression: a person's age from the other 13 columns (the UDT's numerical target)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    root = os.path.join(data, "adult")
    train_path, test_path = os.path.join(root, "train.csv"), os.path.join(root, "test.csv")
    print("adult: typed columns -> age (regression)")
    inputs = [c for c in ADULT_NUMERIC if c != "age"]
    types = {c: sb.types.categorical() for c in ADULT_CATEGORICAL + ["income"]}
    types.update({c: sb.types.numerical() for c in inputs})
    types["age"] = sb.types.numerical()
    cats = ADULT_CATEGORICAL + ["income"]

    def hgb(seed):
        with Timer() as t:  # from the CSV file, as the UDT's clock
            train, categories = read_typed(train_path, cats)
            model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=seed)
            model.fit(train[inputs + cats], train["age"])
        test, _ = read_typed(test_path, cats, categories)
        err = model.predict(test[inputs + cats]) - test["age"].to_numpy()
        return t.seconds, {}, {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean()))}

    return seeded_rows("adult", "age", {
        "sparsebolt UDT (defaults)": udt_run(types, "age", train_path, test_path, ["mae", "rmse"]),
        "HistGradientBoostingRegressor (defaults)": hgb}, seeds)


# movielens ---------------------------------------------------------------------------------


def _recall_at_10(ranked, test_items):
    """Mean over users of |top-10 ∩ test| / min(10, |test|); ``ranked`` maps a user to a
    ranking of items (unrated in train)."""
    return float(np.mean([len(set(ranked[u][:10]) & items) / min(10, len(items)) for u, items in test_items.items()]))


def movielens(data):
    root = os.path.join(data, "movielens_100k")
    n_items = len(read_csv(os.path.join(root, "items.csv")))
    return next_item_task("movielens_100k", "next item", os.path.join(root, "train.csv"),
                          os.path.join(root, "test.csv"), n_items)


def next_item_task(dataset, task, train_path, test_path, n_items):
    """Result rows of the UDT with its defaults (temporal tracking of each user's items), the
    most popular items and item-item co-occurrence (cosine over the users' training items)
    on CSV files of 'user_id', 'item_id' and 'timestamp' (Unix seconds) rows: recall@10 of
    each test user's items over the items they did not rate in training; a user's history
    is their training rows strictly before their first test row."""
    train, test = read_csv(train_path), read_csv(test_path)
    rated = collections.defaultdict(set)
    for r in train:
        rated[r["user_id"]].add(r["item_id"])
    test_items, first_time = collections.defaultdict(set), {}
    for r in test:
        test_items[r["user_id"]].add(r["item_id"])
        first_time[r["user_id"]] = min(first_time.get(r["user_id"], r["timestamp"]), r["timestamp"], key=int)
    users = sorted(test_items, key=int)
    print(f"{dataset}: next items of {len(users)} users (recall@10 over items unrated in train)")

    model = sb.UniversalDeepTransformer(
        {"user_id": sb.types.categorical(), "item_id": sb.types.categorical(n_classes=n_items),
         "timestamp": sb.types.date(format="unix")},
        target="item_id", temporal_tracking={"user_id": ["item_id"]})
    secs, cfg = udt_fit(model, train_path)
    preds = model.predict_batch([{"user_id": u, "timestamp": first_time[u]} for u in users],
                                top_k=min(n_items, 10 + max(len(rated[u]) for u in users)))
    ranked = {u: [lab for lab, _ in p if lab not in rated[u]] for u, p in zip(users, preds)}
    out = [result(dataset, task, "sparsebolt UDT (defaults, temporal history)", secs, cfg,
                  recall_at_10=_recall_at_10(ranked, test_items))]

    with Timer() as t:  # from the CSV file, as the UDT's clock
        counts = collections.Counter(r["item_id"] for r in read_csv(train_path))
        popular = [i for i, _ in counts.most_common()]
    ranked = {u: [i for i in popular if i not in rated[u]] for u in users}
    out.append(result(dataset, task, "most popular", t.seconds, {}, recall_at_10=_recall_at_10(ranked, test_items)))

    with Timer() as t:
        seen = collections.defaultdict(set)
        for r in read_csv(train_path):
            seen[r["user_id"]].add(r["item_id"])
        items = sorted({i for its in seen.values() for i in its}, key=int)
        col = {i: k for k, i in enumerate(items)}
        user_index = {u: k for k, u in enumerate(seen)}
        x = np.zeros((len(user_index), len(items)), dtype=np.float32)
        for u, its in seen.items():
            x[user_index[u], [col[i] for i in its]] = 1.0
        co = x.T @ x
        norms = np.sqrt(np.diag(co))
        sim = co / np.outer(norms, norms)
        np.fill_diagonal(sim, 0.0)
    ranked = {}
    for lo in range(0, len(users), RANK_BLOCK):  # a user's row is sparse: the product is the few items' rows of sim
        block = x[[user_index[u] for u in users[lo:lo + RANK_BLOCK]]]
        scores = sparse.csr_matrix(block) @ sim
        scores[block > 0] = -np.inf
        for u, row in zip(users[lo:lo + RANK_BLOCK], scores):
            ranked[u] = [items[k] for k in np.argsort(-row, kind="stable")[:10]]
    out.append(result(dataset, task, "item-item co-occurrence (cosine)", t.seconds, {},
                      recall_at_10=_recall_at_10(ranked, test_items)))
    return out


def movielens_rating(data, workdir, seeds=1):
    """Typed tabular columns -> a binary label: whether a rating is 4 or 5 stars, from the
    user's and the movie's columns (no history)."""
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import MultiLabelBinarizer, TargetEncoder

    root = os.path.join(data, "movielens_100k")
    items = pd.read_csv(os.path.join(root, "items.csv"))
    users = pd.read_csv(os.path.join(root, "users.csv"), dtype={"zip": str})
    items["year"] = pd.to_datetime(items["release_date"]).dt.year
    frames, paths = {}, {}
    for name in ("train", "test"):
        d = pd.read_csv(os.path.join(root, f"{name}.csv")).merge(users, on="user_id")
        d = d.merge(items[["item_id", "year", "genres"]], on="item_id")
        d["liked"] = np.where(d["rating"] >= 4, "yes", "no")
        frames[name] = d.drop(columns=["rating", "timestamp"])
        paths[name] = os.path.join(workdir, f"movielens_rating_{name}.csv")
        frames[name].to_csv(paths[name], index=False)
    train, test = frames["train"], frames["test"]
    print(f"movielens_100k: user and movie columns -> rating >= 4 ({len(train):,} training, {len(test):,} test rows)")
    types = {"user_id": sb.types.categorical(), "item_id": sb.types.categorical(), "age": sb.types.numerical(),
             "gender": sb.types.categorical(), "occupation": sb.types.categorical(), "zip": sb.types.categorical(),
             "year": sb.types.numerical(), "genres": sb.types.categorical(delimiter="|"),
             "liked": sb.types.categorical()}

    def columns(d, categories, genres, fit=False):
        """HGB's columns of ``d``; ``genres`` (a MultiLabelBinarizer) flags each genre, fitted
        here when ``fit``. Native categoricals take at most 255 values: user and item ids
        (943 and 1,682) go in as numbers, zip codes as their first three digits."""
        x = d[["user_id", "item_id", "age", "year"]].astype(float)
        for c in ("gender", "occupation"):
            x[c] = pd.Categorical(d[c], categories=categories[c])
        x["zip3"] = pd.to_numeric(d["zip"].str[:3], errors="coerce")
        lists = d["genres"].fillna("").str.split("|")
        flags = (genres.fit_transform if fit else genres.transform)(lists).astype(np.int8)
        names = [f"genre {g}" for g in genres.classes_]
        return pd.concat([x, pd.DataFrame(flags, columns=names, index=d.index)], axis=1)

    y_train, truth = (train["liked"] == "yes").to_numpy(), (test["liked"] == "yes").to_numpy()
    ids = ["user_id", "item_id"]

    def hgb(encode):
        def run(seed):
            with Timer() as t:  # from the CSV file the UDT reads, columns built inside the clock as the UDT featurizes
                read = pd.read_csv(paths["train"], dtype={"zip": str})
                y = (read["liked"] == "yes").to_numpy()
                categories = {c: sorted(read[c].unique()) for c in ("gender", "occupation")}
                genres = MultiLabelBinarizer()
                fit_x = columns(read, categories, genres, fit=True)
                if encode:  # cross-fitted on the training rows
                    enc = TargetEncoder(cv=KFold(5, shuffle=True, random_state=seed))
                    fit_x[["user rate", "item rate"]] = enc.fit_transform(read[ids].astype(str), y)
                model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
                model.fit(fit_x, y)
            if len(read) != len(train) or not np.array_equal(y, y_train):
                raise RuntimeError("the rating task's training file read back other rows than the ones written")
            test_x = columns(test, categories, genres)
            if encode:
                test_x[["user rate", "item rate"]] = enc.transform(test[ids].astype(str))
            proba = model.predict_proba(test_x)[:, 1]
            return t.seconds, {}, {"accuracy": float(np.mean((proba > 0.5) == truth)),
                                   "auc": float(roc_auc_score(truth, proba))}
        return run

    return seeded_rows("movielens_rating", "rating >= 4", {
        "sparsebolt UDT (defaults)": udt_run(types, "liked", paths["train"], paths["test"],
                                             ["categorical_accuracy", "auc"]),
        "HistGradientBoostingClassifier (ids as numbers)": hgb(False),
        "HistGradientBoostingClassifier + target-encoded ids": hgb(True)}, seeds)


# wordnet graph ---------------------------------------------------------------------------

def wordnet_graph(data, workdir):
    root = os.path.join(data, "wordnet_graph")
    neighbors = collections.defaultdict(list)
    for r in read_csv(os.path.join(root, "edges.csv")):
        neighbors[r["src"]].append(r["dst"])
        neighbors[r["dst"]].append(r["src"])
    paths = {s: os.path.join(workdir, f"wordnet_graph_{s}.csv") for s in ("train", "test")}
    files = {s: open(p, "w", newline="", encoding="utf-8") for s, p in paths.items()}
    writers = {s: csv.writer(f) for s, f in files.items()}
    for w in writers.values():
        w.writerow(["node_id", "text", "neighbors", "label"])
    for r in read_csv(os.path.join(root, "nodes.csv")):
        writers[r["split"]].writerow([r["node_id"], r["text"], " ".join(neighbors[r["node_id"]]), r["label"]])
    for f in files.values():
        f.close()
    train, test = read_csv(paths["train"]), read_csv(paths["test"])
    truth = [r["label"] for r in test]
    print("wordnet_graph: gloss + node id + neighbors -> lexname, 26 classes")
    types = {"node_id": sb.types.node_id(), "text": sb.types.text(), "neighbors": sb.types.neighbors(),
             "label": sb.types.categorical()}
    model = sb.UniversalDeepTransformer(types, target="label")
    warm_up(model, paths["train"])

    def fit(m):  # transductive: every node's text and edges, never a test label
        m.index_nodes(paths["test"])
        return m.train(paths["train"], verbose=False)

    seconds, history = timed_fit(model, fit)
    res = model.evaluate(paths["test"], metrics=["categorical_accuracy"])
    pred = [p[0][0] for p in model.predict_batch([{k: r[k] for k in types if k != "label"} for r in test])]
    out = [result("wordnet_graph", "lexname", "sparsebolt UDT (defaults)", seconds,
                  {"epochs": len(history.epochs), "best_epoch": history.best_epoch},
                  accuracy=res["categorical_accuracy"], macro_f1=macro_f1(truth, pred))]
    out += linear_rows("wordnet_graph", "lexname", [r["text"] for r in train], [r["label"] for r in train],
                       [r["text"] for r in test], truth, load=pandas_columns(paths["train"], "text", "label"))
    return out


# wordnet search, 2,000 classes ------------------------------------------------------------

def most_trained_labels(train, test, n):
    """The ``n`` labels of ``test``'s rows that have the most rows in ``train`` (ties by
    label), as a set."""
    counts = collections.Counter(r["label"] for r in train)
    tested = {r["label"] for r in test}
    return set(sorted((lab for lab in counts if lab in tested), key=lambda lab: (-counts[lab], lab))[:n])


def wordnet_2k(data, workdir, n_classes=2000):
    root = os.path.join(data, "wordnet_search")
    train, test = read_csv(os.path.join(root, "train.csv")), read_csv(os.path.join(root, "test.csv"))
    keep = most_trained_labels(train, test, n_classes)
    train = [r for r in train if r["label"] in keep]
    test = [r for r in test if r["label"] in keep]
    print(f"wordnet_search, {len(keep):,} classes: {len(train):,} training and {len(test):,} test queries")
    return text_task("wordnet_2k", "synset", workdir, "query", train, test)


def text_task(dataset, task, workdir, column, train, test, logistic=True, seeds=1):
    """Result rows of the UDT with its defaults and of the TF-IDF baselines (``linear_rows``)
    on rows of a text ``column`` and a 'label', written to CSV files in ``workdir`` that
    every method reads inside its clock. ``seeds`` > 1: the UDT's seeds 1.. as rows of their
    own task after the baselines' (whose fit ratios are against seed 0's). An untimed UDT
    also trains on a row of each label first, which ``warm_up``'s first 300 rows lack above
    300 classes (the TF-IDF setting and the sparse output from 450 would otherwise load their
    kernels inside the timed fit)."""
    parts = [("train", train), ("test", test), ("labels", list({r["label"]: r for r in train}.values()))]
    paths = {}
    for name, rows in parts:
        paths[name] = os.path.join(workdir, f"{dataset}_{name}.csv")
        with open(paths[name], "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow([column, "label"])
            w.writerows([r[column], r["label"]] for r in rows)
    truth = [r["label"] for r in test]
    out = []
    for seed in range(seeds):
        model = sb.UniversalDeepTransformer({column: sb.types.text(), "label": sb.types.categorical()},
                                            target="label", seed=seed)
        copy.deepcopy(model).train(paths["labels"], max_epochs=2, verbose=False)
        secs, cfg = udt_fit(model, paths["train"])
        res = model.evaluate(paths["test"], metrics=["categorical_accuracy"])
        pred = [p[0][0] for p in model.predict_batch([{column: r[column]} for r in test])]
        out.append(result(dataset, task if seed == 0 else f"{task}, seed {seed}", "sparsebolt UDT (defaults)", secs,
                          dict(cfg, hidden=model.hidden_dim), accuracy=res["categorical_accuracy"],
                          macro_f1=macro_f1(truth, pred)))
    out[1:1] = linear_rows(dataset, task, [r[column] for r in train], [r["label"] for r in train],
                           [r[column] for r in test], truth, load=pandas_columns(paths["train"], column, "label"),
                           logistic=logistic)
    return out


def gloss_rows(data, target="parent"):
    """[{'text', 'label', 'split'}] of every wordnet_graph noun synset with a gloss and a
    label: its hypernym (the first listed parent), or with ``target='grandparent'`` that
    hypernym's own."""
    root = os.path.join(data, "wordnet_graph")
    parent = {}
    for r in read_csv(os.path.join(root, "edges.csv")):  # src is the hyponym: its first listed parent
        parent.setdefault(r["src"], r["dst"])

    def label(node):
        up = parent.get(node)
        return up if target == "parent" or up is None else parent.get(up)

    return [{"text": r["text"], "label": label(r["node_id"]), "split": r["split"]}
            for r in read_csv(os.path.join(root, "nodes.csv")) if r["text"] and label(r["node_id"]) is not None]


def wordnet_hypernym(data, workdir):
    rows = gloss_rows(data)
    counts = collections.Counter(r["label"] for r in rows if r["split"] == "train")
    keep = {lab for lab, n in counts.items() if n >= HYPERNYM_MIN_CHILDREN}
    train, test = ([r for r in rows if r["split"] == name and r["label"] in keep] for name in ("train", "test"))
    print(f"wordnet_hypernym: gloss -> hypernym, {len(keep):,} classes: {len(train):,} training and "
          f"{len(test):,} test glosses")
    # LinearSVC alone: LogisticRegression's 1,412 x 1-2-gram coefficients took 17 GB and
    # over 10 minutes here
    return text_task("wordnet_hypernym", "hypernym", workdir, "text", train, test, logistic=False)


# wordnet search, short queries -> lexname ---------------------------------------------------

def wordnet_lexname(data, workdir):
    """Short texts, few classes: wordnet_search's rows (definitions, example sentences and
    lemmas of the noun synsets) -> the synset's lexname (26, from wordnet_graph); the test
    rows are the held-out lemmas (1.6 words)."""
    lexname = {r["node_id"]: r["label"] for r in read_csv(os.path.join(data, "wordnet_graph", "nodes.csv"))}
    root = os.path.join(data, "wordnet_search")
    rows = {}
    for name in ("train", "test"):
        rows[name] = [(r["query"], lexname[r["label"]]) for r in read_csv(os.path.join(root, f"{name}.csv"))
                      if r["label"] in lexname]
    keep = np.sort(np.random.default_rng(0).permutation(len(rows["train"]))[:LEXNAME_TRAIN_ROWS])
    rows["train"] = [rows["train"][i] for i in keep]
    paths = {}
    for name, part in rows.items():
        paths[name] = os.path.join(workdir, f"wordnet_lexname_{name}.csv")
        with open(paths[name], "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["query", "lexname"])
            w.writerows(part)
    train, test = rows["train"], rows["test"]
    words = np.mean([len(q.split()) for q, _ in train])
    print(f"wordnet_search rows -> lexname, 26 classes: {len(train):,} training rows ({words:.1f} words a row) and "
          f"{len(test):,} test lemmas")
    model = sb.UniversalDeepTransformer({"query": sb.types.text(), "lexname": sb.types.categorical()},
                                        target="lexname")
    secs, cfg = udt_fit(model, paths["train"])
    res = model.evaluate(paths["test"], metrics=["categorical_accuracy"])
    pred = [p[0][0] for p in model.predict_batch([{"query": q} for q, _ in test])]
    truth = [y for _, y in test]
    out = [result("wordnet_lexname", "lexname", "sparsebolt UDT (defaults)", secs, cfg,
                  accuracy=res["categorical_accuracy"], macro_f1=macro_f1(truth, pred))]
    out += linear_rows("wordnet_lexname", "lexname", [q for q, _ in train], [y for _, y in train],
                       [q for q, _ in test], truth, load=pandas_columns(paths["train"], "query", "lexname"))
    return out


# wordnet search --------------------------------------------------------------------------

def wordnet_search(data):
    root = os.path.join(data, "wordnet_search")
    train_path, test_path = os.path.join(root, "train.csv"), os.path.join(root, "test.csv")
    print("wordnet_search: query -> synset, 117,659 classes")
    model = sb.UniversalDeepTransformer({"query": sb.types.text(), "label": sb.types.categorical()}, target="label")
    secs, cfg = udt_fit(model, train_path)
    out = []
    for mode, sparse in (("dense", False), ("sparse", True)):
        with Timer() as t:  # from the test CSV file: featurizing it is in both
            res = model.evaluate(test_path, metrics=["precision@1", "recall@10"], sparse_inference=sparse)
        out.append(result("wordnet_search", "synset", f"sparsebolt UDT (defaults, {mode} inference)", secs, cfg,
                          p_at_1=res["precision@1"], recall_at_10=res["recall@10"], eval_s=t.seconds))
    dense_row, sparse_row = out
    print(f"  sparse inference's evaluation took {sparse_row['eval_s'] / dense_row['eval_s']:.2f} of dense "
          f"inference's (featurizing the test file included in both)")
    train, test = read_csv(train_path), read_csv(test_path)
    texts, labels = [r["query"] for r in train], [r["label"] for r in train]
    for name, analyzer, ngrams in (("TF-IDF word 1-2-grams, nearest class", "word", (1, 2)),
                                   ("TF-IDF char_wb 3-5-grams, nearest class", "char_wb", (3, 5))):
        classes, top, secs = nearest_class(texts, labels, [r["query"] for r in test], analyzer, ngrams)
        p1, r10 = topk_hits(classes, top, [r["label"] for r in test])
        out.append(result("wordnet_search", "synset", name, secs, {"analyzer": analyzer, "ngram_range": ngrams},
                          p_at_1=p1, recall_at_10=r10))
    return out


# report ------------------------------------------------------------------------------------

_COLUMNS = (("accuracy", "acc"), ("auc", "AUC"), ("macro_f1", "macro-F1"), ("mae", "MAE"), ("rmse", "RMSE"), ("p_at_1", "P@1"),
            ("recall_at_10", "R@10"))


def _udt_fit_ratios(rows):
    """{row index: the UDT's fit seconds / this baseline's}, each baseline row against the
    UDT row of its data set and task (seed 0 with seed 0, means with means): the issue's
    fit-time bar read off one run."""
    def group(r):
        return r["dataset"], r["task"], ", mean of seeds" in r["method"]

    udt = {group(r): r["train_s"] for r in rows if r["method"].startswith("sparsebolt")}
    return {i: udt[group(r)] / r["train_s"] for i, r in enumerate(rows)
            if not r["method"].startswith("sparsebolt") and group(r) in udt and r["train_s"] > 0}


def report(rows):
    headers = ["data set", "task", "method"] + [h for _, h in _COLUMNS] + ["train s", "UDT / this"]
    ratios = _udt_fit_ratios(rows)
    cells = []
    for i, r in enumerate(rows):
        cells.append([r["dataset"], r["task"], r["method"]]
                     + [f"{r[k]:.4f}" if k in r else "" for k, _ in _COLUMNS] + [f"{r['train_s']:.1f}"]
                     + [f"{ratios[i]:.2f}x" if i in ratios else ""])
    return format_table(headers, cells, aligns="lll" + "r" * (len(_COLUMNS) + 2))


def main(argv=None):
    args = parse_args(argv)
    only = chosen_tasks(args.only, TASKS)
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be at least 1. Got {args.seeds}.")
    if not os.path.isdir(args.data):
        raise SystemExit(f"no data at {args.data}")
    limit_threads(args.threads)
    print(f"sparsebolt {sb.__version__} ({git_revision(ROOT)}), {sb.get_num_threads()} threads")
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        for task in only:
            t0 = time.perf_counter()
            if task == "clothing":
                rows += clothing(args.data)
            elif task == "adult":
                rows += adult(args.data, args.seeds)
            elif task == "adult_age":
                rows += adult_age(args.data, args.seeds)
            elif task == "movielens":
                rows += movielens(args.data)
            elif task == "movielens_rating":
                rows += movielens_rating(args.data, workdir, args.seeds)
            elif task == "wordnet_graph":
                rows += wordnet_graph(args.data, workdir)
            elif task == "wordnet_2k":
                rows += wordnet_2k(args.data, workdir)
            elif task == "wordnet_hypernym":
                rows += wordnet_hypernym(args.data, workdir)
            elif task == "wordnet_lexname":
                rows += wordnet_lexname(args.data, workdir)
            elif task == "wordnet_search":
                rows += wordnet_search(args.data)
            print(f"  ({task}: {time.perf_counter() - t0:.0f} s in all)\n", flush=True)
    print(report(rows))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.json:
        write_json(args.json, {"rows": rows, "machine": machine_info(), "revision": git_revision(ROOT),
                               "threads": args.threads})
    plot_path = args.plot or (os.path.splitext(args.json)[0] + ".png" if args.json else None)
    if plot_path:
        plot(rows, plot_path, f"sparsebolt {sb.__version__} ({git_revision(ROOT)}), {args.threads} threads")
        print(f"quality-against-fit-time plot written to {plot_path}")
    return rows


def plot(rows, path, title):
    """One panel a (data set, task): each method's first quality column against its fit time."""
    panels = {}
    for r in rows:
        key, label = next((k, h) for k, h in _COLUMNS if k in r)
        name = f"{r['dataset']}: {r['task']}"
        _, _, series = panels.setdefault(name, (name, label, {}))
        series[r["method"]] = [(max(r["train_s"], 0.01), r[key])]
    plot_time_to_quality(path, list(panels.values()), title=title)


if __name__ == "__main__":
    main()
