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


def main(argv=None):
    import pandas as pd

    args = parse_args(argv)
    path = os.path.join(args.data, "clothing_reviews", "train.csv")
    if not os.path.isfile(path):
        raise SystemExit(f"no data at {path}")
    limit_threads(args.threads)
    warnings.simplefilter("ignore")
    df = pd.read_csv(path).sample(8000, random_state=0)
    df = df[df.text.notna()]
    sentiment(df)
    for new in args.new.split(","):
        classes(df, new)


if __name__ == "__main__":
    main()
