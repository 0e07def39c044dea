"""Training and inference loops, callbacks, learning-rate schedules and metrics (kept apart
from the model graph)."""
from .callbacks import AverageWeights, Callback, EarlyStopping, History
from .metrics import METRICS, make_metric
from .schedules import Constant, Replay, Schedule, WarmupDecay, WarmupPlateau

__all__ = ["AverageWeights", "Callback", "EarlyStopping", "History", "METRICS", "make_metric", "Constant", "Replay",
           "Schedule", "WarmupDecay", "WarmupPlateau"]
