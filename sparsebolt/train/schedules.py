"""Learning-rate schedules: ``train`` asks one for the rate of every step, and tells it each
epoch's logs, so a schedule may follow the validation metric as well as the step count."""
from __future__ import annotations

import math
import numbers

from .._validation import check_float, check_int


class Schedule:
    """Base class of learning-rate schedules: ``schedule(step)`` is the learning rate of a
    step (0-based, counted from the start of a ``train`` call, a resumed one included).
    Subclasses define ``__call__`` and may override ``on_epoch_end`` and ``reset``.
    ``batch_growth``: how many times its own batch size the data takes in the next epoch's
    steps (``train`` sets it before each epoch and gives the data its own back at the end),
    an int in [1, ``max_batch_growth``]. ``stop_training``: set by a schedule with nothing
    left to try (``train`` then stops after the epoch, as for a callback's, and a resumed
    run that had stopped so trains no further); a subclass that sets it clears it in
    ``reset``.

    A schedule's state must follow from the epoch logs: ``train`` calls ``reset`` before its
    first epoch and, when it resumes from a checkpoint, ``on_epoch_end`` again with each
    finished epoch's logs, which brings the schedule back to where it stood."""

    batch_growth = max_batch_growth = 1
    stop_training = False

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def reset(self) -> None:
        """Back to the state before any epoch; called by ``train`` before its first. Does
        nothing here: a subclass with state that its epochs change overrides it."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch, before the callbacks; does nothing here.

        Parameters
        ----------
        epoch : int
            The epoch just run, 0-based.
        logs : dict
            The epoch's logs, ``val_<metric>`` entries included (see
            ``Callback.on_epoch_end``).
        """


def _number(value, kind):
    return isinstance(value, kind) and not isinstance(value, bool)


def _warm(rate, warmup_steps, step):
    """``rate`` at ``step``, ramped linearly over the first ``warmup_steps``."""
    return rate * ((step + 1) / warmup_steps if step < warmup_steps else 1.0)


class Constant(Schedule):
    """The same learning rate at every step (what a number given to ``train`` becomes).

    Parameters
    ----------
    learning_rate : float
        The rate, > 0.
    """

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = check_float("Constant", "learning_rate", learning_rate, 0.0, low_open=True)

    def __call__(self, step: int) -> float:
        return self.learning_rate

    def __repr__(self):
        return f"Constant({self.learning_rate})"


class WarmupDecay(Schedule):
    """Linear warm-up from ``peak / warmup_steps`` to ``peak`` over ``warmup_steps`` steps,
    then cosine decay to ``final_fraction * peak`` at ``total_steps``, constant after.

    Parameters
    ----------
    peak : float
        The highest rate, > 0.
    warmup_steps : int
        Steps of the linear warm-up; 0 starts at ``peak``.
    total_steps : int
        The step at which the decay ends.
    final_fraction : float in [0, 1], default=0.1
        The final rate as a fraction of ``peak``.
    """

    def __init__(self, peak: float, warmup_steps: int, total_steps: int, final_fraction: float = 0.1) -> None:
        self.peak = check_float("WarmupDecay", "peak", peak, 0.0, low_open=True)
        self.warmup_steps = check_int("WarmupDecay", "warmup_steps", warmup_steps, 0)
        self.total_steps = check_int("WarmupDecay", "total_steps", total_steps, 1)
        self.final_fraction = check_float("WarmupDecay", "final_fraction", final_fraction, 0.0, 1.0)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.peak * (step + 1) / self.warmup_steps
        span = max(self.total_steps - self.warmup_steps, 1)
        t = min((step - self.warmup_steps) / span, 1.0)
        return self.peak * (self.final_fraction + (1 - self.final_fraction) * 0.5 * (1 + math.cos(math.pi * t)))

    def __repr__(self):
        return (f"WarmupDecay(peak={self.peak}, warmup_steps={self.warmup_steps}, total_steps={self.total_steps}, "
                f"final_fraction={self.final_fraction})")


