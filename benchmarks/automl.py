"""sparsebolt's UniversalDeepTransformer against simple, honest baselines on five real data
sets, in one process; prints one table of quality and training time.

    clothing_reviews  text -> recommended (accuracy, AUC), text -> class_name (accuracy):
                      scikit-learn TF-IDF (word 1-2-grams) + LogisticRegression
    adult             typed tabular columns -> income (accuracy, AUC):
                      scikit-learn HistGradientBoostingClassifier (native categoricals)
    movielens_100k    next-item recall@10 with temporal user history: most popular, and
                      item-item co-occurrence (cosine), each over the user's unrated items
    wordnet_graph     gloss text + neighbors -> lexname (accuracy, macro-F1): the same UDT
                      on the text alone
    wordnet_search    query -> one of 117,659 synsets (P@1, R@5): TF-IDF nearest class
                      centroid over the training queries (a linear retrieval baseline)

Training time is wall time of the fit call: for sparsebolt ``model.train`` (CSV reading and
featurization included), for scikit-learn vectorizing plus ``fit``. Run from the repository
root, under the shared lock (2 threads):

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/automl.py [--only adult,movielens]

The data are read from ../shared/data beside the repository (``--data`` to change).
"""
import argparse
import collections
import csv
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from benchmarks._common import format_table, git_revision, machine_info, write_json  # noqa: E402

THREADS = 2
TASKS = ("clothing", "adult", "movielens", "wordnet_graph", "wordnet_search")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    p.add_argument("--only", default=",".join(TASKS), help="comma-separated subset of " + ", ".join(TASKS))
    p.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    p.add_argument("--threads", type=int, default=THREADS)
    return p.parse_args(argv)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


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


def udt_fit(model, path, **kw):
    with Timer() as t:
        model.train(path, verbose=False, **kw)
    return t.seconds


# clothing reviews -------------------------------------------------------------------------

CLOTHING_UDT = {"epochs": 3, "learning_rate": 1e-3, "encoding": "bigrams"}


def clothing(data):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    root = os.path.join(data, "clothing_reviews")
    train_path, test_path = os.path.join(root, "train.csv"), os.path.join(root, "test.csv")
    train, test = read_csv(train_path), read_csv(test_path)
    out = []
    for target, n_classes, metrics in (("recommended", 2, ["categorical_accuracy", "auc"]),
                                       ("class_name", 20, ["categorical_accuracy"])):
        print(f"clothing_reviews: text -> {target}")
        cfg = CLOTHING_UDT
        model = sb.UniversalDeepTransformer(
            {"text": sb.types.text(encoding=cfg["encoding"]), target: sb.types.categorical(n_classes=n_classes)},
            target=target)
        secs = udt_fit(model, train_path, epochs=cfg["epochs"], learning_rate=cfg["learning_rate"])
        res = model.evaluate(test_path, metrics=metrics)
        out.append(result("clothing_reviews", target, "sparsebolt UDT", secs, cfg,
                          accuracy=res["categorical_accuracy"], **({"auc": res["auc"]} if "auc" in res else {})))

        y_train = [r[target] for r in train]
        y_test = [r[target] for r in test]
        with Timer() as t:
            vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
            x_train = vec.fit_transform([r["text"] for r in train])
            lr = LogisticRegression(C=16.0, max_iter=2000).fit(x_train, y_train)
        x_test = vec.transform([r["text"] for r in test])
        metrics_lr = {"accuracy": float(np.mean(lr.predict(x_test) == np.asarray(y_test)))}
        if target == "recommended":
            pos = list(lr.classes_).index("1")
            metrics_lr["auc"] = float(roc_auc_score(np.asarray(y_test) == "1", lr.predict_proba(x_test)[:, pos]))
        out.append(result("clothing_reviews", target, "TF-IDF 1-2-grams + LogisticRegression(C=16)", t.seconds,
                          {"C": 16.0, "ngram_range": [1, 2], "min_df": 2}, **metrics_lr))
    return out


# adult -------------------------------------------------------------------------------------

