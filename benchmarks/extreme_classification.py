"""Extreme classification benchmark: sparsebolt against PyTorch on an Amazon-670K-shaped task.

A synthetic data set with the shape of Amazon-670K (135,909 sparse TF-IDF features, about 75
nonzeros a row, 670,091 labels, about 5 labels a row) and learnable cluster structure is
generated from a seed (``SyntheticXC``). Models of one shape, 135,909 -> 128 ReLU -> N softmax,
start from the same initial weights (sparsebolt's, copied into PyTorch) and train in this one
process on the same threads, batch size and batch order, with Adam (lr 1e-3, eps 1e-7):

  sparsebolt     the output layer at sparsity 0.005: each sample computes its labels plus the
                 neurons its LSH buckets retrieve (padded at random), 0.005 x N in all;
                 trained with ``model.train`` (its default LSH autotuning and rebuild schedule)
  dense          PyTorch: EmbeddingBag(sum, per-sample weights) + bias + ReLU + Linear and the
                 full softmax cross-entropy, a sample's k labels with target 1/k each; the
                 fastest of a few implementations (autograd with foreach or fused Adam, or the
                 output layer written out on preallocated buffers), probed for a few steps
  sampled        PyTorch sampled softmax, per sample its own labels plus uniform negatives
                 shared by the batch, 0.005 x N outputs a sample on average
  sampled-union  PyTorch sampled softmax over one set per batch: all the batch's labels plus
                 uniform negatives up to 0.005 x N (in-batch negatives)

Reported for each: training samples/s, P@1 and P@5 on a test split from the same distribution
(dense inference for all, and sparsebolt's sparse inference too) after each epoch of the
training split (``--epochs``, default 2; every method sees the same batches, reshuffled each
epoch) and after the same training wall time (the time sparsebolt took for all its epochs),
and the peak RSS growth of each phase. For 670,091 and 100,000 outputs. Two epochs because
sparsebolt's label augmentation, as BOLT's, starts in the second: one epoch measures the
sparse model before its tables learn the labels.

A full default run takes about 16 minutes on an idle 2-core machine, most of it dense PyTorch
at 670K outputs. Run timed benchmarks alone on the machine (this repository's convention on
shared hosts):
    flock /tmp/sparsebolt-bench.lock python benchmarks/extreme_classification.py --json out.json
Smoke test (under two minutes):
    python benchmarks/extreme_classification.py --quick
"""
import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (MB, MemoryPhase, Stopwatch, format_table, git_revision, import_torch_first, log,  # noqa: E402
                     machine_info, numba_compiles, plot_time_to_quality, release_memory, rss_bytes, set_threads,
                     versions, without_compiles, write_json)

import_torch_first()

N_FEATURES = 135_909
HIDDEN = 128
SPARSITY = 0.005
LEARNING_RATE = 1e-3
ADAM_EPS = 1e-7          # sparsebolt's Adam default; PyTorch's optimizers are given the same
DEFAULT_OUTPUTS = (670_091, 100_000)
METHODS = ("sparsebolt", "dense", "sampled", "sampled-union")
# one epoch over this many training samples per output width (256 steps of 256): dense PyTorch
# at 670K outputs takes about 0.8 s a step on 2 cores, so this phase alone is about 7 minutes
# for two epochs and a full default run about 16; fewer steps leave every method in the flat
# start of its learning curve at 670K outputs
DEFAULT_TRAIN = {670_091: 65_536, 100_000: 65_536}
DEFAULT_TRAIN_OTHER = 65_536
# dense inference over 670K outputs costs ~2 s per 1,000 test samples in PyTorch and more in
# sparsebolt, and each method is evaluated after each epoch and at the wall-time mark
DEFAULT_TEST = {670_091: 5_000, 100_000: 10_000}
DEFAULT_TEST_OTHER = 10_000
DEFAULT_EPOCHS = 2


# ---------------------------------------------------------------------------------------
# synthetic data
# ---------------------------------------------------------------------------------------

