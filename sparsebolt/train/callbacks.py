"""Hooks into the training loop."""
from __future__ import annotations

import copy
import math
import os
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_flag, check_float, check_int
from .schedules import check_monitor, check_tie_breaker, improves

if TYPE_CHECKING:
    from ..nn.model import Model


class Callback:
    """Base class of the hooks ``Model.train`` calls; override any of them (each does
    nothing here). Setting ``stop_training`` to True ends training after the current epoch.
    """

    stop_training = False

    def on_train_begin(self, model: Model) -> None:
        """Called once before the first epoch.

        Parameters
        ----------
        model : Model
            The model being trained.
        """

    def on_epoch_begin(self, epoch: int, model: Model) -> None:
        """Called before each epoch.

        Parameters
        ----------
        epoch : int
            The epoch about to run, 0-based, counted within this ``train`` call.
        model : Model
            The model being trained.
        """

    def on_batch_end(self, step: int, logs: dict[str, float], model: Model) -> None:
        """Called after each training step.

        Parameters
        ----------
        step : int
            The model's step count including this step (``model.steps``, over all its
            training).
        logs : dict
            ``loss``, the step's mean loss (distributed training adds ``worker_pids``).
        model : Model
            The model being trained.
        """

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Model) -> None:
        """Called after each epoch.

        Parameters
        ----------
        epoch : int
            The epoch just run, 0-based, counted within this ``train`` call.
        logs : dict
            The epoch's ``epoch`` (1-based), mean ``loss``, ``samples``, ``steps``,
            ``batches`` (a step of ``sb.distributed.train`` trains one on each worker),
            ``seconds`` and last ``learning_rate``, and with validation data and metrics a
            ``val_<metric>`` entry for each metric.
        model : Model
            The model being trained.
        """

    def on_train_end(self, model: Model) -> None:
        """Called once after the last epoch.

        Parameters
        ----------
        model : Model
            The model being trained.
        """


class History(Callback):
    """Collects each epoch's logs; ``Model.train`` returns it.

    ``history["loss"]`` is the list of one log key's values by epoch (None where an epoch
    lacks it); ``pandas.DataFrame(history.epochs)`` is the whole log as a table.

    Attributes
    ----------
    epochs : list of dict
        Each epoch's logs, in order (see ``Callback.on_epoch_end``).
    best_epoch : int or None
        1-based epoch whose weights training kept, where an ``EarlyStopping`` that restores
        the best weights ran (the UniversalDeepTransformer's automatic training); None
        otherwise.
    averaged_epochs : int
        Of such an ``EarlyStopping`` with ``average=True``: over how many epochs, from
        ``best_epoch`` on, the kept weights are the mean; else 0.
    prior_weight : float
        The UniversalDeepTransformer's automatic training with a softmax output of more than
        two classes: the weight of the classes' log training counts its output biases took,
        chosen on the held-out rows for a sparse output, a fixed negative one for a dense
        output of one class a row over a text input; else 0.0.
    history_weight : float
        The UniversalDeepTransformer's automatic training of a next-item target (temporal
        tracking of the target's items): the weight its ranking gives each item's similarity
        to the user's past items (item-item co-occurrence), chosen on the held-out rows; else
        0.0.
    history_excluded : bool
        The same: whether its ranking leaves the user's past items out, chosen so; else False.
    refit_epochs : int
        The UniversalDeepTransformer's automatic training that trained its network anew on
        every row, the held-out ones too (``sb.train.Replay``): for how many epochs (the
        ``epochs`` logs are the first training's, on the rows not held out); else 0.
    """

    def __init__(self) -> None:
        self.epochs = []
        self.best_epoch = None
        self.averaged_epochs = 0
        self.prior_weight = 0.0
        self.history_weight = 0.0
        self.history_excluded = False
        self.refit_epochs = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Model) -> None:
        self.epochs.append(dict(logs))

    def __getitem__(self, key):
        return [e.get(key) for e in self.epochs]

    def __repr__(self):
        return f"History({self.epochs})"

    def plot(self, path: str | os.PathLike, title: str | None = None) -> str:
        """Draw the loss and each validation metric by epoch and by training wall time
        into a PNG (needs matplotlib: ``pip install 'sparsebolt[plot]'``).

        Parameters
        ----------
        path : str or path-like
            The PNG file to write (written beside it, then renamed over it: a failure
            part-way leaves the file there before as it was; a pipe or device is written
            into). A name without an extension gets '.png'.
        title : str or None, default=None
            The figure's title.

        Returns
        -------
        str
            The file written: ``path``, '.png' added where it has no extension.
        """
        from .._plot import plot_history
        return plot_history(self.epochs, path, title)