class WarmupPlateau(Schedule):
    """Linear warm-up to ``peak`` over ``warmup_steps``, then ``peak`` until the monitored
    validation metric (``monitor``, a key of the epoch logs such as 'val_precision@1';
    higher is better) has not improved for ``patience`` epochs (of those that end after the
    warm-up); each time, the rate is multiplied by ``factor``, or, while doubling the batch
    keeps it within ``max_batch_growth`` times the data's own, the batch size is doubled
    instead (``batch_growth``): the same lower gradient noise as a lower rate, in fewer and
    cheaper steps (Smith et al. 2018, "Don't decay the learning rate, increase the batch
    size"). For training of unknown length, with ``EarlyStopping``.

    Parameters
    ----------
    peak : float
        The rate after warm-up, > 0.
    warmup_steps : int
        Steps of the linear warm-up; 0 starts at ``peak``.
    monitor : str
        A validation value of the epoch logs such as 'val_precision@1'; higher is better.
    factor : float in (0, 1], default=0.5
        What the rate is multiplied by on a plateau.
    patience : int, default=1
        Epochs without an improvement of more than ``min_delta`` that make a plateau.
    min_delta : float, default=0.0
        The smallest change that counts as an improvement.
    tie_breaker : str or None, default=None
        A second epoch log key (higher is better) that decides between epochs whose
        ``monitor`` values are equal (within ``min_delta``), such as 'val_neg_log_loss'
        beside 'val_precision@1': on a small validation set accuracy moves in steps of
        1/n and stays flat while the model still learns.
    tie_min_delta : float, default=0.0
        The smallest gain of ``tie_breaker`` that wins a tie (unused without one).
    max_batch_growth : int, default=1
        The most times its own batch size the data may take; 1 never grows it. Only for
        data with a ``batch_size`` to set (``sb.data.SparseDataset``), in ``Model.train``.
    min_scale : float in [0, 1], default=0.0
        A plateau that would take the rate below ``min_scale * peak`` (after the batch has
        grown as far as it may) stops training instead, at once, whatever an
        ``EarlyStopping``'s patience: epochs at a rate that small barely move the weights.
        0 never stops. (Keras' ``ReduceLROnPlateau(min_lr=...)`` holds the rate at its floor
        and trains on instead.)

    Attributes
    ----------
    stop_training : bool
        Set at a plateau that ``min_scale`` stops; ``train`` stops after that epoch.
    settings : list of (float, int)
        The rate's share of ``peak`` and the batch growth of each epoch so far and of the
        next, from which ``Replay`` trains the same epochs again.

    Raises
    ------
    ValueError
        For a ``monitor`` or ``tie_breaker`` that is not a validation value (``'val_...'``:
        the training loss, lower for better, is refused), or (during training) one the
        epoch logs lack.
    """

    def __init__(self, peak: float, warmup_steps: int, monitor: str, factor: float = 0.5, patience: int = 1,
                 min_delta: float = 0.0, max_batch_growth: int = 1, tie_breaker: str | None = None,
                 tie_min_delta: float = 0.0, min_scale: float = 0.0) -> None:
        self.peak = check_float("WarmupPlateau", "peak", peak, 0.0, low_open=True)
        self.warmup_steps = check_int("WarmupPlateau", "warmup_steps", warmup_steps, 0)
        self.monitor = check_monitor("WarmupPlateau", "monitor", monitor)
        self.factor = check_float("WarmupPlateau", "factor", factor, 0.0, 1.0, low_open=True)
        self.patience = check_int("WarmupPlateau", "patience", patience, 1)
        self.min_delta = check_float("WarmupPlateau", "min_delta", min_delta, 0.0)
        self.max_batch_growth = check_int("WarmupPlateau", "max_batch_growth", max_batch_growth, 1)
        self.tie_breaker = check_tie_breaker("WarmupPlateau", tie_breaker)
        self.tie_min_delta = check_float("WarmupPlateau", "tie_min_delta", tie_min_delta, 0.0)
        self.min_scale = check_float("WarmupPlateau", "min_scale", min_scale, 0.0, 1.0)
        self.reset()

    def reset(self) -> None:
        """Back to the peak rate, the data's own batch size, no best value yet, not
        stopping."""
        self.scale, self.best, self.best_tie, self.wait, self.batch_growth = 1.0, -math.inf, -math.inf, 0, 1
        self.stop_training = False
        self.step = -1  # the last step asked for
        self.settings = [(self.scale, self.batch_growth)]

    def __call__(self, step: int) -> float:
        self.step = step
        return _warm(self.peak * self.scale, self.warmup_steps, step)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self._follow(logs)
        self.settings.append((self.scale, self.batch_growth))

    def _follow(self, logs):
        better, value, tie = improves(logs, "WarmupPlateau", self.monitor, self.tie_breaker, self.best,
                                      self.best_tie, self.min_delta, self.tie_min_delta)
        # a flat epoch while the rate still rises is no plateau: lowering the rate then cut
        # the warm-up short (a 200-step warm-up of 20-step epochs went 2e-4, 4e-4, 3e-4, 2e-4)
        if better or self.step + 1 < self.warmup_steps:
            if better:
                self.best, self.best_tie = value, tie
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            if 2 * self.batch_growth <= self.max_batch_growth:
                self.batch_growth *= 2
            # a rounding's allowance: factor 0.7 twice is 0.48999999999999994, not below 0.49
            elif self.scale * self.factor < self.min_scale * (1 - 1e-9):
                self.stop_training = True
            else:
                self.scale *= self.factor
            self.wait = 0

    def __repr__(self):
        return (f"WarmupPlateau(peak={self.peak}, warmup_steps={self.warmup_steps}, monitor={self.monitor!r}, "
                f"factor={self.factor}, patience={self.patience}, min_delta={self.min_delta}, "
                f"max_batch_growth={self.max_batch_growth}, "
                f"tie_breaker={self.tie_breaker!r}, tie_min_delta={self.tie_min_delta}, min_scale={self.min_scale})")