ADULT_NUMERIC = ["age", "fnlwgt", "educational-num", "capital-gain", "capital-loss", "hours-per-week"]
ADULT_CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "gender",
                     "native-country"]
ADULT_UDT = {"epochs": 5, "learning_rate": 1e-3, "bins": 20}


def adult(data):
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    root = os.path.join(data, "adult")
    train_path, test_path = os.path.join(root, "train.csv"), os.path.join(root, "test.csv")
    print("adult: typed columns -> income")
    cfg = ADULT_UDT
    types = {c: sb.types.categorical() for c in ADULT_CATEGORICAL}
    types.update({c: sb.types.numerical(bins=cfg["bins"]) for c in ADULT_NUMERIC})
    types["income"] = sb.types.categorical(n_classes=2)
    model = sb.UniversalDeepTransformer(types, target="income")
    secs = udt_fit(model, train_path, epochs=cfg["epochs"], learning_rate=cfg["learning_rate"])
    res = model.evaluate(test_path, metrics=["categorical_accuracy", "auc"])
    out = [result("adult", "income", "sparsebolt UDT", secs, cfg, accuracy=res["categorical_accuracy"],
                  auc=res["auc"])]

    train, test = pd.read_csv(train_path), pd.read_csv(test_path)
    for frame in (train, test):
        for c in ADULT_CATEGORICAL:
            frame[c] = pd.Categorical(frame[c], categories=sorted(train[c].unique()))
    with Timer() as t:
        hgb = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
        hgb.fit(train[ADULT_NUMERIC + ADULT_CATEGORICAL], train["income"] == ">50K")
    proba = hgb.predict_proba(test[ADULT_NUMERIC + ADULT_CATEGORICAL])[:, 1]
    truth = (test["income"] == ">50K").to_numpy()
    out.append(result("adult", "income", "HistGradientBoostingClassifier (defaults)", t.seconds, {},
                      accuracy=float(np.mean((proba > 0.5) == truth)), auc=float(roc_auc_score(truth, proba))))
    return out


# movielens ---------------------------------------------------------------------------------

MOVIELENS_UDT = {"epochs": 5, "learning_rate": 1e-3, "history_length": 20}


def _recall_at_10(ranked, test_items):
    """Mean over users of |top-10 ∩ test| / min(10, |test|); ``ranked`` maps a user to a
    ranking of items (unrated in train)."""
    return float(np.mean([len(set(ranked[u][:10]) & items) / min(10, len(items)) for u, items in test_items.items()]))


def movielens(data):
    root = os.path.join(data, "movielens_100k")
    train_path, test_path = os.path.join(root, "train.csv"), os.path.join(root, "test.csv")
    train, test = read_csv(train_path), read_csv(test_path)
    n_items = len(read_csv(os.path.join(root, "items.csv")))
    rated = collections.defaultdict(set)
    for r in train:
        rated[r["user_id"]].add(r["item_id"])
    test_items, first_time = collections.defaultdict(set), {}
    for r in test:
        test_items[r["user_id"]].add(r["item_id"])
        first_time[r["user_id"]] = min(first_time.get(r["user_id"], r["timestamp"]), r["timestamp"], key=int)
    users = sorted(test_items, key=int)
    print(f"movielens_100k: next items of {len(users)} users (recall@10 over items unrated in train)")

    cfg = MOVIELENS_UDT
    model = sb.UniversalDeepTransformer(
        {"user_id": sb.types.categorical(), "item_id": sb.types.categorical(n_classes=n_items),
         "timestamp": sb.types.date(format="unix")},
        target="item_id", temporal_tracking={"user_id": ["item_id"]}, history_length=cfg["history_length"])
    secs = udt_fit(model, train_path, epochs=cfg["epochs"], learning_rate=cfg["learning_rate"])
    # each user's history is their training rows strictly before their first test rating
    preds = model.predict_batch([{"user_id": u, "timestamp": first_time[u]} for u in users],
                                top_k=min(n_items, 10 + max(len(rated[u]) for u in users)))
    ranked = {u: [lab for lab, _ in p if lab not in rated[u]] for u, p in zip(users, preds)}
    out = [result("movielens_100k", "next item", "sparsebolt UDT (temporal history)", secs, cfg,
                  recall_at_10=_recall_at_10(ranked, test_items))]

    with Timer() as t:
        counts = collections.Counter(r["item_id"] for r in train)
        popular = [i for i, _ in counts.most_common()]
    ranked = {u: [i for i in popular if i not in rated[u]] for u in users}
    out.append(result("movielens_100k", "next item", "most popular", t.seconds, {},
                      recall_at_10=_recall_at_10(ranked, test_items)))

    with Timer() as t:
        items = sorted(counts, key=int)
        col = {i: k for k, i in enumerate(items)}
        user_index = {u: k for k, u in enumerate(rated)}
        x = np.zeros((len(user_index), len(items)), dtype=np.float32)
        for u, its in rated.items():
            x[user_index[u], [col[i] for i in its]] = 1.0
        co = x.T @ x
        norms = np.sqrt(np.diag(co))
        sim = co / np.outer(norms, norms)
        np.fill_diagonal(sim, 0.0)
    ranked = {}
    for u in users:
        scores = x[user_index[u]] @ sim
        scores[x[user_index[u]] > 0] = -np.inf
        ranked[u] = [items[k] for k in np.argsort(-scores, kind="stable")[:10]]
    out.append(result("movielens_100k", "next item", "item-item co-occurrence (cosine)", t.seconds, {},
                      recall_at_10=_recall_at_10(ranked, test_items)))
    return out


