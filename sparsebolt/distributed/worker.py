"""The Ray actor holding one replica and its shard of the data (imports Ray: load it only
through ``sb.distributed.train``)."""
import hashlib
import os
import socket

import numpy as np
import ray

from .._threads import set_num_threads
from .data import epoch_batches, load_shard
from .gradients import combine, join, nbytes, scale, split
from .replica import build_replica, check_one_input, load_replica_state


class Worker:
    """One replica: computes gradients on its shard's batches and applies the combined ones."""

    def __init__(self, rank, num_workers, replica, layer_names, data_spec, threads, seed, shuffle):
        set_num_threads(min(threads, int(os.environ.get("NUMBA_NUM_THREADS", threads))))
        self.rank, self.num_workers = rank, num_workers
        self.replica, self.layer_names, self.data_spec = replica, layer_names, data_spec
        self.seed, self.shuffle = seed, shuffle
        self._plan = None

    def load(self):
        """Build the replica and read this worker's shard; returns ``info``. Not in
        ``__init__``: an actor whose constructor raises reaches the driver as ActorDiedError,
        a method's error as itself (a shard of no samples, a bad line of a file)."""
        self.model = build_replica(self.replica)
        self.replica = None  # its arrays live on in the model, not twice
        self.model.rename_layers(self.layer_names)
        self.model.stream = self.rank
        check_one_input(self.model)
        self.data = load_shard(self.data_spec, self.rank, self.num_workers, self.model.inputs[0].dim,
                               self.model.output.dim)
        self.data_spec = None  # what a callable spec holds is not kept beside its shard
        return self.info()

    def info(self):
        return {"rank": self.rank, "pid": os.getpid(), "host": socket.gethostname(),
                "n_samples": self.data.n_samples, "threads": int(__import__("numba").get_num_threads())}

    def ping(self):
        return True

    def setup(self, steps, batch_size, global_batch, sync_every):
        """Fix the epoch plan (``steps`` an epoch, this worker's ``batch_size`` of the
        ``global_batch``) and the LSH schedule: one optimizer step per exchange, of up to
        ``sync_every * global_batch`` samples. Label pins are deferred: every replica's,
        gathered and inserted in worker order."""
        self.steps, self.batch_size, self.global_batch = steps, batch_size, global_batch
        self.sync_every = sync_every
        # a batch's gradient is its mean: weighted by its samples over the workers' mean batch
        self.mean_batch = global_batch / self.num_workers
        for layer in self.model.sparse_layers():
            layer.index.defer_labels = True
        self._schedule()

    def _schedule(self):
        exchanges = -(-self.steps // self.sync_every)
        for layer in self.model.sparse_layers():
            layer.index.set_schedule(exchanges, self.sync_every * self.global_batch)

    def _rows(self, epoch):
        if self._plan is None or self._plan[0] != epoch:
            rows = epoch_batches(self.data.n_samples, self.batch_size, epoch, self.rank, self.seed, self.shuffle)
            self._plan = (epoch, rows)
        return self._plan[1]

    def _augment(self, augment):
        """The engine's label-augmentation schedule (``train.engine.augmenting``): freeze
        the tables, the output layer's taking the labels its buckets miss."""
        if augment and any(not layer.index.frozen for layer in self.model.sparse_layers()):
            self.model.freeze_tables(label_augmentation=True)

    def _take_pins(self):
        pins = []
        for layer in self.model.sparse_layers():
            pins.append(layer.index.deferred)
            layer.index.deferred = []
        return pins

    @ray.method(num_returns=2)
    def compute(self, epoch, first, count, augment):
        """Gradients of local batches ``first .. first + count - 1`` of ``epoch`` (those
        the shard holds) at the current weights, each weighted by its samples over the
        mean batch and summed: ({summed batch-mean losses, batches, samples, bytes},
        (sparse gradient, label pins))."""
        rows = self._rows(epoch)
        self._augment(augment)
        parts, loss_sum, samples = [], 0.0, 0
        for j in range(first, min(first + count, len(rows))):
            n = len(rows[j])
            loss, grads = self.model.compute_gradients(self.data.batch(rows[j]))
            loss_sum += float(loss)
            samples += n
            parts.append(scale(grads, n / self.mean_batch))
        total = combine(parts) if parts else {}
        pins = self._take_pins()
        sent = nbytes(total) + sum(a.nbytes for batch_pins in pins for pin in batch_pins for a in pin)
        return {"loss": loss_sum, "batches": len(parts), "samples": samples, "bytes": sent}, (total, pins)

    def compute_split(self, epoch, first, count, augment):
        """``compute``, with the gradient cut into one piece per worker by row range:
        (stats, label pins, piece 0, ..., piece N-1); call with num_returns = N + 2."""
        stats, (total, pins) = self.compute(epoch, first, count, augment)
        n_rows = {p.name: p.rows for p in self.model.parameters()}
        return (stats, pins, *split(total, n_rows, self.num_workers))

    def reduce(self, divisor, *pieces):
        """Sum every worker's piece of this worker's row range (in worker order)."""
        return combine(list(pieces), divisor)

    def apply_pieces(self, learning_rate, *args):
        """One optimizer step with the summed pieces of every row range, then every
        worker's label pins (args: N pins, then N summed pieces)."""
        n = self.num_workers
        pins, pieces = args[:n], args[n:]
        self.apply_combined(learning_rate, (join(list(pieces)), list(pins)))
        return True

    def step_alone(self, epoch, first, count, augment, learning_rate, divisor):
        """A job of one worker: nothing to exchange, so one batch is ``Model.train_step``
        (the same bits as compute + apply, without moving the gradient)."""
        if count > 1:
            stats, payload = self.compute(epoch, first, count, augment)
            self.apply(learning_rate, divisor, payload)
            return stats
        self._augment(augment)
        batch = self.data.batch(self._rows(epoch)[first])
        loss = self.model.train_step(batch, learning_rate)
        for layer, layer_pins in zip(self.model.sparse_layers(), self._take_pins()):
            layer.index.insert_deferred(layer_pins)
        return {"loss": float(loss), "batches": 1, "samples": batch.batch_size, "bytes": 0}

    def apply(self, learning_rate, divisor, *payloads):
        """Combine every worker's gradient (in worker order), take one optimizer step and
        pin every worker's missed labels (in worker order)."""
        grads = combine([p[0] for p in payloads], divisor)
        self.apply_combined(learning_rate, (grads, [p[1] for p in payloads]))
        return True

    def apply_combined(self, learning_rate, payload):
        """One optimizer step with a gradient the driver already combined, then the pins."""
        grads, pins = payload
        self.model.apply_gradients(grads, learning_rate, self.global_batch)
        for worker_pins in pins:
            for layer, layer_pins in zip(self.model.sparse_layers(), worker_pins):
                layer.index.insert_deferred(layer_pins)
        return True

    def state(self):
        return self.model.get_state()

    def load_state(self, state):
        self._plan = None
        load_replica_state(self.model, state)
        for layer in self.model.sparse_layers():  # a new index: set it up again
            layer.index.defer_labels = True
            layer.index.deferred = []
        self._schedule()  # the job's schedule, not the one the state was saved with
        return True

    def evaluate(self, validation, metrics):
        from ..data.svm import load_svm
        if isinstance(validation, (str, os.PathLike)):
            validation = load_svm(validation, batch_size=2048, n_features=self.model.inputs[0].dim,
                                  n_labels=self.model.output.dim)
        return self.model.evaluate(validation, metrics=list(metrics))

    def digest(self):
        """SHA-256 over every parameter's bytes and the hash tables (replica identity)."""
        h = hashlib.sha256()
        for p in self.model.parameters():
            h.update(np.ascontiguousarray(p.value).tobytes())
        for layer in self.model.sparse_layers():
            h.update(layer.index.tables.buckets.tobytes())
            h.update(layer.index.tables.counts.tobytes())
            h.update(layer.index.tables.pinned.tobytes())
        return h.hexdigest()
