"""``introduce_label`` on real reviews: what a class taught after training takes from the
classes the model knew, and how much of its own rows it finds, in one process.

Clothing reviews (``--data``/clothing_reviews/train.csv, 8,000 rows drawn with
``random_state=0``), the UniversalDeepTransformer with its defaults:

- 'sentiment': rating 1-2 'negative', 4-5 'positive', trained on 4,000 rows; 'neutral'
  taught from 20 rating-3 reviews; the other test reviews and the other rating-3 ones.
- 'known': the same model, 20 negative test reviews it calls positive taught as
  'negative' (more rows of a known class); the other test reviews.
- 'classes': the product class of 6,000 reviews without one class (``--new``, each in
  turn), that class taught from 20 of its reviews; the other classes' further reviews and
  the class's other reviews.

Then, needing no data, ``tests/synthetic.py``'s planted rows (a class's own words and
background words; test rows fresh draws): 300 classes trained 6 epochs, three classes
taught in turn from 10 rows each of unseen and background words, or (`known`) also two
words of an old class; 1,000 classes trained 8 epochs, three taught from 20 rows of unseen
words only. Old rows' accuracy and the new class's other rows, dense / sparse inference.

Run from the repository root, under the shared lock:

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/automl_live_labels.py [--new Swim,Jackets]
"""
import argparse
import copy
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402
from benchmarks._common import limit_threads  # noqa: E402

GIVEN = 20


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared", "data"))
    p.add_argument("--new", default="Swim,Sweaters,Jackets", help="product classes taught, each in turn")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def _labels(udt, rows):
    return np.array([r[0][0] for r in udt.predict_batch(rows[["text"]])])


def sentiment(df):
    df = df.assign(sentiment=np.select([df.rating <= 2, df.rating >= 4], ["negative", "positive"], "neutral"))
    neutral, rest = df[df.sentiment == "neutral"], df[df.sentiment != "neutral"]
    train, test = rest.head(4000), rest.iloc[4000:]
    udt = sb.UniversalDeepTransformer({"text": sb.types.text(), "sentiment": sb.types.categorical()},
                                      target="sentiment")
    udt.train(train[["text", "sentiment"]], verbose=False)
    truth, before = test.sentiment.to_numpy(), _labels(udt, test)
    taught = copy.deepcopy(udt)
    taught.introduce_label(neutral[["text"]].head(GIVEN), "neutral")
    after = _labels(taught, test)
    print(f"sentiment: 'neutral' from {GIVEN} rating-3 reviews; the {len(test):,} other test reviews' accuracy "
          f"{np.mean(before == truth):.4f} -> {np.mean(after == truth):.4f}, negative ones kept "
          f"{np.mean(before[truth == 'negative'] == 'negative'):.3f} -> "
          f"{np.mean(after[truth == 'negative'] == 'negative'):.3f}; the other {len(neutral) - GIVEN:,} rating-3 "
          f"reviews called neutral {np.mean(_labels(taught, neutral.iloc[GIVEN:]) == 'neutral'):.3f}")
    missed = test[(truth == "negative") & (before == "positive")]
    udt.introduce_label(missed[["text"]].head(GIVEN), "negative")
    others = test.drop(missed.index[:GIVEN])
    after = _labels(udt, others)
    kept = before[[test.index.get_loc(i) for i in others.index]]
    print(f"known: {GIVEN} negative reviews called positive, taught as 'negative'; the other test reviews' "
          f"accuracy {np.mean(kept == others.sentiment.to_numpy()):.4f} -> "
          f"{np.mean(after == others.sentiment.to_numpy()):.4f}, positive ones kept "
          f"{np.mean(after[others.sentiment.to_numpy() == 'positive'] == 'positive'):.4f}; the {GIVEN} given "
          f"now negative {np.mean(_labels(udt, missed.head(GIVEN)) == 'negative'):.2f}, the other "
          f"{len(missed) - GIVEN} missed ones {np.mean(_labels(udt, missed.iloc[GIVEN:]) == 'negative'):.3f}")