def snapshot(model: Model, into: tuple[dict, dict, dict] | None = None,
             rows: dict[str, np.ndarray] | None = None) -> tuple[dict, dict, dict]:
    """A copy of what prediction depends on: every parameter's values and every sparse
    layer's LSH index (its tables may hold pinned labels). Optimizer state is not kept.
    ``into``, an earlier snapshot of the same model, has its parameter buffers reused:
    copying into pages already mapped costs a fraction of allocating new ones. ``rows``
    (``Model.rows_trained_by``): {parameter name: the only rows training can change}, of
    which alone a copy is kept when they are under half the table (a UDT's 100,000-row
    embedding holds a few hundred features of a tabular set: its 51 MB copy took 150 ms in
    fresh pages, most of them never trained). Only the optimizer may write a table between
    the snapshot and ``restore``: a callback that changes its other rows is not undone."""
    old = into[0] if into is not None else {}
    params, taken = {}, {}
    for p in model.parameters():
        take = rows.get(p.name) if rows else None
        if take is not None and take.size * 2 >= p.value.shape[0]:
            take = None
        shape = p.value.shape if take is None else (take.size,) + p.value.shape[1:]
        buf = old.get(p.name)
        if buf is None or buf.shape != shape:
            buf = np.empty(shape, dtype=p.value.dtype)
        if take is None:
            np.copyto(buf, p.value)
        else:
            np.take(p.value, take, axis=0, out=buf)
            taken[p.name] = take
        params[p.name] = buf
    indexes = {}
    for layer in model.sparse_layers():
        meta, arrays = layer.index.get_state()
        indexes[layer.name] = (copy.deepcopy(meta), {k: v.copy() for k, v in arrays.items()})
    return params, indexes, taken


def restore(model: Model, saved: tuple[dict, dict, dict]) -> None:
    """Put a ``snapshot`` back, in place (the optimizer keeps its references)."""
    params, indexes, taken = saved
    for p in model.parameters():
        if p.name in taken:
            p.value[taken[p.name]] = params[p.name]
        else:
            p.value[...] = params[p.name]
    for layer in model.sparse_layers():
        layer.index.set_state(*indexes[layer.name])


def _rebuild_unfrozen_tables(model: Model) -> None:
    """Rehash the neurons of every sparse layer whose tables are not frozen into tables of
    its current weights (frozen tables stay as they are asked to: they may hold pinned
    labels, which a rebuild would drop)."""
    for layer in model.sparse_layers():
        if not layer.index.frozen:
            layer.index.rebuild(layer.W.value)


class _EpochMean:
    """One epoch's weights (a ``snapshot`` of the rows the run's data can move, when the
    engine knows them) and the float64 sum of them and of the later epochs' weights added."""

    def __init__(self):
        self.saved, self.total, self.count = None, None, 0

    @property
    def started(self):
        return self.saved is not None

    def start(self, model):
        rows = model.trained_rows() if model.trained_rows is not None else None
        self.saved = snapshot(model, self.saved, rows)
        self.total, self.count = None, 1

    def add(self, model):
        params, _, taken = self.saved
        if self.total is None:  # the first epoch's weights start it
            self.total = {name: value.astype(np.float64) for name, value in params.items()}
        for p in model.parameters():
            self.total[p.name] += p.value[taken[p.name]] if p.name in taken else p.value
        self.count += 1

    def put_back(self, model, diverged):
        """Put the mean back into ``model`` (the first epoch's weights, warning ``diverged``,
        where it is not all finite), its tables rebuilt from it unless frozen; returns over
        how many epochs the weights put back are the mean."""
        count = self.count
        if self.total is not None:
            if all(np.isfinite(total).all() for total in self.total.values()):
                params = self.saved[0]
                for name, total in self.total.items():
                    np.divide(total, count, out=total)
                    params[name][...] = total
            else:
                warnings.warn(diverged, RuntimeWarning, stacklevel=3)
                count = 1
        restore(model, self.saved)
        if count > 1:
            _rebuild_unfrozen_tables(model)
        self.saved, self.total = None, None
        return count