class SyntheticXC:
    """A synthetic extreme multi-label problem shaped like Amazon-670K, with structure a
    model can learn.

    Labels are split into ``n_clusters`` clusters of equal size. A cluster has a pool of
    ``pool_size`` characteristic features and its labels have power-law popularity
    (exponent ``label_zipf`` over their rank in the cluster); clusters themselves have a
    milder power-law popularity (``cluster_zipf``). Every label also owns
    ``signature_size`` signature features drawn from the whole feature space.

    A sample draws a cluster, then 1 + Poisson(``mean_labels`` - 1) labels from it (at
    most ``max_labels``, repeats merged), then its features: each signature feature of each
    of its labels with probability ``signature_keep``, Poisson(``pool_draws``) draws from the
    cluster's pool (power-law over pool positions, exponent ``pool_zipf``) and
    Poisson(``noise_draws``) draws from a global power-law over all features (stop-word
    like noise). Repeated features become term counts; values are TF-IDF,
    ``(1 + log tf) * idf``, with idf from the training split's document frequencies, and
    each row is scaled to unit L2 norm.

    Everything is a function of ``seed``; the train and test splits are independent draws
    from the same distribution.
    """

    def __init__(self, n_features=135_909, n_labels=670_091, seed=0, n_clusters=400,
                 pool_size=256, signature_size=4, mean_labels=5.5, max_labels=16,
                 signature_keep=0.6, pool_draws=60.0, noise_draws=18.0, label_zipf=1.0,
                 cluster_zipf=0.5, pool_zipf=0.7, noise_zipf=1.0):
        self.n_features, self.n_labels = int(n_features), int(n_labels)
        self.seed = int(seed)
        self.mean_labels, self.max_labels = mean_labels, max_labels
        self.signature_keep, self.pool_draws, self.noise_draws = signature_keep, pool_draws, noise_draws
        self.params = dict(n_clusters=n_clusters, pool_size=pool_size,
                           signature_size=signature_size, mean_labels=mean_labels, max_labels=max_labels,
                           signature_keep=signature_keep, pool_draws=pool_draws, noise_draws=noise_draws,
                           label_zipf=label_zipf, cluster_zipf=cluster_zipf, pool_zipf=pool_zipf,
                           noise_zipf=noise_zipf)
        ss = np.random.SeedSequence(self.seed)
        self._world_seed, self._train_seed, self._test_seed = ss.spawn(3)
        rng = np.random.default_rng(self._world_seed)
        F, L = self.n_features, self.n_labels
        self.n_clusters = C = max(1, min(int(n_clusters), L))
        # label at rank r of cluster c is label_perm[c + r * C]; cluster sizes differ by <= 1
        self.label_perm = rng.permutation(L).astype(np.int32)
        self.max_cluster_size = -(-L // C)
        self.label_cluster = np.empty(L, dtype=np.int32)
        self.label_cluster[self.label_perm] = np.arange(L, dtype=np.int64) % C
        self.rank_cdf = _zipf_cdf(self.max_cluster_size, label_zipf)
        self.cluster_cdf = _zipf_cdf(C, cluster_zipf)
        self.pools = rng.integers(0, F, (C, pool_size), dtype=np.int32)
        self.pool_cdf = _zipf_cdf(pool_size, pool_zipf)
        self.noise_perm = rng.permutation(F).astype(np.int32)
        self.noise_cdf = _zipf_cdf(F, noise_zipf)
        self.signatures = rng.integers(0, F, (L, signature_size), dtype=np.int32)
        self.idf = None

    # sampling ----------------------------------------------------------------------------

    def _draw(self, n, rng):
        """Raw draws of n samples: (cluster[n], label CSR, feature CSR with term counts)."""
        F, L, C = self.n_features, self.n_labels, self.n_clusters
        cluster = np.searchsorted(self.cluster_cdf, rng.random(n), side="right").astype(np.int64)
        # labels: k per row, ranks from the cluster's power law, repeats merged
        k = np.minimum(1 + rng.poisson(self.mean_labels - 1.0, n), self.max_labels)
        lab_row = np.repeat(np.arange(n, dtype=np.int64), k)
        rank = np.searchsorted(self.rank_cdf, rng.random(lab_row.size), side="right").astype(np.int64)
        pos = cluster[lab_row] + rank * C
        pos = np.where(pos >= L, pos - C, pos)  # clusters one label short reuse their last rank
        labels = self.label_perm[pos].astype(np.int64)
        lab_key = np.unique(lab_row * L + labels)
        lab_offsets = _offsets(lab_key // L, n)
        lab_ids = (lab_key % L).astype(np.int32)
        # features: signatures of the sample's labels, cluster pool draws, global noise
        sig = self.signatures[lab_ids]                                   # [nnz_lab, S]
        sig_row = np.repeat(np.repeat(np.arange(n, dtype=np.int64), np.diff(lab_offsets)), sig.shape[1])
        keep = rng.random(sig_row.size) < self.signature_keep
        f_sig, r_sig = sig.reshape(-1)[keep].astype(np.int64), sig_row[keep]
        n_pool = rng.poisson(self.pool_draws, n)
        r_pool = np.repeat(np.arange(n, dtype=np.int64), n_pool)
        p = np.searchsorted(self.pool_cdf, rng.random(r_pool.size), side="right")
        f_pool = self.pools[cluster[r_pool], p].astype(np.int64)
        n_noise = rng.poisson(self.noise_draws, n)
        r_noise = np.repeat(np.arange(n, dtype=np.int64), n_noise)
        f_noise = self.noise_perm[np.searchsorted(self.noise_cdf, rng.random(r_noise.size), side="right")]
        rows = np.concatenate([r_sig, r_pool, r_noise])
        feats = np.concatenate([f_sig, f_pool, f_noise.astype(np.int64)])
        key, tf = np.unique(rows * F + feats, return_counts=True)
        offsets = _offsets(key // F, n)
        ids = (key % F).astype(np.int32)
        return cluster, lab_offsets, lab_ids, offsets, ids, tf

    def _values(self, offsets, ids, tf):
        vals = ((1.0 + np.log(tf)) * self.idf[ids]).astype(np.float32)
        row = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
        norm = np.sqrt(np.bincount(row, weights=vals.astype(np.float64) ** 2, minlength=offsets.size - 1))
        vals /= np.maximum(norm, 1e-12).astype(np.float32)[row]
        return vals

    def _split(self, n, seed):
        cluster, lab_offsets, lab_ids, offsets, ids, tf = self._draw(n, np.random.default_rng(seed))
        if self.idf is None:  # idf from the training split's document frequencies
            df = np.bincount(ids, minlength=self.n_features)
            self.idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        return dict(offsets=offsets, ids=ids, vals=self._values(offsets, ids, tf),
                    lab_offsets=lab_offsets, lab_ids=lab_ids, cluster=cluster.astype(np.int32))

    def splits(self, n_train, n_test):
        """(train, test) dicts of CSR arrays: offsets, ids, vals, lab_offsets, lab_ids, cluster."""
        self.idf = None
        train = self._split(n_train, self._train_seed)
        return train, self._split(n_test, self._test_seed)

    def more_train(self, n, index):
        """Another ``n`` training samples, fresh draws from the same distribution (``index``
        >= 1 numbers them; call ``splits`` first, for the idf)."""
        if self.idf is None:
            raise RuntimeError("call splits() before more_train()")
        return self._split(n, np.random.SeedSequence([self.seed, 101, int(index)]))


def _zipf_cdf(n, exponent):
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    cdf[-1] = 1.0 + 1e-12  # searchsorted(side="right") of u < 1 stays below n
    return cdf


def _offsets(sorted_rows, n):
    off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(sorted_rows, minlength=n), out=off[1:])
    return off


def cluster_oracle_p1(gen, test):
    """P@1 of predicting the most popular label of the sample's true cluster: what knowing
    the cluster alone is worth (a reference point, not a bound)."""
    top = gen.label_perm[np.minimum(test["cluster"].astype(np.int64), gen.n_labels - 1)]
    return float(_hits(top[:, None].astype(np.int64), test["lab_offsets"], test["lab_ids"],
                       gen.n_labels)[:, 0].mean())


def popularity_p1(train, test, n_labels):
    """P@1 of predicting the training split's most frequent label for every sample."""
    top = int(np.bincount(train["lab_ids"], minlength=n_labels).argmax())
    pred = np.full((test["lab_offsets"].size - 1, 1), top, dtype=np.int64)
    return float(_hits(pred, test["lab_offsets"], test["lab_ids"], n_labels)[:, 0].mean())


def _hits(pred, lab_offsets, lab_ids, n_labels):
    """bool[N, k]: whether each predicted id is one of the sample's labels."""
    n = lab_offsets.size - 1
    keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(lab_offsets)) * n_labels + lab_ids
    keys = np.sort(keys)
    q = np.arange(n, dtype=np.int64)[:, None] * n_labels + pred
    pos = np.minimum(np.searchsorted(keys, q), keys.size - 1)
    return (keys[pos] == q) & (pred >= 0)


def precision_at(pred, lab_offsets, lab_ids, n_labels):
    hits = _hits(pred.astype(np.int64), lab_offsets, lab_ids, n_labels)
    return {"precision@1": float(hits[:, 0].mean()), "precision@5": float(hits[:, :5].sum(1).mean() / 5)}


# ---------------------------------------------------------------------------------------
# batches
# ---------------------------------------------------------------------------------------

def epoch_rows(n, batch_size, seed, epoch):
    """The sample indices of each batch of one epoch (a seeded shuffle, the same for all methods)."""
    order = np.random.default_rng([seed, 7, epoch]).permutation(n)
    return [order[lo:lo + batch_size] for lo in range(0, n, batch_size)]


def take_rows(offsets, arrays, rows):
    starts, ends = offsets[rows], offsets[rows + 1]
    lengths = ends - starts
    new = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=new[1:])
    idx = np.repeat(starts - new[:-1], lengths) + np.arange(new[-1])
    return new, [a[idx] for a in arrays]


