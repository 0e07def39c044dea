"""Data-parallel training on Ray: throughput for 1 and 2 workers, bytes exchanged per batch
(sparse rows against the dense gradient), the exchange mechanisms timed on real gradients,
and from those measured bytes an estimate for 8, 64 and 200 nodes on 10 Gbit/s.

WordNet search (the bundled data): hashed text into 2^18 features -> 128 ReLU -> 117,659
softmax at sparsity 0.01, Adam, batch 256 per worker, on a random subset of the training
queries written once as an SVM file that the workers split by samples.

    flock /tmp/sparsebolt-bench.lock .venv/bin/python benchmarks/distributed.py [--rows 65536]

Needs ray (``pip install sparsebolt[distributed]``); the collective exchange is timed only
when torch is installed (Ray's CPU collectives run on torch.distributed's gloo).
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks._common import import_torch_first  # noqa: E402

import_torch_first()
import sparsebolt as sb  # noqa: E402
from sparsebolt.distributed.gradients import combine, dense_nbytes, join, nbytes, split  # noqa: E402

DATA = os.path.join(ROOT, "datasets", "wordnet_search")
FEATURES = 1 << 18
GBIT = 1e9 / 8  # bytes per second in one Gbit/s
NODES = (8, 64, 200)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=65_536, help="training queries used (random subset)")
    p.add_argument("--batch-size", type=int, default=256, help="samples per worker per batch")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--union-batches", type=int, default=200,
                   help="batches whose touched rows are united to see how the union grows with nodes")
    p.add_argument("--bandwidth-gbit", type=float, default=10.0)
    p.add_argument("--json", metavar="PATH", help="also write the results here")
    return p.parse_args(argv)


def write_svm(path, data, n_classes):
    """The data set as an SVM file with a header (what the workers read)."""
    f, lab = data.features, data.labels
    with open(path, "w") as out:
        out.write(f"{data.n_samples} {data.dim} {n_classes}\n")
        for i in range(data.n_samples):
            lo, hi = f.offsets[i], f.offsets[i + 1]
            labels = ",".join(str(x) for x in lab.row(i))
            feats = " ".join(f"{j}:{v:.7g}" for j, v in zip(f.ids[lo:hi].tolist(), f.vals[lo:hi].tolist()))
            out.write(f"{labels} {feats}\n")


class Factory:
    """The benchmark model (picklable, so workers build the same graph)."""

    def __init__(self, n_classes):
        self.n_classes = n_classes

    def __call__(self):
        inp = sb.Input(dim=FEATURES)
        hidden = sb.Embedding(dim=128, activation="relu")(inp)
        out = sb.FullyConnected(dim=self.n_classes, sparsity=0.01, activation="softmax")(hidden)
        return sb.Model(inputs=inp, outputs=out, seed=0)


def prepare(rows, tmp):
    feat = sb.data.HashedTextFeaturizer(dim=FEATURES)
    full, vocab = sb.data.load_text_csv(os.path.join(DATA, "train.csv.gz"), "query", "label", feat)
    pick = np.sort(np.random.default_rng(0).choice(full.n_samples, min(rows, full.n_samples), replace=False))
    part = full.batch(pick)
    x = part.inputs[0]
    data = sb.data.SparseDataset(x.offsets, x.ids, x.vals, part.labels, FEATURES)
    path = os.path.join(tmp, "train.svm")
    write_svm(path, data, len(vocab))
    return path, len(vocab)


def local_run(factory, path, args):
    """Single process, no Ray, 2 threads: the baseline a worker count is compared with."""
    sb.set_num_threads(min(2, os.cpu_count()))
    model = factory()
    data = sb.data.load_svm(path, batch_size=args.batch_size, shuffle=True)
    start = time.perf_counter()
    model.train(data, epochs=1, learning_rate=args.lr, verbose=False, label_augmentation=False)
    seconds = time.perf_counter() - start
    return model, {"samples_per_second": data.n_samples / seconds, "seconds": seconds,
                   "step_seconds": seconds / len(data)}


def sample_gradients(model, path, args, n):
    """Gradients of ``n`` batches at the weights of ``model`` (row ids only beyond 4)."""
    data = sb.data.load_svm(path, batch_size=args.batch_size, shuffle=True, seed=1)
    full, rows = [], []
    for i, batch in enumerate(data):
        if i == n:
            break
        _, grads = model.compute_gradients(batch)
        rows.append({k: r for k, (r, _) in grads.items()})
        if len(full) < 4:
            full.append(grads)
    row_bytes = {p.name: p.value[0].nbytes for p in model.parameters()}
    return model, full, rows, row_bytes


def union_growth(rows, row_bytes, counts):
    """Sparse bytes of the union of the touched rows of ``k`` batches, for each k."""
    out = {}
    for k in counts:
        if k > len(rows):
            continue
        total = 0
        for name, width in row_bytes.items():
            u = np.unique(np.concatenate([r[name] for r in rows[:k]]))
            total += u.size * (width + 4)
        out[k] = total
    return out


def time_exchanges(ray, grads, n_rows, dense_bytes, reps=5):
    """Seconds per exchange of two real gradients between 2 actors, by mechanism."""

    @ray.remote(num_cpus=1)
    class Peer:
        def __init__(self, rank, grads):
            self.rank, self.grads = rank, grads

        def put(self):
            return self.grads

        def gather(self, *others):
            t = time.perf_counter()
            combine(list(others), len(others))
            return time.perf_counter() - t

        def put_split(self):
            return tuple(split(self.grads, n_rows, 2))

        def reduce(self, *pieces):
            return combine(list(pieces), len(pieces))

        def join(self, *summed):
            return join(list(summed))

        def init_collective(self):
            import ray.util.collective as col
            col.init_collective_group(2, self.rank, backend="gloo", group_name="bench")
            return True

        def collective(self, reps):
            import torch
            import ray.util.collective as col
            names = sorted(self.grads)
            t = time.perf_counter()
            for _ in range(reps):
                # counts first, then row ids and values padded to the longest, bits as float32
                counts = torch.tensor([self.grads[n][0].size for n in names], dtype=torch.int64)
                all_counts = [torch.empty_like(counts) for _ in range(2)]
                col.allgather(all_counts, counts, group_name="bench")
                widths = [int(np.prod(self.grads[n][1].shape[1:])) for n in names]
                sizes = [int(sum(int(c[i]) * (1 + w) for i, w in enumerate(widths))) for c in all_counts]
                buf = np.zeros(max(sizes), dtype=np.float32)
                pos = 0
                for n, w in zip(names, widths):
                    r, v = self.grads[n]
                    buf[pos:pos + r.size] = r.view(np.float32)
                    pos += r.size
                    buf[pos:pos + v.size] = v.reshape(-1)
                    pos += v.size
                outs = [torch.empty(len(buf), dtype=torch.float32) for _ in range(2)]
                col.allgather(outs, torch.from_numpy(buf), group_name="bench")
                parts = []
                for c, o in zip(all_counts, outs):
                    o = o.numpy()
                    g, pos = {}, 0
                    for i, (n, w) in enumerate(zip(names, widths)):
                        k = int(c[i])
                        r = o[pos:pos + k].view(np.int32)
                        pos += k
                        g[n] = (r, o[pos:pos + k * w].reshape(k, *self.grads[n][1].shape[1:]))
                        pos += k * w
                    parts.append(g)
                combine(parts, 2)
            return (time.perf_counter() - t) / reps

        def dense_allreduce(self, n_floats, reps):
            import torch
            import ray.util.collective as col
            x = torch.ones(n_floats, dtype=torch.float32)
            col.allreduce(x, group_name="bench")
            t = time.perf_counter()
            for _ in range(reps):
                col.allreduce(x, group_name="bench")
            return (time.perf_counter() - t) / reps

    peers = [Peer.remote(r, grads[r]) for r in range(2)]
    out = {}
    refs = [p.put.remote() for p in peers]
    ray.get(refs)
    ray.get([p.gather.remote(*refs) for p in peers])  # warm up
    def median_seconds(round_trip):
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            round_trip()
            times.append(time.perf_counter() - t)
        return float(np.median(times))

    def allgather():
        refs = [p.put.remote() for p in peers]
        ray.get([p.gather.remote(*refs) for p in peers])

    def reduce_scatter():
        pieces = [p.put_split.options(num_returns=2).remote() for p in peers]
        summed = [p.reduce.remote(*[pieces[i][j] for i in range(2)]) for j, p in enumerate(peers)]
        ray.get([p.join.remote(*summed) for p in peers])

    def driver():
        combined = ray.put(combine(ray.get([p.put.remote() for p in peers]), 2))
        ray.get([p.gather.remote(combined) for p in peers])

    out["object_store_allgather"] = median_seconds(allgather)
    out["object_store_reduce_scatter"] = median_seconds(reduce_scatter)
    out["driver_combine_broadcast"] = median_seconds(driver)
    try:
        import torch  # noqa: F401
        ray.get([p.init_collective.remote() for p in peers])
        out["collective_gloo_allgather"] = float(max(ray.get([p.collective.remote(reps) for p in peers])))
        out["collective_gloo_dense_allreduce"] = float(max(ray.get(
            [p.dense_allreduce.remote(dense_bytes // 4, 2) for p in peers])))
    except ImportError:
        out["collective"] = "torch not installed"
    for p in peers:
        ray.kill(p)
    return out


def estimate(step_seconds, batch, sparse_bytes, dense_bytes, union, bandwidth):
    """Samples/s at N nodes like this one, compute and communication not overlapped.

    dense ring all-reduce:        2 (N-1)/N * D / BW
    sparse all-gather (this code): (N-1) * S / BW, each node takes in every other's rows
    sparse reduce-scatter + all-gather by row ranges: (N-1)/N * (S + U(N)) / BW, U(N) the bytes
        of the union of N batches' touched rows (measured for N up to --union-batches): a node
        sends its rows of other ranges and takes in the others' rows of its range, then takes
        in the N-1 summed ranges
    """
    ks = sorted(union)
    out = {}
    for n in NODES:
        # measured when n batches were united; else the largest measured union (a lower bound)
        u = union[n] if n in union else union[ks[-1]]
        comm = {"dense_ring_allreduce": 2 * (n - 1) / n * dense_bytes / bandwidth,
                "sparse_allgather": (n - 1) * sparse_bytes / bandwidth,
                "sparse_reduce_scatter": (n - 1) / n * (sparse_bytes + u) / bandwidth}
        out[n] = {k: {"comm_seconds": c, "samples_per_second": n * batch / (step_seconds + c)}
                  for k, c in comm.items()}
        out[n]["union_bytes"] = u
    return out


def main(argv=None):
    args = parse_args(argv)
    import ray
    results = {"args": vars(args)}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        path, n_classes = prepare(args.rows, tmp)
        print(f"{args.rows:,} queries written as SVM in {time.perf_counter() - t:.0f} s")
        factory = Factory(n_classes)
        trained, results["local"] = local_run(factory, path, args)
        print(f"local, 2 threads: {results['local']['samples_per_second']:,.0f} samples/s")

        # rows touched after one epoch, as in training (at the initial weights more are)
        model, full, rows, row_bytes = sample_gradients(trained, path, args, args.union_batches)
        dense = dense_nbytes(model)
        counts = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 200) if k <= args.union_batches]
        union = union_growth(rows, row_bytes, counts)
        results["dense_bytes"] = dense
        results["sparse_bytes_one_batch"] = float(np.mean([nbytes(g) for g in full]))
        results["union_bytes"] = union
        print(f"dense gradient {dense / 1e6:.1f} MB; sparse rows of one batch "
              f"{results['sparse_bytes_one_batch'] / 1e6:.1f} MB; union of k batches (MB): "
              + ", ".join(f"{k}: {v / 1e6:.1f}" for k, v in union.items()))

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            runs = {}
            for n, exchange in ((1, "allgather"), (2, "allgather"), (2, "reduce_scatter"), (2, "driver")):
                res = sb.distributed.train(factory, path, num_workers=n, epochs=1, learning_rate=args.lr,
                                           batch_size=n * args.batch_size,  # the global batch
                                           exchange=exchange, verbose=False,
                                           checkpoint_every=10**9)  # checkpoints at start and end only
                s = res.stats
                runs[f"{n}_{exchange}"] = s
                print(f"{n} worker(s), {exchange}: {s['samples_per_second']:,.0f} samples/s, "
                      f"{s['threads_per_worker']} thread(s) each, sparse {s['sparse_bytes_per_worker_step'] / 1e6:.1f} MB "
                      f"vs dense {s['dense_bytes_per_worker_step'] / 1e6:.1f} MB per worker per batch")
            results["runs"] = runs
            n_rows = {p.name: p.rows for p in model.parameters()}
            results["exchange_seconds"] = time_exchanges(ray, full[:2], n_rows, dense)
            print("exchange of two real gradients between 2 actors (s): "
                  + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in results["exchange_seconds"].items()))
        finally:
            ray.shutdown()

    sparse = runs["2_reduce_scatter"]["sparse_bytes_per_worker_step"]
    step = results["local"]["step_seconds"]
    est = estimate(step, args.batch_size, sparse, dense, union, args.bandwidth_gbit * GBIT)
    results["estimate"] = est
    print(f"\nestimate at {args.bandwidth_gbit:g} Gbit/s, nodes like this one ({step * 1000:.0f} ms a batch of "
          f"{args.batch_size}), no overlap of compute and communication:")
    print(f"{'nodes':>6} {'scheme':<24} {'comm ms':>9} {'samples/s':>11}")
    for n, row in est.items():
        for scheme in ("dense_ring_allreduce", "sparse_allgather", "sparse_reduce_scatter"):
            r = row[scheme]
            print(f"{n:>6} {scheme:<24} {r['comm_seconds'] * 1000:9.1f} {r['samples_per_second']:11,.0f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)


if __name__ == "__main__":
    main()