class AverageWeights(Callback):
    """At the end of training, put back the mean of the weights of epoch ``start`` and of
    every epoch trained after it (stochastic weight averaging, Izmailov et al. 2018), as
    ``EarlyStopping(average=True)`` does from its best epoch: for a run of a fixed number of
    epochs, such as a ``Replay`` of one that stopped early, which averages from the epoch
    the early stop kept. The hash tables are then rebuilt from the mean, but frozen ones
    stay as they were (``pin_labels`` or ``prepare_sparse_inference`` afterwards pins labels
    for the mean). A mean that is not finite (training diverged after epoch ``start``) is
    not put back: epoch ``start``'s weights are, with a warning. A run of fewer than
    ``start`` epochs keeps its last weights, and so does a run resumed from a checkpoint
    after epoch ``start`` (the mean so far is not in the checkpoint). Beside an
    ``EarlyStopping`` that restores weights, the one of the two listed last puts back its
    weights last.

    Parameters
    ----------
    start : int
        The first epoch averaged, 1-based, counted within the ``train`` call.

    Attributes
    ----------
    averaged_epochs : int
        Over how many epochs the weights put back are the mean; 0 before training ends or
        when it ended before epoch ``start``.

    Raises
    ------
    ValueError
        For a ``start`` that is not an int of at least 1.
    """

    def __init__(self, start: int) -> None:
        self.start = check_int("AverageWeights", "start", start, 1)
        self._mean, self.averaged_epochs = _EpochMean(), 0

    def on_train_begin(self, model: Model) -> None:
        self._mean, self.averaged_epochs = _EpochMean(), 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Model) -> None:
        if epoch + 1 == self.start:
            self._mean.start(model)
        elif self._mean.started:
            self._mean.add(model)

    def on_train_end(self, model: Model) -> None:
        if self._mean.started:
            self.averaged_epochs = self._mean.put_back(
                model, f"AverageWeights: the weights of the {self._mean.count - 1} epochs after epoch {self.start} "
                       f"are not all finite (training diverged): epoch {self.start}'s weights are put back, not the "
                       f"mean.")

    def __repr__(self):
        return f"AverageWeights(start={self.start}, averaged_epochs={self.averaged_epochs})"