class TorchBatch:
    """One batch as the PyTorch models take it (built outside the timed region, like
    sparsebolt's Batch objects)."""

    __slots__ = ("ids", "offsets", "vals", "lab_rows", "lab_ids", "lab_w", "lab_ids_np", "lab_slot",
                 "max_labels", "size")

    def __init__(self, split, rows):
        import torch
        off, (ids, vals) = take_rows(split["offsets"], [split["ids"], split["vals"]], rows)
        loff, (lids,) = take_rows(split["lab_offsets"], [split["lab_ids"]], rows)
        counts = np.diff(loff)
        self.size = rows.size
        self.ids = torch.from_numpy(ids.astype(np.int64))
        self.offsets = torch.from_numpy(off)
        self.vals = torch.from_numpy(vals)
        self.lab_rows = torch.from_numpy(np.repeat(np.arange(rows.size, dtype=np.int64), counts))
        self.lab_ids_np = lids
        self.lab_ids = torch.from_numpy(lids.astype(np.int64))
        self.lab_w = torch.from_numpy((1.0 / np.repeat(np.maximum(counts, 1), counts)).astype(np.float32))
        self.lab_slot = torch.from_numpy(np.arange(lids.size, dtype=np.int64) - np.repeat(loff[:-1], counts))
        self.max_labels = int(counts.max()) if counts.size else 0


def sb_batch(split, rows):
    import sparsebolt as sb
    off, (ids, vals) = take_rows(split["offsets"], [split["ids"], split["vals"]], rows)
    loff, (lids,) = take_rows(split["lab_offsets"], [split["lab_ids"]], rows)
    return sb.data.Batch((sb.data.csr_value(N_FEATURES, off, ids, vals),), sb.data.Labels(loff, lids))


class BatchList(list):
    """Pre-built batches that sb.Model.train accepts as a data set (its LSH rebuild schedule
    reads ``len``, ``batch_size`` and ``n_samples``)."""

    def __init__(self, batches, batch_size):
        super().__init__(batches)
        self.batch_size = batch_size
        self.n_samples = sum(b.batch_size for b in batches)


# ---------------------------------------------------------------------------------------
# sparsebolt
# ---------------------------------------------------------------------------------------

def build_sparsebolt(n_labels, seed):
    import sparsebolt as sb
    inp = sb.Input(dim=N_FEATURES)
    hidden = sb.Embedding(dim=HIDDEN, activation="relu")(inp)
    out = sb.FullyConnected(dim=n_labels, sparsity=SPARSITY, activation="softmax")(hidden)
    model = sb.Model(inputs=inp, outputs=out, loss="categorical_cross_entropy", seed=seed)
    return model, hidden.layer, out.layer


def initial_weights(n_labels, seed):
    """sparsebolt's initial weights for this seed (copies), to start every model from."""
    model, emb, fc = build_sparsebolt(n_labels, seed)
    init = {"E": emb.E.value.copy(), "hb": emb.b.value.copy(), "W": fc.W.value.copy(), "b": fc.b.value.copy()}
    del model, emb, fc
    return init


def sb_evaluate(model, test_batches, sparse_inference):
    def measure():
        t = time.perf_counter()
        res = model.evaluate(test_batches, metrics=["precision@1", "precision@5"], sparse_inference=sparse_inference)
        return {"precision@1": float(res["precision@1"]), "precision@5": float(res["precision@5"]),
                "eval_seconds": time.perf_counter() - t}
    return without_compiles(measure)


def run_sparsebolt(n_labels, init, train, epoch_batch_rows, batch_size, test_batches, args, mem):
    """Build (checking the weights equal ``init``), train one ``model.train`` epoch per entry
    of ``epoch_batch_rows`` (the batches' sample indices) and evaluate after each, off the clock."""
    t = time.perf_counter()
    model, emb, fc = build_sparsebolt(n_labels, args.seed)
    build_seconds = time.perf_counter() - t
    same = all(np.array_equal(a, b) for a, b in ((emb.E.value, init["E"]), (emb.b.value, init["hb"]),
                                                  (fc.W.value, init["W"]), (fc.b.value, init["b"])))
    if not same:
        raise RuntimeError("sparsebolt did not rebuild the same initial weights from the seed")
    seconds = cpu = 0.0
    n = 0
    losses, per_epoch = [], []
    train_growth = None
    compiled_in_clock = []
    for epoch, rows in enumerate(epoch_batch_rows):
        batches = BatchList([sb_batch(train, r) for r in rows], batch_size)
        with numba_compiles() as compiled:
            cpu0, t0 = time.process_time(), time.perf_counter()
            # one epoch a call: the model counts its epochs, so augmentation starts in the second
            history = model.train(batches, epochs=1, learning_rate=LEARNING_RATE, verbose=False)
            seconds += time.perf_counter() - t0
            cpu += time.process_time() - cpu0
        # an epoch cannot be trained again from where it started, so a compilation that
        # warm_up missed is reported, not hidden
        compiled_in_clock += [str(d) for d in compiled]
        if compiled:
            log(f"  WARNING: numba compiled {len(compiled)} kernel(s) inside sparsebolt epoch {epoch + 1}'s clock")
        n += batches.n_samples
        del batches
        losses.append(float(history["loss"][0]))
        if train_growth is None:
            train_growth = mem.snapshot()
        log(f"  sparsebolt epoch {epoch + 1}: {n} samples in {seconds:.1f} s ({n / seconds:.0f}/s, "
            f"cpu {cpu / seconds:.2f}); evaluating")
        per_epoch.append({"epoch": epoch + 1, "samples": n, "seconds": seconds,
                          "dense": sb_evaluate(model, test_batches, sparse_inference=False),
                          "sparse": sb_evaluate(model, test_batches, sparse_inference=True)})
    pinned = None
    if args.pin_labels:
        # after the clock stops, so training is unchanged: one pass pinning the labels the
        # tables miss (what augmentation does from epoch 2), then sparse inference again
        t = time.perf_counter()
        n_pinned = model.pin_labels(BatchList([sb_batch(train, r) for r in epoch_rows(
            train["offsets"].size - 1, args.eval_batch, args.seed, 0)], args.eval_batch), verbose=False)
        pinned = {"labels_pinned": n_pinned, "seconds": time.perf_counter() - t}
        log(f"  sparsebolt: pinned {n_pinned} training labels in {pinned['seconds']:.1f} s; evaluating")
        per_epoch[-1]["pinned"] = sb_evaluate(model, test_batches, sparse_inference=True)
    cfg = fc.index.config
    return {"method": "sparsebolt", "variant": f"sparsity {SPARSITY}, {cfg.family} K={cfg.k} L={cfg.n_tables} "
                                               f"R={cfg.reservoir}",
            "build_seconds": build_seconds, "train_seconds": seconds, "train_samples": n,
            "samples_per_s": n / seconds, "cpu_utilisation": cpu / seconds,
            "mean_loss": float(np.mean(losses)), "epoch_loss": losses, "lsh": cfg.to_dict(),
            "rebuild_every": fc.index.rebuild_every, "rehash_every": fc.index.rehash_every,
            "rebuilds": fc.index.rebuilds, "labels_pinned": fc.index.labels_inserted,
            "active_per_sample": fc.n_active, "per_epoch": per_epoch, "at_samples": per_epoch[-1],
            "pin_labels": pinned, "compiled_in_clock": compiled_in_clock,
            "initial_weights_identical": same, "train_growth_mb": train_growth / MB}


# ---------------------------------------------------------------------------------------
# PyTorch models
# ---------------------------------------------------------------------------------------

def _torch():
    import torch
    return torch


def _autograd_step(opts, loss):
    """Backward from ``loss`` and one step of every optimizer; returns the loss value."""
    for o in opts:
        o.zero_grad(set_to_none=True)
    loss.backward()
    for o in opts:
        o.step()
    return loss.item()


