"""Hooks into the training loop."""
import copy
import math

import numpy as np

from .._validation import check_float, check_int
from .schedules import monitored


class Callback:
    """Override any of these; ``logs`` is a dict of what is known at that point
    (``loss``; after an epoch also ``val_<metric>`` entries and ``seconds``). Setting
    ``stop_training`` ends training after the current epoch."""

    stop_training = False

    def on_train_begin(self, model):
        pass

    def on_epoch_begin(self, epoch, model):
        pass

    def on_batch_end(self, step, logs, model):
        pass

    def on_epoch_end(self, epoch, logs, model):
        pass

    def on_train_end(self, model):
        pass


class History(Callback):
    """Collects each epoch's logs; ``fit`` returns it. ``best_epoch`` (1-based) is set
    where training kept the weights of an earlier epoch than the last (None otherwise)."""

    def __init__(self):
        self.epochs = []
        self.best_epoch = None

    def on_epoch_end(self, epoch, logs, model):
        self.epochs.append(dict(logs))

    def __getitem__(self, key):
        return [e.get(key) for e in self.epochs]

    def __repr__(self):
        return f"History({self.epochs})"

    def plot(self, path, title=None):
        """Draw the loss and each validation metric by epoch and by training wall time
        into the PNG ``path`` (needs matplotlib: ``pip install 'sparsebolt[plot]'``).
        Returns the path. ``pandas.DataFrame(history.epochs)`` gives the same as a table."""
        from .._plot import plot_history
        return plot_history(self.epochs, path, title)


def snapshot(model, into=None):
    """A copy of what prediction depends on: every parameter's values and every sparse
    layer's LSH index (its tables may hold pinned labels). Optimizer state is not kept.
    ``into``, an earlier snapshot of the same model, has its parameter buffers reused:
    copying into pages already mapped costs a fraction of allocating new ones."""
    old = into[0] if into is not None else {}
    params = {}
    for p in model.parameters():
        buf = old.get(p.name)
        if buf is None or buf.shape != p.value.shape:
            buf = np.empty_like(p.value)
        np.copyto(buf, p.value)
        params[p.name] = buf
    indexes = {}
    for layer in model.sparse_layers():
        meta, arrays = layer.index.get_state()
        indexes[layer.name] = (copy.deepcopy(meta), {k: v.copy() for k, v in arrays.items()})
    return params, indexes


def restore(model, saved):
    """Put a ``snapshot`` back, in place (the optimizer keeps its references)."""
    params, indexes = saved
    for p in model.parameters():
        p.value[...] = params[p.name]
    for layer in model.sparse_layers():
        layer.index.set_state(*indexes[layer.name])


class EarlyStopping(Callback):
    """Stop when ``monitor`` (an epoch log key such as 'val_precision@1'; higher is better)
    has not improved by more than ``min_delta`` for ``patience`` epochs, and with
    ``restore_best_weights`` put back the weights and hash tables of the best epoch."""

    def __init__(self, monitor, patience=2, min_delta=0.0, restore_best_weights=True):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"The 'monitor' parameter of EarlyStopping must be a key of the epoch logs "
                             f"such as 'val_precision@1'. Got {monitor!r} instead.")
        self.monitor = monitor
        self.patience = check_int("EarlyStopping", "patience", patience, 1)
        self.min_delta = check_float("EarlyStopping", "min_delta", min_delta, 0.0)
        self.restore_best_weights = bool(restore_best_weights)
        self.best, self.best_epoch, self.wait, self._saved = -math.inf, None, 0, None

    def on_train_begin(self, model):
        self.stop_training = False
        self.best, self.best_epoch, self.wait, self._saved = -math.inf, None, 0, None

    def on_epoch_end(self, epoch, logs, model):
        value = monitored(logs, self.monitor, "EarlyStopping")
        if value > self.best + self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch + 1, 0
            if self.restore_best_weights:
                self._saved = snapshot(model, self._saved)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stop_training = True

    def on_train_end(self, model):
        if self._saved is not None:
            restore(model, self._saved)
            self._saved = None

    def __repr__(self):
        return f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, best_epoch={self.best_epoch})"
