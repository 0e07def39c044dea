"""Hooks into the training loop."""


class Callback:
    """Override any of these; ``logs`` is a dict of what is known at that point
    (``loss``; after an epoch also ``val_<metric>`` entries and ``seconds``)."""

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
    """Collects each epoch's logs; ``fit`` returns it."""

    def __init__(self):
        self.epochs = []

    def on_epoch_end(self, epoch, logs, model):
        self.epochs.append(dict(logs))

    def __getitem__(self, key):
        return [e.get(key) for e in self.epochs]

    def __repr__(self):
        return f"History({self.epochs})"