def _softmax_(z):
    """Row softmax of a 2-D float tensor in place (one fused pass through ATen's out= kernel;
    three passes of plain in-place ops where that is unavailable)."""
    torch = _torch()
    try:
        torch.ops.aten._softmax.out(z, 1, False, out=z)
    except (AttributeError, RuntimeError):
        zmax = z.amax(1, keepdim=True)
        z.sub_(zmax).exp_()
        z.div_(z.sum(1, keepdim=True))
    return z


class TorchDense:
    """EmbeddingBag(sum) + bias + ReLU + Linear over every output, full softmax cross-entropy
    with soft targets (1/k per label), Adam.

    variants (``PROBED`` compute the same updates, to float rounding, and only differ in speed):
    'autograd-foreach' / 'autograd-fused': plain autograd, torch.optim.Adam with foreach or
    fused kernels; 'manual-fused': the output layer's forward and backward written out on
    preallocated buffers (the [B, N] logits and the weight gradients are not reallocated each
    step; 2.8-4x faster than autograd at 670K outputs), autograd for the rest, fused Adam.
    'manual-sparse-emb' (only on request) is as fast as 'manual-fused' but changes the
    optimizer: EmbeddingBag(sparse=True) with SparseAdam, i.e. lazy Adam on the input embedding
    (sparsebolt's rule), under which this model learns much more slowly in one epoch (P@1 40%
    instead of 55% at 100K outputs), so it is not a faster implementation of the same baseline.
    """

    VARIANTS = ("autograd-foreach", "autograd-fused", "manual-fused", "manual-sparse-emb")
    PROBED = ("autograd-foreach", "autograd-fused", "manual-fused")

    def __init__(self, init, variant):
        torch = _torch()
        nn = torch.nn
        self.variant = variant
        self.manual = variant.startswith("manual")
        sparse_emb = variant == "manual-sparse-emb"
        n_labels = init["W"].shape[0]
        self.emb = nn.EmbeddingBag(N_FEATURES, HIDDEN, mode="sum", sparse=sparse_emb, include_last_offset=True)
        self.hb = nn.Parameter(torch.from_numpy(init["hb"].copy()))
        self.lin = nn.Linear(HIDDEN, n_labels)
        with torch.no_grad():
            self.emb.weight.copy_(torch.from_numpy(init["E"]))
            self.lin.weight.copy_(torch.from_numpy(init["W"]))
            self.lin.bias.copy_(torch.from_numpy(init["b"]))
        adam = dict(lr=LEARNING_RATE, eps=ADAM_EPS)
        if sparse_emb:
            self.opts = [torch.optim.SparseAdam([self.emb.weight], **adam),
                         torch.optim.Adam([self.hb, self.lin.weight, self.lin.bias], fused=True, **adam)]
        else:
            kind = {"foreach": True} if variant == "autograd-foreach" else {"fused": True}
            self.opts = [torch.optim.Adam([self.emb.weight, self.hb, self.lin.weight, self.lin.bias],
                                          **kind, **adam)]
        self._z = None
        if self.manual:
            self.lin.weight.grad = torch.zeros_like(self.lin.weight)
            self.lin.bias.grad = torch.zeros_like(self.lin.bias)

    def hidden(self, b):
        torch = _torch()
        return torch.relu(self.emb(b.ids, b.offsets, per_sample_weights=b.vals) + self.hb)

    def step(self, b):
        torch = _torch()
        if not self.manual:
            h = self.hidden(b)
            z = self.lin(h)
            loss = (torch.logsumexp(z, 1).sum() - (z[b.lab_rows, b.lab_ids] * b.lab_w).sum()) / b.size
            return _autograd_step(self.opts, loss)
        # the output layer by hand on preallocated buffers: logits -> softmax in place -> p - y
        self.emb.weight.grad = None
        self.hb.grad = None
        h = self.hidden(b)
        hd = h.detach()
        W, bias = self.lin.weight, self.lin.bias
        with torch.no_grad():
            n = b.size
            if self._z is None or self._z.shape[0] < n:
                self._z = torch.empty((n, W.shape[0]), dtype=torch.float32)
            z = self._z[:n]
            torch.addmm(bias, hd, W.t(), out=z)
            _softmax_(z)
            p_lab = z[b.lab_rows, b.lab_ids]
            loss = float(-(b.lab_w * p_lab.clamp_min(1e-30).log()).sum()) / n
            z.index_put_((b.lab_rows, b.lab_ids), -b.lab_w, accumulate=True)   # p - y
            torch.mm(z.t(), hd * (1.0 / n), out=W.grad)                          # the 1/B of the mean
            torch.sum(z, 0, out=bias.grad)
            bias.grad.mul_(1.0 / n)
            gh = (z @ W).mul_(1.0 / n)
        h.backward(gh)
        for o in self.opts:
            o.step()
        return loss

    def weights(self):
        return self.emb.weight.detach(), self.hb.detach(), self.lin.weight.detach(), self.lin.bias.detach()