def classes(df, new):
    df = df[df.class_name.notna()]
    counts = df.class_name.value_counts()
    df = df[df.class_name.isin(counts[counts >= 40].index)]
    known, rows = df[df.class_name != new], df[df.class_name == new]
    train, test = known.head(6000), known.iloc[6000:]
    udt = sb.UniversalDeepTransformer({"text": sb.types.text(), "class_name": sb.types.categorical()},
                                      target="class_name")
    udt.train(train[["text", "class_name"]], verbose=False)
    truth, before = test.class_name.to_numpy(), _labels(udt, test)
    udt.introduce_label(rows[["text"]].head(GIVEN), new)
    after = _labels(udt, test)
    print(f"classes: {new} from {GIVEN} of its reviews into {udt.n_classes - 1} classes; the {len(test):,} "
          f"other reviews' accuracy {np.mean(before == truth):.4f} -> {np.mean(after == truth):.4f} "
          f"({np.mean(after == new):.3f} taken); its other {len(rows) - GIVEN} reviews found "
          f"{np.mean(_labels(udt, rows.iloc[GIVEN:]) == new):.3f}")


def planted(n_classes, n_train, n_test, epochs, kind):
    """Three classes taught in turn into a model of ``tests/synthetic.py``'s planted rows."""
    from tests.synthetic import planted_rows

    def accuracy(udt, rows, sparse):
        got = [p[0][0] for p in udt.predict_batch([{"text": r["text"]} for r in rows], sparse_inference=sparse)]
        return np.mean([g == r["label"] for g, r in zip(got, rows)])

    rng = np.random.default_rng(0)
    train, test = planted_rows(rng, n_train, n_classes), planted_rows(rng, n_test, n_classes)
    few = n_classes < 1000
    udt = sb.UniversalDeepTransformer({"text": sb.types.text(tokenizer="words"), "label": sb.types.categorical()},
                                      target="label", sparsity=0.05 if few else 0.02, embedding_dim=64,
                                      input_dim=1 << (15 if few else 16))
    udt.train(train, epochs=epochs, verbose=False)
    print(f"planted {n_classes:,} classes, {epochs} epochs, rows of {kind}: old rows "
          f"{accuracy(udt, test, False):.4f} / {accuracy(udt, test, True):.4f} before")
    for i in range(3):
        if kind == "unseen words only":
            words = [[f"fresh{i}x{k}" for k in rng.integers(0, 4, 3)] for _ in range(40)]
        elif kind == "unseen and known words":
            words = [[f"fresh{i}x{k}" for k in rng.integers(0, 4, 2)] + [f"c{i}w{k}" for k in rng.integers(0, 8, 2)] +
                     [f"n{j}" for j in rng.integers(0, 20000, 3)] for _ in range(30)]
        else:
            words = [[f"fresh{i}x{k}" for k in rng.integers(0, 4, 3)] + [f"n{j}" for j in rng.integers(0, 20000, 3)]
                     for _ in range(30)]
        rows = [{"text": " ".join(w), "label": f"fresh{i}"} for w in words]
        given = 20 if kind == "unseen words only" else 10
        udt.introduce_label([{"text": r["text"]} for r in rows[:given]], f"fresh{i}")
        print(f"  class {i + 1} taught from {given} rows: old rows {accuracy(udt, test, False):.4f} / "
              f"{accuracy(udt, test, True):.4f}; its other rows {accuracy(udt, rows[given:], False):.3f} / "
              f"{accuracy(udt, rows[given:], True):.3f}")


def main(argv=None):
    import pandas as pd

    args = parse_args(argv)
    path = os.path.join(args.data, "clothing_reviews", "train.csv")
    limit_threads(args.threads)
    warnings.simplefilter("ignore")
    if os.path.isfile(path):
        df = pd.read_csv(path).sample(8000, random_state=0)
        df = df[df.text.notna()]
        sentiment(df)
        for new in args.new.split(","):
            classes(df, new)
    else:
        print(f"no reviews at {path}: the planted tasks alone")
    planted(300, 6000, 1000, 6, "unseen and background words")
    planted(300, 6000, 1000, 6, "unseen and known words")
    planted(1000, 12000, 2000, 8, "unseen words only")


if __name__ == "__main__":
    main()