class EarlyStopping(Callback):
    """Stop training when a validation value has stopped improving.

    Parameters
    ----------
    monitor : str
        A validation value of the epoch logs such as 'val_precision@1'; higher is better.
    patience : int, default=2
        Epochs without an improvement of more than ``min_delta`` before training stops.
    min_delta : float, default=0.0
        The smallest change that counts as an improvement.
    restore_best_weights : bool, default=True
        At the end of training, put back the weights and hash tables of the best epoch
        (not the optimizer's state). Of an input table, only the rows the training data
        holds are kept and put back (the optimizers move no others): a callback that
        writes the others itself is not undone.
    tie_breaker : str or None, default=None
        A second epoch log key (higher is better) that decides between epochs whose
        ``monitor`` values are equal (within ``min_delta``), such as 'val_neg_log_loss'
        beside 'val_precision@1' (the UniversalDeepTransformer's automatic training does so).
    tie_min_delta : float, default=0.0
        The smallest gain of ``tie_breaker`` that wins a tie (unused without one).
    average : bool, default=False
        Put back the mean of the weights of the best epoch and of every epoch trained
        after it, not the best epoch's own: a mean of nearby points of one descent
        generalizes better than any of them (stochastic weight averaging, Izmailov et al.
        2018). The hash tables are then rebuilt from the mean, but frozen ones (as label
        augmentation freezes them, pinning labels in training) stay the best epoch's
        (``pin_labels`` or ``prepare_sparse_inference`` afterwards pins labels for the
        mean). A mean that is not finite (training diverged after the best epoch) is not
        put back: the best epoch is, with a warning. Needs ``restore_best_weights``.
        Measured in docs/automl.md ("Averaging the last epochs"), where the
        UniversalDeepTransformer turns it on.

    Attributes
    ----------
    best : float
        The best monitored value so far.
    best_tie : float
        The ``tie_breaker`` value of the best epoch (-inf without one).
    best_epoch : int or None
        The 1-based epoch of ``best``.
    averaged_epochs : int
        Epochs whose weights ``average`` put back (the best one and those after it); 0
        before training ends or without ``average``.

    Raises
    ------
    ValueError
        For a bad parameter: a ``monitor`` or ``tie_breaker`` that is not a validation value
        (``'val_...'``: the training loss, lower for better, is refused), or (during training)
        one the epoch logs lack.
    """

    def __init__(self, monitor: str, patience: int = 2, min_delta: float = 0.0,
                 restore_best_weights: bool = True, tie_breaker: str | None = None,
                 tie_min_delta: float = 0.0, average: bool = False) -> None:
        self.monitor = check_monitor("EarlyStopping", "monitor", monitor)
        self.patience = check_int("EarlyStopping", "patience", patience, 1)
        self.min_delta = check_float("EarlyStopping", "min_delta", min_delta, 0.0)
        self.restore_best_weights = check_flag("EarlyStopping", "restore_best_weights", restore_best_weights)
        self.tie_breaker = check_tie_breaker("EarlyStopping", tie_breaker)
        self.tie_min_delta = check_float("EarlyStopping", "tie_min_delta", tie_min_delta, 0.0)
        self.average = check_flag("EarlyStopping", "average", average)
        if self.average and not self.restore_best_weights:
            raise ValueError(f"The 'average' parameter of EarlyStopping must be False when restore_best_weights is "
                             f"False (the mean is put back in the best epoch's place). Got {average!r} instead.")
        self._reset()

    def on_train_begin(self, model: Model) -> None:
        self._reset()

    def _reset(self):
        self.stop_training = False
        self.best, self.best_tie, self.best_epoch, self.wait = -math.inf, -math.inf, None, 0
        # the best epoch's weights, and the sum of them and of the later epochs'
        self._mean, self.averaged_epochs = _EpochMean(), 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Model) -> None:
        better, value, tie = improves(logs, "EarlyStopping", self.monitor, self.tie_breaker, self.best,
                                      self.best_tie, self.min_delta, self.tie_min_delta)
        if better:
            self.best, self.best_tie, self.best_epoch, self.wait = value, tie, epoch + 1, 0
            if self.restore_best_weights:
                self._mean.start(model)
            return
        if self.average and self._mean.started:
            self._mean.add(model)
        if math.isnan(value) and self.best_epoch is None and self.wait == 0:
            warnings.warn(f"EarlyStopping: {self.monitor} is NaN after epoch {epoch + 1} (a metric over held-out "
                          f"rows it cannot score, such as 'auc' over one class): a NaN epoch never counts as an "
                          f"improvement, and without one training stops after {self.patience} epochs with its "
                          f"last weights.",
                          RuntimeWarning, stacklevel=2)
        self.wait += 1
        if self.wait >= self.patience:
            self.stop_training = True

    def on_train_end(self, model: Model) -> None:
        if self._mean.started:
            averaged = self._mean.put_back(
                model, f"EarlyStopping: the weights of the {self._mean.count - 1} epochs after the best (epoch "
                       f"{self.best_epoch}) are not all finite (training diverged): the best epoch's weights are "
                       f"put back, not the mean.")
            self.averaged_epochs = averaged if self.average else 0

    def __repr__(self):
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, tie_breaker={self.tie_breaker!r}, "
                f"tie_min_delta={self.tie_min_delta}, average={self.average}, best_epoch={self.best_epoch})")