class TorchSampled:
    """Sampled softmax. ``mode='shared-negatives'`` (default, as TensorFlow's
    sampled_softmax_loss): each sample's softmax runs over its own labels plus one set of
    uniform random negatives shared by the whole batch, distinct, with ``n_active`` minus the
    batch's mean label count of them, so a sample scores ``n_active`` outputs on average, as
    many as sparsebolt's active set; a negative that is one of the sample's own labels is
    masked out; no logQ correction (uniform sampling makes it a constant).
    ``mode='batch-union'``: one shared set for the batch, the union of its labels (so every
    sample also scores the other samples' labels) topped up with uniform negatives to
    ``n_active``; when the union alone is larger (it is at 100K outputs: ~1,250 labels against
    500) the set is just the union and samples score more outputs than sparsebolt's.

    Output rows and input embeddings are sparse-gradient embeddings; ``variant``
    'sparse-adam' (default) updates them with SparseAdam (lazy Adam, as sparsebolt) and the
    hidden bias with Adam; 'dense-adam-fused' makes them dense parameters updated by fused
    Adam, a different optimizer (momentum moves rows absent from the batch) that is 5x slower
    at 670K outputs (0.27 s a step against 0.05 s).
    """

    VARIANTS = ("sparse-adam", "dense-adam-fused")
    MODES = ("shared-negatives", "batch-union")

    def __init__(self, init, variant, n_active, seed, mode="shared-negatives"):
        torch = _torch()
        nn = torch.nn
        self.variant, self.mode = variant, mode
        self.n_labels = init["W"].shape[0]
        self.n_active = n_active
        self.rng = np.random.default_rng([seed, 11])
        self.slot = np.full(self.n_labels, -1, dtype=np.int64)   # label -> position among negatives
        sparse = variant == "sparse-adam"
        self.emb = nn.EmbeddingBag(N_FEATURES, HIDDEN, mode="sum", sparse=sparse, include_last_offset=True)
        self.hb = nn.Parameter(torch.from_numpy(init["hb"].copy()))
        self.out_w = nn.Embedding(self.n_labels, HIDDEN, sparse=sparse)
        self.out_b = nn.Embedding(self.n_labels, 1, sparse=sparse)
        with torch.no_grad():
            self.emb.weight.copy_(torch.from_numpy(init["E"]))
            self.out_w.weight.copy_(torch.from_numpy(init["W"]))
            self.out_b.weight.copy_(torch.from_numpy(init["b"][:, None]))
        adam = dict(lr=LEARNING_RATE, eps=ADAM_EPS)
        big = [self.emb.weight, self.out_w.weight, self.out_b.weight]
        if sparse:
            self.opts = [torch.optim.SparseAdam(big, **adam), torch.optim.Adam([self.hb], **adam)]
        else:
            self.opts = [torch.optim.Adam(big + [self.hb], fused=True, **adam)]

    def negatives(self, count, exclude=None):
        """``count`` distinct uniform label ids (int64), none in the sorted array ``exclude``."""
        negs = np.zeros(0, dtype=np.int64)
        count = max(0, min(count, self.n_labels - (0 if exclude is None else exclude.size)))
        while negs.size < count:
            cand = self.rng.integers(0, self.n_labels, int(count * 1.05) + 32)
            if exclude is not None:
                cand = cand[~np.isin(cand, exclude)]
            cand = np.concatenate([negs, cand])
            _, first = np.unique(cand, return_index=True)
            negs = cand[np.sort(first)]
        return negs[:count]

    def step(self, b):
        torch = _torch()
        h = torch.relu(self.emb(b.ids, b.offsets, per_sample_weights=b.vals) + self.hb)
        if self.mode == "batch-union":
            uniq = np.unique(b.lab_ids_np)
            ids = torch.from_numpy(np.concatenate([uniq.astype(np.int64),
                                                   self.negatives(self.n_active - uniq.size, uniq)]))
            pos = torch.from_numpy(np.searchsorted(uniq, b.lab_ids_np).astype(np.int64))
            z = torch.addmm(self.out_b(ids).squeeze(1), h, self.out_w(ids).t())
            loss = (torch.logsumexp(z, 1).sum() - (z[b.lab_rows, pos] * b.lab_w).sum()) / b.size
        else:
            n_lab = b.lab_ids_np.size
            negs = self.negatives(self.n_active - int(round(n_lab / b.size)))
            neg_t = torch.from_numpy(negs)
            z_neg = torch.addmm(self.out_b(neg_t).squeeze(1), h, self.out_w(neg_t).t())   # [B, m]
            self.slot[negs] = np.arange(negs.size)
            hit = self.slot[b.lab_ids_np]
            self.slot[negs] = -1
            if (hit >= 0).any():   # a sample's own label drawn as a negative: drop that negative
                k = np.flatnonzero(hit >= 0)
                mask = torch.zeros(z_neg.shape, dtype=torch.bool)
                mask[b.lab_rows[k], torch.from_numpy(hit[k])] = True
                z_neg = z_neg.masked_fill(mask, float("-inf"))
            z_lab = (h[b.lab_rows] * self.out_w(b.lab_ids)).sum(1) + self.out_b(b.lab_ids).squeeze(1)
            z_pos = torch.full((b.size, b.max_labels), float("-inf")).index_put((b.lab_rows, b.lab_slot), z_lab)
            z = torch.cat([z_pos, z_neg], 1)
            loss = (torch.logsumexp(z, 1).sum() - (z_lab * b.lab_w).sum()) / b.size
        return _autograd_step(self.opts, loss)

    def weights(self):
        return (self.emb.weight.detach(), self.hb.detach(), self.out_w.weight.detach(),
                self.out_b.weight.detach().squeeze(1))


def torch_evaluate(model, test, n_labels, k=5, row_chunk=1024, out_block=32768, relu=True):
    """Dense inference: top-k over all outputs, scored block by block (logits never whole);
    ``relu=False`` for a linear hidden layer. A model whose ``weights`` give no output layer
    (W None) is its EmbeddingBag + bias alone, the logits themselves."""
    torch = _torch()
    t = time.perf_counter()
    E, hb, W, bias = model.weights()
    n = test["offsets"].size - 1
    preds = []
    with torch.no_grad():
        for lo in range(0, n, row_chunk):
            rows = np.arange(lo, min(n, lo + row_chunk))
            off, (ids, vals) = take_rows(test["offsets"], [test["ids"], test["vals"]], rows)
            h = torch.nn.functional.embedding_bag(torch.from_numpy(ids.astype(np.int64)), E,
                                                  torch.from_numpy(off), mode="sum",
                                                  per_sample_weights=torch.from_numpy(vals),
                                                  include_last_offset=True)
            h = h + hb
            if relu:
                h = torch.relu(h)
            if W is None:
                preds.append(torch.topk(h, min(k, h.shape[1]), dim=1).indices.numpy())
                continue
            best_z = best_i = None
            for blo in range(0, n_labels, out_block):
                z = torch.addmm(bias[blo:blo + out_block], h, W[blo:blo + out_block].t())
                zz, ii = torch.topk(z, min(k, z.shape[1]), dim=1)
                ii += blo
                if best_z is not None:
                    zz, sel = torch.topk(torch.cat([best_z, zz], 1), k, dim=1)
                    ii = torch.gather(torch.cat([best_i, ii], 1), 1, sel)
                best_z, best_i = zz, ii
            preds.append(best_i.numpy())
    res = precision_at(np.concatenate(preds), test["lab_offsets"], test["lab_ids"], n_labels)
    res["eval_seconds"] = time.perf_counter() - t
    return res


def probe_variants(make, variants, batches, steps):
    """Seconds per step of each variant (median of ``steps`` timed steps after one warm-up
    step, each variant on a fresh model); returns (fastest, {variant: seconds})."""
    times = {}
    for v in variants:
        model = make(v)
        model.step(batches[0])
        ts = []
        for b in batches[1:1 + steps]:
            t = time.perf_counter()
            model.step(b)
            ts.append(time.perf_counter() - t)
        times[v] = float(np.median(ts))
        log(f"    probe {v}: {times[v] * 1e3:.0f} ms/step")
        del model
        release_memory()
    return min(times, key=times.get), times


def run_torch(name, model, batches_for_epoch, n_train, epochs, time_target, test, n_labels, mem):
    """Train until both checkpoints are passed: ``epochs`` epochs of ``n_train`` samples
    (evaluated after each), and ``time_target`` seconds of training (evaluation pauses the
    clock). At the time checkpoint the model is evaluated after the first step that reaches
    the target, so it gets up to one step more than the target, never less. Later epochs
    follow if needed."""
    sw = Stopwatch()
    samples, steps, losses = 0, 0, []
    per_epoch, at_time = [], None
    train_growth = None
    epoch = 0
    while len(per_epoch) < epochs or at_time is None:
        for b in batches_for_epoch(epoch):
            with sw.running():
                loss = model.step(b)
            samples += b.size
            steps += 1
            if len(per_epoch) < epochs:
                losses.append(loss)
            if train_growth is None and (samples >= n_train or sw.elapsed >= time_target):
                train_growth = mem.snapshot()   # before the first evaluation
            at_epoch = None
            if len(per_epoch) < epochs and samples >= n_train * (len(per_epoch) + 1):
                log(f"  {name} epoch {len(per_epoch) + 1}: {samples} samples in {sw.elapsed:.1f} s "
                    f"({samples / sw.elapsed:.0f}/s, cpu {sw.utilisation:.2f}); evaluating")
                at_epoch = {"epoch": len(per_epoch) + 1, "samples": samples, "seconds": sw.elapsed,
                            "cpu_utilisation": sw.utilisation, "dense": torch_evaluate(model, test, n_labels)}
                per_epoch.append(at_epoch)
            if at_time is None and sw.elapsed >= time_target:
                if at_epoch is not None:
                    at_time = dict(at_epoch)
                else:
                    log(f"  {name}: {sw.elapsed:.1f} s (target {time_target:.1f} s) after {samples} samples; "
                        f"evaluating")
                    at_time = {"samples": samples, "seconds": sw.elapsed,
                               "dense": torch_evaluate(model, test, n_labels)}
            if len(per_epoch) == epochs and at_time is not None:
                break
        epoch += 1
    at_samples = per_epoch[-1]
    return {"train_seconds": at_samples["seconds"], "train_samples": at_samples["samples"],
            "samples_per_s": at_samples["samples"] / at_samples["seconds"],
            "cpu_utilisation": at_samples["cpu_utilisation"],
            "total_train_seconds": sw.elapsed, "total_train_samples": samples, "steps": steps,
            "epochs_started": epoch, "mean_loss": float(np.mean(losses)), "train_growth_mb": train_growth / MB,
            "per_epoch": per_epoch, "at_samples": at_samples, "at_time": at_time}


