"""The ablation behind the UniversalDeepTransformer's defaults: one default changed at a time
on each data set of ``benchmarks/automl.py``, the test metric after every epoch (the model
counts epochs across ``train`` calls), so each setting shows its best epoch count.

    clothing/recommended, clothing/class_name   text -> label (accuracy)
    graph        wordnet_graph: node_id + gloss text + neighbors -> lexname (accuracy)
    adult        typed tabular columns -> income (AUC)
    movielens    next-item recall@10 with temporal user history

Settings are JSON overrides of the defaults: ``{"text": {...}}`` for ``sb.types.text``,
``{"bins": k}`` for ``sb.types.numerical``, any other key for the UDT constructor. Each line
printed: data set, setting, learning rate, best metric @ epoch, seconds to featurize and to
train up to that epoch, and the metric after every epoch. With ``--baselines`` also the
baselines of the issue: TF-IDF word 1-2-grams (sublinear) + LinearSVC and +
LogisticRegression, HistGradientBoostingClassifier, item-item co-occurrence.

    .venv/bin/python benchmarks/automl_ablation.py --only clothing/class_name --lrs 1e-3,3e-3 \\
        --settings '{}' '{"text": {"encoding": "unigrams"}}' '{"embedding_dim": 256}'

Quality runs take one thread (``--threads 1``); seconds are only comparable within one run
on a quiet machine.
"""
import argparse
import collections
import json
import os
import sys
import time

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from benchmarks._common import limit_threads  # noqa: E402

DATASETS = ("clothing/recommended", "clothing/class_name", "graph", "adult", "movielens")
ADULT_NUMERIC = ["age", "fnlwgt", "educational-num", "capital-gain", "capital-loss", "hours-per-week"]
ADULT_CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "gender",
                     "native-country"]


def load(name, data):
    """{'train', 'test', 'types', 'target', 'kw', 'score'}: ``score(udt) -> metric``."""
    if name.startswith("clothing/"):
        target = name.split("/")[1]
        read = lambda s: pd.read_csv(f"{data}/clothing_reviews/{s}.csv", dtype=str, keep_default_na=False)  # noqa
        train, test = read("train")[["text", target]], read("test")[["text", target]]
        return {"train": train, "test": test, "target": target, "kw": {},
                "types": lambda text: {"text": text, target: sb.types.categorical()},
                "score": lambda udt: udt.evaluate(test, metrics=["categorical_accuracy"])["categorical_accuracy"]}
    if name == "graph":
        nodes = pd.read_csv(f"{data}/wordnet_graph/nodes.csv", dtype=str, keep_default_na=False)
        edges = pd.read_csv(f"{data}/wordnet_graph/edges.csv", dtype=str)
        nbrs = collections.defaultdict(list)
        for s, d in zip(edges.src, edges.dst):
            nbrs[s].append(d)
            nbrs[d].append(s)
        nodes["neighbors"] = [" ".join(nbrs[n]) for n in nodes.node_id]
        train, test = (nodes[nodes.split == s].drop(columns="split").reset_index(drop=True) for s in ("train", "test"))
        return {"train": train, "test": test, "target": "label", "kw": {}, "transductive": True,
                "types": lambda text: {"node_id": sb.types.node_id(), "text": text, "neighbors": sb.types.neighbors(),
                                       "label": sb.types.categorical()},
                "score": lambda udt: udt.evaluate(test, metrics=["categorical_accuracy"])["categorical_accuracy"]}
    if name == "adult":
        train, test = pd.read_csv(f"{data}/adult/train.csv"), pd.read_csv(f"{data}/adult/test.csv")
        return {"train": train, "test": test, "target": "income", "kw": {},
                "types": lambda numerical: {**{c: sb.types.categorical() for c in ADULT_CATEGORICAL},
                                            **{c: numerical for c in ADULT_NUMERIC}, "income": sb.types.categorical()},
                "score": lambda udt: udt.evaluate(test, metrics=["auc"])["auc"]}
    train = pd.read_csv(f"{data}/movielens_100k/train.csv", dtype=str)[["user_id", "item_id", "timestamp"]]
    test = pd.read_csv(f"{data}/movielens_100k/test.csv", dtype=str)
    rated, test_items, first = collections.defaultdict(set), collections.defaultdict(set), {}
    for u, i in zip(train.user_id, train.item_id):
        rated[u].add(i)
    for u, i, t in zip(test.user_id, test.item_id, test.timestamp):
        test_items[u].add(i)
        first[u] = min(first.get(u, int(t)), int(t))
    users = sorted(test_items, key=int)

    def score(udt):
        top = 10 + max(len(rated[u]) for u in users)
        preds = udt.predict_batch([{"user_id": u, "timestamp": first[u]} for u in users], top_k=top)
        ranked = {u: [lab for lab, _ in p if lab not in rated[u]] for u, p in zip(users, preds)}
        return recall_at_10(ranked, test_items)

    return {"train": train, "test": test, "target": "item_id", "kw": {"temporal_tracking": {"user_id": ["item_id"]}},
            "types": lambda _: {"user_id": sb.types.categorical(), "item_id": sb.types.categorical(),
                                "timestamp": sb.types.date(format="unix")},
            "score": score, "rated": rated, "test_items": test_items, "users": users}


