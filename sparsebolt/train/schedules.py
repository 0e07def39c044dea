"""Learning-rate schedules: ``train`` asks one for the rate of every step, and tells it each
epoch's logs, so a schedule may follow the validation metric as well as the step count."""
import math

from .._validation import check_float, check_int


class Schedule:
    """The learning rate as a function of the step (0-based, counted within a ``train``
    call). ``on_epoch_end`` sees each epoch's logs (``val_<metric>`` entries included)."""

    def __call__(self, step):
        raise NotImplementedError

    def on_epoch_end(self, epoch, logs):
        pass


class Constant(Schedule):
    def __init__(self, learning_rate):
        self.learning_rate = check_float("Constant", "learning_rate", learning_rate, 0.0, low_open=True)

    def __call__(self, step):
        return self.learning_rate

    def __repr__(self):
        return f"Constant({self.learning_rate})"


class WarmupDecay(Schedule):
    """Linear warm-up from ``peak / warmup_steps`` to ``peak`` over ``warmup_steps`` steps,
    then cosine decay to ``final_fraction * peak`` at ``total_steps``, constant after."""

    def __init__(self, peak, warmup_steps, total_steps, final_fraction=0.1):
        self.peak = check_float("WarmupDecay", "peak", peak, 0.0, low_open=True)
        self.warmup_steps = check_int("WarmupDecay", "warmup_steps", warmup_steps, 0)
        self.total_steps = check_int("WarmupDecay", "total_steps", total_steps, 1)
        self.final_fraction = check_float("WarmupDecay", "final_fraction", final_fraction, 0.0, 1.0)

    def __call__(self, step):
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
    higher is better) has not improved for ``patience`` epochs; each time, the rate is
    multiplied by ``factor``. For training of unknown length, with ``EarlyStopping``."""

    def __init__(self, peak, warmup_steps, monitor, factor=0.5, patience=1, min_delta=0.0):
        self.peak = check_float("WarmupPlateau", "peak", peak, 0.0, low_open=True)
        self.warmup_steps = check_int("WarmupPlateau", "warmup_steps", warmup_steps, 0)
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"The 'monitor' parameter of WarmupPlateau must be a key of the epoch logs "
                             f"such as 'val_precision@1'. Got {monitor!r} instead.")
        self.monitor = monitor
        self.factor = check_float("WarmupPlateau", "factor", factor, 0.0, 1.0, low_open=True)
        self.patience = check_int("WarmupPlateau", "patience", patience, 1)
        self.min_delta = check_float("WarmupPlateau", "min_delta", min_delta, 0.0)
        self.scale, self.best, self.wait = 1.0, -math.inf, 0

    def __call__(self, step):
        ramp = (step + 1) / self.warmup_steps if step < self.warmup_steps else 1.0
        return self.peak * self.scale * ramp

    def on_epoch_end(self, epoch, logs):
        value = monitored(logs, self.monitor, "WarmupPlateau")
        if value > self.best + self.min_delta:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.scale *= self.factor
            self.wait = 0

    def __repr__(self):
        return (f"WarmupPlateau(peak={self.peak}, warmup_steps={self.warmup_steps}, monitor={self.monitor!r}, "
                f"factor={self.factor}, patience={self.patience})")


def monitored(logs, key, owner):
    """``logs[key]``; a clear error when training computes no such value."""
    if key not in logs:
        known = ", ".join(repr(k) for k in logs if k.startswith("val_")) or "none (no validation data or metrics)"
        raise ValueError(f"{owner} monitors {key!r}, which the epoch logs lack; validation values: {known}.")
    return float(logs[key])


def as_schedule(learning_rate):
    """A Schedule from a number or a Schedule (``train``'s ``learning_rate``)."""
    if isinstance(learning_rate, Schedule):
        return learning_rate
    check_float("train", "learning_rate", learning_rate, 0.0, low_open=True)
    return Constant(learning_rate)