# ---------------------------------------------------------------------------------------
# one output width
# ---------------------------------------------------------------------------------------

def warm_up(args):
    """Compile or load sparsebolt's kernels and start both thread pools on a tiny problem,
    so no timed phase pays for it."""
    import sparsebolt as sb  # noqa: F401
    t = time.perf_counter()
    gen = SyntheticXC(N_FEATURES, 20_000, seed=args.seed + 1)
    train, test = gen.splits(4 * args.batch_size, 256)
    rows = epoch_rows(train["offsets"].size - 1, args.batch_size, args.seed, 0)
    model, _, _ = build_sparsebolt(20_000, args.seed)
    # two epochs: label augmentation, and its kernels, start in the second
    model.train(BatchList([sb_batch(train, r) for r in rows], args.batch_size), epochs=2,
                learning_rate=LEARNING_RATE, verbose=False)
    tb = [sb_batch(test, np.arange(256))]
    model.evaluate(tb, metrics=["precision@1", "precision@5"])
    model.evaluate(tb, metrics=["precision@1", "precision@5"], sparse_inference=True)
    init = initial_weights(20_000, args.seed)
    tbs = [TorchBatch(train, r) for r in rows]
    for m in ([TorchDense(init, v) for v in TorchDense.VARIANTS]
              + [TorchSampled(init, v, 100, args.seed, mode) for v in TorchSampled.VARIANTS
                 for mode in TorchSampled.MODES]):
        for b in tbs[:2]:
            m.step(b)
        torch_evaluate(m, test, 20_000)
    del model, init, tbs
    release_memory()
    log(f"warm-up {time.perf_counter() - t:.1f} s")


def run_size(n_labels, args):
    n_train = args.train_samples or DEFAULT_TRAIN.get(n_labels, DEFAULT_TRAIN_OTHER)
    n_test = args.test_samples or DEFAULT_TEST.get(n_labels, DEFAULT_TEST_OTHER)
    bs = args.batch_size
    epochs = args.epochs
    log(f"== {n_labels:,} outputs: {n_train:,} training samples x {epochs} epochs, {n_test:,} test samples")
    out = {"outputs": n_labels, "train_samples": n_train, "epochs": epochs, "test_samples": n_test,
           "batch_size": bs}

    t = time.perf_counter()
    gen = SyntheticXC(N_FEATURES, n_labels, seed=args.seed)
    train, test = gen.splits(n_train, n_test)
    out["data"] = {
        "generate_seconds": time.perf_counter() - t,
        "clusters": gen.n_clusters, "generator": gen.params,
        "nnz_per_row": float(np.diff(train["offsets"]).mean()),
        "labels_per_row": float(np.diff(train["lab_offsets"]).mean()),
        "distinct_train_labels": int(np.unique(train["lab_ids"]).size),
        "test_labels_seen_in_train": float(np.isin(test["lab_ids"], train["lab_ids"]).mean()),
        "popularity_p1": popularity_p1(train, test, n_labels),
        "cluster_oracle_p1": cluster_oracle_p1(gen, test),
        "chance_p1": float(np.diff(test["lab_offsets"]).mean() / n_labels)}
    d = out["data"]
    log(f"  data: {d['generate_seconds']:.1f} s, {d['nnz_per_row']:.1f} nnz/row, {d['labels_per_row']:.2f} "
        f"labels/row, {gen.n_clusters} clusters, {d['distinct_train_labels']:,} distinct training labels; "
        f"P@1 of most popular label {d['popularity_p1']:.4f}, of the true cluster's top label "
        f"{d['cluster_oracle_p1']:.4f}")

    init = initial_weights(n_labels, args.seed)
    n_active = max(1, int(round(SPARSITY * n_labels)))
    rows = [epoch_rows(n_train, bs, args.seed, e) for e in range(epochs)]
    sb_test = [sb_batch(test, np.arange(lo, min(lo + args.eval_batch, n_test)))
               for lo in range(0, n_test, args.eval_batch)]
    methods = {}

    # 1. sparsebolt ----------------------------------------------------------------------
    with MemoryPhase() as mem:
        res = run_sparsebolt(n_labels, init, train, rows, bs, sb_test, args, mem)
    res["memory"] = _memory(mem)
    res["at_time"] = res["at_samples"]
    methods["sparsebolt"] = res
    release_memory()
    time_target = res["train_seconds"]

    def torch_epoch(epoch):
        """The first ``epochs`` epochs are the training split in the orders sparsebolt saw. A
        method faster than sparsebolt trains on past them until sparsebolt's time: on fresh
        samples (default) or on reshuffles of the split (--later-epochs repeat)."""
        if epoch < epochs:
            split, order = train, rows[epoch]
        elif args.later_epochs == "fresh":
            split, order = gen.more_train(n_train, epoch), rows[0]
        else:
            split, order = train, epoch_rows(n_train, bs, args.seed, epoch)
        for r in order:
            yield TorchBatch(split, r)

    probe_batches = [TorchBatch(train, r) for r in rows[0][:1 + args.probe_steps]]

    # 2. dense PyTorch --------------------------------------------------------------------
    if "dense" in args.methods:
        methods["dense"] = run_dense(init, probe_batches, torch_epoch, n_train, time_target, test, n_labels, args)
        release_memory()
    for key, mode in (("sampled", "shared-negatives"), ("sampled-union", "batch-union")):
        if key in args.methods:
            methods[key] = run_sampled(init, probe_batches, torch_epoch, n_train, time_target, test, n_labels,
                                       n_active, mode, args)
            release_memory()
    del init, probe_batches, sb_test
    release_memory()
    out["methods"] = methods
    out["targets"] = check_targets(n_labels, methods)
    return out


def _memory(mem):
    return {"phase_growth_mb": mem.growth / MB, "phase_peak_mb": mem.peak / MB, "start_mb": mem.base / MB,
            "method": mem.method}


