"""The UniversalDeepTransformer with temporal tracking on generated user histories (a
stand-in for the issue's unseen user-item history check), with its defaults (``train(data)``
and nothing else) against the most popular items and item-item co-occurrence: recall@10 of
each user's next items and fit seconds, in one process (``benchmarks.automl.next_item_task``,
which MovieLens' row of benchmarks/automl.py runs too).

Each item belongs to one of ``topics`` topics and has a Zipf-distributed popularity within
it. A user has a taste over the topics (Dirichlet of ``concentration``: small, a few topics;
1, many) and a history of about ``length`` distinct items (log-normal), an hour apart on
average. Each next item is, with probability ``successor``, one of three items fixed for
the previous one (a sequel, the next episode); otherwise the user stays on the current topic
with probability ``stick`` or draws a topic from their taste, and takes an item of it by
popularity. As in MovieLens' split, each user's last tenth of items is the test set. The
presets below span what decides the winner: with no order to the items (``successor`` 0)
a user's whole history is what co-occurrence reads, and the UDT sees their last 20 items.
The data are made from ``--seed``; nothing is read. Run from the repository root, under the
shared lock:

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/automl_histories.py [--only taste,sequels]
"""
import argparse
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
from benchmarks._common import chosen_tasks, limit_threads  # noqa: E402
from benchmarks.automl import next_item_task, report  # noqa: E402

PRESETS = {
    "taste": dict(users=2000, items=5000, topics=50, length=40, successor=0.0, stick=0.5, concentration=0.1),
    "sequels": dict(users=2000, items=5000, topics=50, length=40, successor=0.3, stick=0.5, concentration=0.1),
    "catalogue": dict(users=5000, items=20000, topics=200, length=15, successor=0.2, stick=0.5, concentration=0.1),
    "broad": dict(users=3000, items=2000, topics=20, length=30, successor=0.0, stick=0.0, concentration=1.0),
}
SUCCESSORS, ZIPF, MAX_POPULARITY, TEST_SHARE = 3, 1.3, 10_000, 0.1
START, START_SPREAD, MEAN_GAP = 880_000_000, 10_000_000, 3600


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--only", default=None, help="comma-separated presets: " + ", ".join(PRESETS))
    p.add_argument("--seed", type=int, default=0, help="the generator's seed")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    args.only = chosen_tasks(args.only, tuple(PRESETS)) if args.only else list(PRESETS)
    return args


def generate(users, items, topics, length, successor, stick, concentration, seed):
    """(train, test): lists of {'user_id', 'item_id', 'timestamp'} rows, each user's last
    ``TEST_SHARE`` of their items (at least one) in test."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, topics, items)
    popularity = np.minimum(rng.zipf(ZIPF, items), MAX_POPULARITY).astype(np.float64)
    members = [np.flatnonzero(topic == t) for t in range(topics)]
    weights = [popularity[m] / popularity[m].sum() for m in members]
    following = np.stack([rng.choice(members[topic[i]], SUCCESSORS) for i in range(items)])
    train, test = [], []
    for u in range(users):
        taste = rng.dirichlet(np.full(topics, concentration))
        n = max(5, int(rng.lognormal(np.log(length), 0.7)))
        seen, order, prev = set(), [], None
        current = rng.choice(topics, p=taste)
        for _ in range(3 * n):  # a user of a small topic may run out of items to draw
            if len(order) == n:
                break
            if prev is not None and rng.random() < successor:
                item = int(following[prev, rng.integers(SUCCESSORS)])
            else:
                if rng.random() >= stick:
                    current = rng.choice(topics, p=taste)
                item = int(rng.choice(members[current], p=weights[current]))
            if item not in seen:
                seen.add(item)
                order.append(item)
                prev = item
        t = START + int(rng.integers(0, START_SPREAD))
        rows = []
        for item in order:
            t += int(rng.exponential(MEAN_GAP)) + 1
            rows.append({"user_id": str(u + 1), "item_id": str(item + 1), "timestamp": str(t)})
        k = max(1, round(TEST_SHARE * len(rows)))
        train += rows[:-k]
        test += rows[-k:]
    return train, test


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["user_id", "item_id", "timestamp"])
        w.writeheader()
        w.writerows(rows)


def main(argv=None):
    args = parse_args(argv)
    limit_threads(args.threads)
    start, out = time.perf_counter(), []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.only:
            cfg = PRESETS[name]
            train, test = generate(**cfg, seed=args.seed)
            paths = [os.path.join(workdir, f"{name}_{part}.csv") for part in ("train", "test")]
            write(paths[0], train)
            write(paths[1], test)
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in cfg.items())
                  + f"; {len(train):,} training and {len(test):,} test rows", flush=True)
            out += next_item_task(f"generated ({name})", "next item", paths[0], paths[1], cfg["items"])
    print(report(out))
    print(f"\ntotal {time.perf_counter() - start:.0f} s, {sb.get_num_threads()} threads")
    return out


if __name__ == "__main__":
    main()