# wordnet graph ---------------------------------------------------------------------------

GRAPH_UDT = {"epochs": 3, "learning_rate": 1e-3, "encoding": "bigrams"}


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
    truth = []
    for r in read_csv(os.path.join(root, "nodes.csv")):
        writers[r["split"]].writerow([r["node_id"], r["text"], " ".join(neighbors[r["node_id"]]), r["label"]])
        if r["split"] == "test":
            truth.append(r["label"])
    for f in files.values():
        f.close()
    print("wordnet_graph: gloss (+ neighbors) -> lexname, 26 classes")
    cfg = GRAPH_UDT
    out = []
    for graph in (True, False):
        types = {"text": sb.types.text(encoding=cfg["encoding"]), "label": sb.types.categorical(n_classes=26)}
        if graph:
            types.update({"node_id": sb.types.node_id(), "neighbors": sb.types.neighbors()})
        model = sb.UniversalDeepTransformer(types, target="label")
        with Timer() as t:
            if graph:  # transductive: every node's text and edges, never a test label
                model.index_nodes(paths["test"])
            model.train(paths["train"], epochs=cfg["epochs"], learning_rate=cfg["learning_rate"], verbose=False)
        res = model.evaluate(paths["test"], metrics=["categorical_accuracy"])
        rows = read_csv(paths["test"])
        pred = [p[0][0] for p in model.predict_batch([{k: r[k] for k in types if k != "label"} for r in rows])]
        name = "sparsebolt UDT, text + node_id + neighbors" if graph else "sparsebolt UDT, text only"
        out.append(result("wordnet_graph", "lexname", name, t.seconds, cfg, accuracy=res["categorical_accuracy"],
                          macro_f1=macro_f1(truth, pred)))
    return out


# wordnet search --------------------------------------------------------------------------

SEARCH_UDT = {"epochs": 3, "learning_rate": 2e-3, "embedding_dim": 256, "input_dim": 1 << 18,
              "tokenizer": ["words", "char-3"], "encoding": "bigrams", "label_augmentation": False}