def run_dense(init, probe_batches, torch_epoch, n_train, time_target, test, n_labels, args):
    variants = TorchDense.PROBED if args.dense_variant == "auto" else (args.dense_variant,)
    if len(variants) > 1:
        log("  dense: probing variants")
        best, probe = probe_variants(lambda v: TorchDense(init, v), variants, probe_batches, args.probe_steps)
    else:
        best, probe = variants[0], {}
    with MemoryPhase() as mem:
        model = TorchDense(init, best)
        res = run_torch("dense", model, torch_epoch, n_train, args.epochs, time_target, test, n_labels, mem)
        del model
    res.update(method="dense", variant=best, probe_seconds_per_step=probe, memory=_memory(mem))
    return res


def run_sampled(init, probe_batches, torch_epoch, n_train, time_target, test, n_labels, n_active, mode, args):
    variants = (args.sampled_variant,)

    def make(v):
        return TorchSampled(init, v, n_active, args.seed, mode=mode)

    if len(variants) > 1:
        log(f"  sampled ({mode}): probing variants")
        best, probe = probe_variants(make, variants, probe_batches, args.probe_steps)
    else:
        best, probe = variants[0], {}
    with MemoryPhase() as mem:
        model = make(best)
        res = run_torch(f"sampled ({mode})", model, torch_epoch, n_train, args.epochs, time_target, test,
                        n_labels, mem)
        del model
    res.update(method="sampled", variant=best, mode=mode, outputs_per_sample=n_active,
               probe_seconds_per_step=probe, memory=_memory(mem))
    return res


def check_targets(n_labels, m):
    out = []
    sbm, dense = m.get("sparsebolt"), m.get("dense")
    if sbm and dense:
        need = 10.0 if n_labels >= 670_091 else 5.0
        speed = sbm["samples_per_s"] / dense["samples_per_s"]
        out.append({"target": f"throughput >= {need:g}x dense", "value": f"{speed:.2f}x", "met": speed >= need})
        # both of sparsebolt's inference modes (dense scores every output, sparse is what it
        # serves), after every epoch: the last is the target, the earlier ones show the way there
        last = len(sbm["per_epoch"])
        for sb_at, dense_at in zip(sbm["per_epoch"], dense["per_epoch"]):
            for mode in ("dense", "sparse"):
                gap = 100 * (sb_at[mode]["precision@1"] - dense_at["dense"]["precision@1"])
                # earlier epochs are for reference: met is None, neither met nor missed
                out.append({"target": f"P@1 ({mode} inference) within 2 points of dense or above after epoch "
                                      f"{sb_at['epoch']}" + ("" if sb_at["epoch"] == last else " (for reference)"),
                            "value": f"{gap:+.2f} points",
                            "met": gap >= -2.0 if sb_at["epoch"] == last else None})
    for key, name in (("sampled", "sampled softmax, shared negatives"), ("sampled-union", "sampled softmax, "
                                                                           "batch labels as negatives")):
        if sbm and key in m:
            diff = 100 * (sbm["at_time"]["dense"]["precision@1"] - m[key]["at_time"]["dense"]["precision@1"])
            out.append({"target": f"P@1 above {name} (same wall time)", "value": f"{diff:+.2f} points",
                        "met": diff > 0})
    return out


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------

def _pct(x):
    return f"{100 * x:.2f}"


ROWS = (("sparsebolt", "dense", "sparsebolt (dense inference)"),
        ("sparsebolt", "sparse", "sparsebolt (sparse inference)"),
        ("sparsebolt", "pinned", "sparsebolt (sparse inference, pin_labels after training)"),
        ("dense", "dense", "torch dense"),
        ("sampled", "dense", "torch sampled: own labels + shared negatives"),
        ("sampled-union", "dense", "torch sampled: batch labels + negatives"))


