"""The AutoML model in a few lines: a WordNet noun's definition -> its category (26 classes).

Trains a UniversalDeepTransformer with its defaults on the bundled glosses
(datasets/wordnet_glosses/, WordNet 3.0 licence), evaluates it on the held-out synsets,
predicts and explains a definition of our own, and saves it to udt.sbm, ready for
`sparsebolt serve udt.sbm`.

    .venv/bin/python examples/udt_quickstart.py [--output udt.sbm]
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "datasets", "wordnet_glosses")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import sparsebolt as sb  # noqa: E402

EXAMPLE = {"gloss": "a large carnivorous feline mammal of Africa with a tawny coat"}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", default="udt.sbm")
    args = p.parse_args()
    model = sb.UniversalDeepTransformer({"gloss": sb.types.text(), "lexname": sb.types.categorical()},
                                        target="lexname")
    start = time.perf_counter()
    history = model.train(os.path.join(DATA, "train.csv.gz"), verbose=False)
    print(f"trained {len(history.epochs)} epochs (kept epoch {history.best_epoch}) in "
          f"{time.perf_counter() - start:.1f} s")
    print("test:", model.evaluate(os.path.join(DATA, "test.csv.gz"), metrics=["categorical_accuracy", "recall@3"]))
    print(f"{EXAMPLE['gloss']!r} ->", [(label, round(score, 3)) for label, score in model.predict(EXAMPLE, top_k=3)])
    print("why:", [(token, round(c, 2)) for _, token, c in model.explain(EXAMPLE)[:5]])
    model.save(args.output)
    print(f"saved {args.output} ({os.path.getsize(args.output) / 1e6:.1f} MB); serve it with: "
          f"sparsebolt serve {args.output}")


if __name__ == "__main__":
    main()