def wordnet_search(data, baseline=True):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    root = os.path.join(data, "wordnet_search")
    train_path, test_path = os.path.join(root, "train.csv"), os.path.join(root, "test.csv")
    print("wordnet_search: query -> synset, 117,659 classes")
    cfg = SEARCH_UDT
    model = sb.UniversalDeepTransformer(
        {"query": sb.types.text(tokenizer=cfg["tokenizer"], encoding=cfg["encoding"]),
         "label": sb.types.categorical(n_classes=117_659)},
        target="label", embedding_dim=cfg["embedding_dim"], input_dim=cfg["input_dim"])
    secs = udt_fit(model, train_path, epochs=cfg["epochs"], learning_rate=cfg["learning_rate"],
                   label_augmentation=cfg["label_augmentation"])
    res = model.evaluate(test_path, metrics=["precision@1", "recall@5"])
    out = [result("wordnet_search", "synset", "sparsebolt UDT (dense inference)", secs, cfg,
                  p_at_1=res["precision@1"], recall_at_5=res["recall@5"])]
    res = model.evaluate(test_path, metrics=["precision@1", "recall@5"], sparse_inference=True)
    out.append(result("wordnet_search", "synset", "sparsebolt UDT (sparse inference)", secs, cfg,
                      p_at_1=res["precision@1"], recall_at_5=res["recall@5"]))
    if not baseline:
        return out

    train, test = read_csv(train_path), read_csv(test_path)
    with Timer() as t:
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), sublinear_tf=True, dtype=np.float32)
        x = vec.fit_transform([r["query"] for r in train])
        labels = sorted({r["label"] for r in train})
        index = {lab: k for k, lab in enumerate(labels)}
        import scipy.sparse as sp
        assign = sp.csr_matrix((np.ones(len(train), dtype=np.float32),
                                ([index[r["label"]] for r in train], np.arange(len(train)))),
                               shape=(len(labels), len(train)))
        centroids = normalize(assign @ x).T.tocsr()
    q = normalize(vec.transform([r["query"] for r in test]))
    gold = np.array([index.get(r["label"], -1) for r in test])
    hits1 = hits5 = 0
    for lo in range(0, q.shape[0], 1000):
        scores = (q[lo:lo + 1000] @ centroids).toarray()
        top = np.argpartition(-scores, 5, axis=1)[:, :5]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        g = gold[lo:lo + 1000, None]
        hits1 += int(np.sum(top[:, :1] == g))
        hits5 += int(np.sum(top == g))
    out.append(result("wordnet_search", "synset", "TF-IDF char 3-grams, nearest class centroid", t.seconds,
                      {"analyzer": "char_wb", "ngram_range": [3, 3]}, p_at_1=hits1 / len(test),
                      recall_at_5=hits5 / len(test)))
    return out


# report ------------------------------------------------------------------------------------

_COLUMNS = (("accuracy", "acc"), ("auc", "AUC"), ("macro_f1", "macro-F1"), ("recall_at_10", "R@10"),
            ("p_at_1", "P@1"), ("recall_at_5", "R@5"))


def report(rows):
    headers = ["data set", "task", "method"] + [h for _, h in _COLUMNS] + ["train s"]
    cells = []
    for r in rows:
        cells.append([r["dataset"], r["task"], r["method"]]
                     + [f"{r[k]:.4f}" if k in r else "" for k, _ in _COLUMNS] + [f"{r['train_s']:.1f}"])
    return format_table(headers, cells, aligns="lll" + "r" * (len(_COLUMNS) + 1))


def main(argv=None):
    args = parse_args(argv)
    only = [t.strip() for t in args.only.split(",") if t.strip()]
    for t in only:
        if t not in TASKS:
            raise SystemExit(f"unknown task {t!r}; choose from {', '.join(TASKS)}")
    if not os.path.isdir(args.data):
        raise SystemExit(f"no data at {args.data}")
    sb.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
    except ImportError:
        pass
    print(f"sparsebolt {sb.__version__} ({git_revision(ROOT)}), {sb.get_num_threads()} threads")
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        for task in only:
            t0 = time.perf_counter()
            if task == "clothing":
                rows += clothing(args.data)
            elif task == "adult":
                rows += adult(args.data)
            elif task == "movielens":
                rows += movielens(args.data)
            elif task == "wordnet_graph":
                rows += wordnet_graph(args.data, workdir)
            elif task == "wordnet_search":
                rows += wordnet_search(args.data)
            print(f"  ({task}: {time.perf_counter() - t0:.0f} s in all)\n", flush=True)
    print(report(rows))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.json:
        write_json(args.json, {"rows": rows, "machine": machine_info(), "revision": git_revision(ROOT),
                               "threads": args.threads})
    return rows


if __name__ == "__main__":
    main()