def report(results, header, later="fresh"):
    lines = [header, ""]
    headers = ["outputs", "method", "variant", "samples/s", "vs dense", "P@1 @N", "P@5 @N", "s @N",
               "samples @T", "s @T", "P@1 @T", "P@5 @T", "RSS+ train", "RSS+ all", "cpu"]
    rows = []
    for r in results:
        m = r["methods"]
        dense_rate = m["dense"]["samples_per_s"] if "dense" in m else None
        for key, inf, name in ROWS:
            if key not in m:
                continue
            x = m[key]
            if inf not in x["at_samples"]:
                continue
            rows.append([f"{r['outputs']:,}", name, x["variant"], f"{x['samples_per_s']:.0f}",
                         f"{x['samples_per_s'] / dense_rate:.2f}x" if dense_rate else "-",
                         _pct(x["at_samples"][inf]["precision@1"]), _pct(x["at_samples"][inf]["precision@5"]),
                         f"{x['at_samples']['seconds']:.1f}", f"{x['at_time']['samples']:,}",
                         f"{x['at_time']['seconds']:.1f}",
                         _pct(x["at_time"][inf]["precision@1"]), _pct(x["at_time"][inf]["precision@5"]),
                         f"{x['train_growth_mb']:.0f}", f"{x['memory']['phase_growth_mb']:.0f}",
                         f"{x['cpu_utilisation']:.2f}"])
    lines.append(format_table(headers, rows, aligns="lllrrrrrrrrrrrr"))
    lines.append("")
    lines.append("P@1 / P@5 after each epoch (same samples):")
    n_epochs = max(len(x["per_epoch"]) for r in results for x in r["methods"].values())
    rows = []
    for r in results:
        for key, inf, name in ROWS:
            x = r["methods"].get(key)
            if x is None or inf not in x["at_samples"]:
                continue
            rows.append([f"{r['outputs']:,}", name] + [
                f"{_pct(e[inf]['precision@1'])} / {_pct(e[inf]['precision@5'])}" if inf in e else "-"
                for e in x["per_epoch"]])
    lines.append(format_table(["outputs", "method"] + [f"epoch {e + 1}" for e in range(n_epochs)], rows,
                              aligns="ll" + "r" * n_epochs))
    lines.append("")
    lines += [
        "P@k: percent of the test split, dense inference (every output scored) unless marked.",
        "@N: after the same number of training samples, all epochs of the training split (each epoch in",
        "  the table above). @T: after the same training wall time as sparsebolt's epochs (a PyTorch",
        "  model is evaluated after its first step that reaches it; one faster than sparsebolt trains",
        "  on past N samples, on " + (
            "fresh samples from the generator)." if later == "fresh" else "reshuffled repeats of the split)."),
        "samples/s: training samples per second over the N samples (evaluation excluded).",
        "RSS+ (MB): peak resident memory of the method's phase minus the RSS at its start (so data,",
        "  interpreter and libraries are excluded: weights, optimizer state, LSH tables, buffers), 'train' up",
        "  to its first evaluation, 'all' including evaluation. Phases run one after another in this",
        "  process; the kernel's peak mark is reset at the start of each (/proc/self/clear_refs).",
        "cpu: process CPU seconds per training wall second; 2.00 = both threads busy throughout, less means",
        "  serial code or cores taken by other processes.",
        "variant: sparsebolt's autotuned LSH; for dense, the fastest of the PyTorch implementations of the",
        "  same computation in a probe of a few steps; sampled softmax uses SparseAdam (lazy, as sparsebolt).",
        "torch sampled: per sample its own labels plus one set of distinct uniform negatives shared by the",
        "  batch, as many outputs in all as sparsebolt's active set; batch labels + negatives: one set shared",
        "  by the batch, all its labels plus uniform negatives up to the active-set size (when the labels alone",
        "  are more, as at 100K outputs, the set is just the labels). Neither applies a logQ correction.",
    ]
    for r in results:
        sbm, dense = r["methods"].get("sparsebolt"), r["methods"].get("dense")
        probe = dense.get("probe_seconds_per_step") if dense else None
        if sbm and probe:
            steps = r["epochs"] * -(-r["train_samples"] // r["batch_size"])
            sb_step = sbm["train_seconds"] / steps
            lines.append("")
            lines.append(f"{r['outputs']:,} outputs, PyTorch dense variants probed (median of a few steps), and "
                         f"sparsebolt's mean step over the run ({sb_step * 1e3:.0f} ms) against each: " + ", ".join(
                             f"{v} {t * 1e3:.0f} ms ({t / sb_step:.2f}x)" for v, t in probe.items()))
    for r in results:
        d = r["data"]
        lines.append("")
        lines.append(f"{r['outputs']:,} outputs: {r['train_samples']:,} training / {r['test_samples']:,} test "
                     f"samples, {d['nnz_per_row']:.1f} nonzeros and {d['labels_per_row']:.2f} labels a row, "
                     f"{d['clusters']} clusters; reference P@1: chance {_pct(d['chance_p1'])}, most popular "
                     f"label {_pct(d['popularity_p1'])}, top label of the true cluster {_pct(d['cluster_oracle_p1'])}")
        for t in r["targets"]:
            verdict = "" if t["met"] is None else " -> met" if t["met"] else " -> MISSED"
            lines.append(f"  target: {t['target']}: {t['value']}{verdict}")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--outputs", type=int, nargs="+", default=None,
                   help=f"output widths to run (default: {' '.join(map(str, DEFAULT_OUTPUTS))})")
    p.add_argument("--train-samples", type=int, default=None,
                   help="training samples, one epoch (default: " + ", ".join(
                       f"{v:,} at {k:,}" for k, v in DEFAULT_TRAIN.items()) + f", else {DEFAULT_TRAIN_OTHER:,})")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                   help=f"epochs over the training split, evaluated after each (default {DEFAULT_EPOCHS})")
    p.add_argument("--test-samples", type=int, default=None, help="test samples (default: " + ", ".join(
        f"{v:,} at {k:,}" for k, v in DEFAULT_TEST.items()) + f", else {DEFAULT_TEST_OTHER:,})")
    p.add_argument("--threads", type=int, default=2, help="threads for sparsebolt and PyTorch (default 2)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 2,048 training and 1,000 test samples, one probe step")
    p.add_argument("--json", default=None, help="also write the results as JSON to this path")
    p.add_argument("--plot", default=None,
                   help="write the time-to-accuracy plot (P@1 against training time) to this PNG "
                        "(default: beside --json, same name with .png)")
    p.add_argument("--dense-variant", default="auto", choices=("auto",) + TorchDense.VARIANTS,
                   help="PyTorch dense implementation; auto probes " + ", ".join(TorchDense.PROBED) +
                        " (the same computation) and keeps the fastest; see TorchDense")
    p.add_argument("--sampled-variant", default="sparse-adam", choices=TorchSampled.VARIANTS,
                   help="PyTorch sampled softmax optimizer (see TorchSampled)")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                   help="methods to run (sparsebolt always runs: it sets the wall-time budget); "
                        "'sampled' scores each sample's labels plus shared uniform negatives, "
                        "'sampled-union' the batch's labels plus uniform negatives (see TorchSampled)")
    p.add_argument("--probe-steps", type=int, default=None, help="timed steps per variant probe (default 3)")
    p.add_argument("--later-epochs", default="fresh", choices=("fresh", "repeat"),
                   help="what a method faster than sparsebolt trains on after its N samples, until "
                        "sparsebolt's wall time: fresh samples from the generator (default, as from a data "
                        "set larger than the budget) or reshuffled repeats of the training split")
    p.add_argument("--eval-batch", type=int, default=2048, help="rows per sparsebolt evaluation batch")
    p.add_argument("--pin-labels", action="store_true",
                   help="after training, also pin the training labels the tables miss (model.pin_labels) "
                        "and evaluate sparse inference again (matters with --epochs 1)")
    args = p.parse_args(argv)
    if args.quick:
        args.train_samples = args.train_samples or 2048
        args.test_samples = args.test_samples or 1000
        args.probe_steps = args.probe_steps or 1
    args.probe_steps = args.probe_steps or 3
    args.outputs = args.outputs or list(DEFAULT_OUTPUTS)
    for name in ("train_samples", "epochs", "test_samples", "threads", "batch_size", "probe_steps", "eval_batch"):
        v = getattr(args, name)
        if v is not None and v < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(args.outputs) < 2:
        p.error("--outputs must be at least 2")
    return args


def main(argv=None):
    args = parse_args(argv)
    t0 = time.perf_counter()
    threads = set_threads(args.threads)
    log(f"threads {threads}; outputs {args.outputs}; batch {args.batch_size}; seed {args.seed}")
    warm_up(args)
    results = []
    for n_labels in args.outputs:
        results.append(run_size(n_labels, args))
        release_memory()
    total = time.perf_counter() - t0
    rev = git_revision(os.path.dirname(os.path.abspath(__file__)))
    v = versions()
    header = (f"sparsebolt {v.get('sparsebolt')} at {rev or 'unknown revision'}; torch {v.get('torch')}, numpy "
              f"{v.get('numpy')}, numba {v.get('numba')}; {threads['sparsebolt']} threads, batch {args.batch_size}, "
              f"seed {args.seed}, Adam lr {LEARNING_RATE:g} eps {ADAM_EPS:g}; {machine_info().get('cpu', '')}")
    text = report(results, header, args.later_epochs)
    print(text)
    print(f"\ntotal wall time {total:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        write_json(args.json, {"args": vars(args), "threads": threads, "machine": machine_info(),
                               "versions": v, "revision": rev, "total_seconds": total,
                               "final_rss_mb": (rss_bytes() or 0) / MB, "results": results})
        print(f"results written to {args.json}")
    plot_path = args.plot or (os.path.splitext(args.json)[0] + ".png" if args.json else None)
    if plot_path:
        plot(results, plot_path, header)
        print(f"time-to-accuracy plot written to {plot_path}")


def plot(results, path, header):
    """P@1 (dense inference; sparsebolt's sparse inference too) against training seconds
    after each epoch and at sparsebolt's training time, one panel an output width."""
    panels = []
    for r in results:
        series = {}
        for name, m in r["methods"].items():
            inference = ("dense", "sparse") if name == "sparsebolt" else ("dense",)
            for kind in inference:
                points = {(e["seconds"], e[kind]["precision@1"]) for e in m["per_epoch"]}
                if kind in m.get("at_time", {}):
                    points.add((m["at_time"]["seconds"], m["at_time"][kind]["precision@1"]))
                series[f"{name} ({kind} inference)" if name == "sparsebolt" else name] = points
        panels.append((f"{r['outputs']:,} outputs, {r['train_samples']:,} samples x {r['epochs']} epochs",
                       "test P@1", series))
    plot_time_to_quality(path, panels, title=header)


if __name__ == "__main__":
    main()