def monitored(logs: dict[str, float], key: str, owner: str, role: str = "monitors") -> float:
    """``logs[key]``; a clear error when training computes no such value."""
    if key not in logs:
        known = ", ".join(repr(k) for k in logs if k.startswith("val_")) or "none (no validation data or metrics)"
        raise ValueError(f"{owner} {role} {key!r}, which the epoch logs lack; validation values: {known}.")
    return float(logs[key])


def check_monitor(owner: str, name: str, monitor: str) -> str:
    """``monitor`` checked: a validation value of the epoch logs ('val_' and a metric's
    name), all of which are higher for better. The training values ('loss', 'epoch',
    'seconds', ...) are refused: followed as if higher were better, a falling loss read as
    a model getting worse and the worst epoch was kept."""
    if not isinstance(monitor, str) or not monitor.startswith("val_") or monitor == "val_":
        raise ValueError(f"The '{name}' parameter of {owner} must be a validation value of the epoch logs, "
                         f"higher for better, such as 'val_precision@1' or 'val_neg_log_loss' (give train "
                         f"validation data and metrics); the training loss, lower for better, is not one. Got "
                         f"{monitor!r} instead.")
    return monitor


def check_tie_breaker(owner: str, tie_breaker: str | None) -> str | None:
    """``tie_breaker`` checked: None or a validation value (``check_monitor``)."""
    return None if tie_breaker is None else check_monitor(owner, "tie_breaker", tie_breaker)


def improves(logs: dict[str, float], owner: str, monitor: str, tie_breaker: str | None, best: float,
             best_tie: float, min_delta: float, tie_min_delta: float = 0.0) -> tuple[bool, float, float]:
    """(whether an epoch's ``logs`` improve on the best epoch, the best value after it, its
    tie-breaking value). The monitored value improves when it exceeds ``best`` by more than
    ``min_delta``; a value within ``min_delta`` of it (or within float rounding: a metric
    summed over rows in another order differs in its last bits) is a tie, which a
    ``tie_breaker`` value more than ``tie_min_delta`` above ``best_tie`` wins."""
    value = monitored(logs, monitor, owner)
    tie = monitored(logs, tie_breaker, owner, role="breaks ties by") if tie_breaker is not None else -math.inf
    if best == -math.inf:
        return value > best, value, tie
    rounding = 1e-9 * max(1.0, abs(best))
    if value > best + max(min_delta, rounding):
        return True, value, tie
    tied = best - rounding <= value
    return tied and tie > best_tie + tie_min_delta, max(best, value), tie


def as_schedule(learning_rate: float | Schedule) -> Schedule:
    """A Schedule from a number or a Schedule (``train``'s ``learning_rate``)."""
    if isinstance(learning_rate, Schedule):
        return learning_rate
    check_float("train", "learning_rate", learning_rate, 0.0, low_open=True)
    return Constant(learning_rate)


class Replay(Schedule):
    """The rates and batch sizes of a ``WarmupPlateau`` run again, epoch by epoch, with no
    validation metric to follow: the same linear warm-up to ``peak`` over ``warmup_steps``,
    then epoch ``e`` at ``peak * settings[e][0]`` with ``settings[e][1]`` times the data's
    own batch size (the last setting for any epoch after them). The UniversalDeepTransformer
    trains anew on every row with it, held-out ones included, for the epochs its held-out
    rows kept.

    Parameters
    ----------
    peak : float
        The rate after warm-up, > 0.
    warmup_steps : int
        Steps of the linear warm-up; 0 starts at ``peak``.
    settings : list of (float, int)
        Each epoch's share of ``peak``, in (0, 1], and batch growth, an int >= 1
        (``WarmupPlateau.settings``).
    """

    def __init__(self, peak: float, warmup_steps: int, settings: list[tuple[float, int]]) -> None:
        self.peak = check_float("Replay", "peak", peak, 0.0, low_open=True)
        self.warmup_steps = check_int("Replay", "warmup_steps", warmup_steps, 0)
        pairs = list(settings) if isinstance(settings, (list, tuple)) else []
        if not pairs or not all(isinstance(p, (list, tuple)) and len(p) == 2 and _number(p[0], numbers.Real)
                                and 0.0 < p[0] <= 1.0 and _number(p[1], numbers.Integral) and p[1] >= 1
                                for p in pairs):
            raise ValueError(f"The 'settings' parameter of Replay must be a non-empty list of (share of the peak "
                             f"in (0, 1], batch growth int >= 1) pairs. Got {settings!r} instead.")
        self.settings = [(float(scale), int(growth)) for scale, growth in pairs]
        self.max_batch_growth = max(growth for _, growth in self.settings)
        self.reset()

    def reset(self) -> None:
        """Back to the first epoch's setting."""
        self.scale, self.batch_growth = self.settings[0]

    def __call__(self, step: int) -> float:
        return _warm(self.peak * self.scale, self.warmup_steps, step)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.scale, self.batch_growth = self.settings[min(epoch + 1, len(self.settings) - 1)]

    def __repr__(self):
        return f"Replay(peak={self.peak}, warmup_steps={self.warmup_steps}, settings={self.settings})"
