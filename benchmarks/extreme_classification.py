"""GENERATOR ONLY (work in progress)"""
import math

import numpy as np


class SyntheticXC:
    """A synthetic extreme multi-label problem shaped like Amazon-670K, with structure a
    model can learn.

    Labels are split into clusters of about ``labels_per_cluster``. A cluster has a pool of
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

    def __init__(self, n_features=135_909, n_labels=670_091, seed=0, labels_per_cluster=256,
                 pool_size=256, signature_size=4, mean_labels=5.5, max_labels=16,
                 signature_keep=0.6, pool_draws=60.0, noise_draws=18.0, label_zipf=1.0,
                 cluster_zipf=0.5, pool_zipf=0.7, noise_zipf=1.0):
        self.n_features, self.n_labels = int(n_features), int(n_labels)
        self.seed = int(seed)
        self.mean_labels, self.max_labels = mean_labels, max_labels
        self.signature_keep, self.pool_draws, self.noise_draws = signature_keep, pool_draws, noise_draws
        self.params = dict(labels_per_cluster=labels_per_cluster, pool_size=pool_size,
                           signature_size=signature_size, mean_labels=mean_labels, max_labels=max_labels,
                           signature_keep=signature_keep, pool_draws=pool_draws, noise_draws=noise_draws,
                           label_zipf=label_zipf, cluster_zipf=cluster_zipf, pool_zipf=pool_zipf,
                           noise_zipf=noise_zipf)
        ss = np.random.SeedSequence(self.seed)
        self._world_seed, self._train_seed, self._test_seed = ss.spawn(3)
        rng = np.random.default_rng(self._world_seed)
        F, L = self.n_features, self.n_labels
        self.n_clusters = C = max(1, math.ceil(L / labels_per_cluster))
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

    def splits(self, n_train, n_test):
        """(train, test) dicts of CSR arrays: offsets, ids, vals, lab_offsets, lab_ids, cluster."""
        out = []
        for n, seed in ((n_train, self._train_seed), (n_test, self._test_seed)):
            cluster, lab_offsets, lab_ids, offsets, ids, tf = self._draw(n, np.random.default_rng(seed))
            if self.idf is None:  # idf from the training split's document frequencies
                df = np.bincount(ids, minlength=self.n_features)
                self.idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
            out.append(dict(offsets=offsets, ids=ids, vals=self._values(offsets, ids, tf),
                            lab_offsets=lab_offsets, lab_ids=lab_ids, cluster=cluster.astype(np.int32)))
        return out[0], out[1]


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