def recall_at_10(ranked, test_items):
    return float(np.mean([len(set(ranked[u][:10]) & its) / min(10, len(its)) for u, its in test_items.items()]))


def run(name, d, setting, epochs, lr):
    """(metric after each epoch, featurize seconds, train seconds after each epoch)."""
    s = dict(setting)
    column = sb.types.text(**s.pop("text", {})) if name != "adult" else sb.types.numerical(**(
        {"bins": s.pop("bins")} if "bins" in s else {}))
    udt = sb.UniversalDeepTransformer(d["types"](column), target=d["target"], **d["kw"], **s)
    if d.get("transductive"):  # every node's text and edges, never a test label
        udt.index_nodes(d["test"])
    start = time.perf_counter()
    if udt.featurizer.node_column is not None:
        udt.index_nodes(d["train"])
    for chunk in udt._chunks(d["train"], with_target=True, columns=[d["target"]]):
        udt.featurizer.labels.to_ids(chunk.columns[d["target"]], chunk, grow=True)
    udt._build()
    data = udt._dataset(d["train"], "train", 256, shuffle=True)
    featurize_s = time.perf_counter() - start
    scores, seconds = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        udt.model.train(data, epochs=1, learning_rate=lr, verbose=False, label_augmentation=False)
        seconds.append((seconds[-1] if seconds else 0.0) + time.perf_counter() - start)
        scores.append(d["score"](udt))
    return scores, featurize_s, seconds


def baselines(name, d):
    """[(method, metric, fit seconds)]."""
    out = []
    if name in ("clothing/recommended", "clothing/class_name", "graph"):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC
        for method, make in (("LinearSVC", LinearSVC), ("LogisticRegression(C=16)",
                                                        lambda: LogisticRegression(C=16.0, max_iter=2000))):
            start = time.perf_counter()
            vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
            clf = make().fit(vec.fit_transform(d["train"].text), d["train"][d["target"]])
            secs = time.perf_counter() - start
            acc = float(np.mean(clf.predict(vec.transform(d["test"].text)) == d["test"][d["target"]].to_numpy()))
            out.append((f"TF-IDF 1-2-grams + {method}", acc, secs))
    elif name == "adult":
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.metrics import roc_auc_score
        train, test = d["train"].copy(), d["test"].copy()
        for frame in (train, test):
            for c in ADULT_CATEGORICAL:
                frame[c] = pd.Categorical(frame[c], categories=sorted(d["train"][c].unique()))
        cols = ADULT_NUMERIC + ADULT_CATEGORICAL
        start = time.perf_counter()
        hgb = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
        hgb.fit(train[cols], train.income == ">50K")
        secs = time.perf_counter() - start
        out.append(("HistGradientBoostingClassifier", float(roc_auc_score(test.income == ">50K",
                                                                             hgb.predict_proba(test[cols])[:, 1])), secs))
    else:
        start = time.perf_counter()
        items = sorted({i for its in d["rated"].values() for i in its}, key=int)
        col = {i: k for k, i in enumerate(items)}
        row = {u: k for k, u in enumerate(d["rated"])}
        x = np.zeros((len(row), len(items)), dtype=np.float32)
        for u, its in d["rated"].items():
            x[row[u], [col[i] for i in its]] = 1.0
        co = x.T @ x
        norms = np.sqrt(np.diag(co))
        sim = co / np.outer(norms, norms)
        np.fill_diagonal(sim, 0.0)
        secs = time.perf_counter() - start
        ranked = {}
        for u in d["users"]:
            scores = x[row[u]] @ sim
            scores[x[row[u]] > 0] = -np.inf
            ranked[u] = [items[k] for k in np.argsort(-scores, kind="stable")[:10]]
        out.append(("item-item co-occurrence (cosine)", recall_at_10(ranked, d["test_items"]), secs))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    p.add_argument("--only", default=",".join(DATASETS))
    p.add_argument("--settings", nargs="*", default=["{}"], help="JSON overrides of the defaults, one per run")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--lrs", default="1e-3")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--baselines", action="store_true")
    args = p.parse_args(argv)
    limit_threads(args.threads)
    for name in args.only.split(","):
        d = load(name, args.data)
        if args.baselines:
            for method, metric, secs in baselines(name, d):
                print(f"{name:21} {method:58} {metric:.4f}  fit {secs:.1f} s", flush=True)
        for setting in args.settings:
            for lr in (float(x) for x in args.lrs.split(",")):
                scores, feat_s, secs = run(name, d, json.loads(setting), args.epochs, lr)
                best = int(np.argmax(scores))
                print(f"{name:21} {setting:40} lr={lr:g}  {scores[best]:.4f} @ {best + 1}  featurize {feat_s:.1f} s "
                      f"+ train {secs[best]:.1f} s | " + " ".join(f"{s:.4f}" for s in scores), flush=True)


if __name__ == "__main__":
    main()
