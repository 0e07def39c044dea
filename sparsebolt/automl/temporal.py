"""Temporal tracking: for each user, the items they interacted with, queried strictly before
a time so that a row never sees its own interaction or a later one."""
import bisect


class InteractionHistory:
    """Interactions ``(time, item)`` per user, kept sorted by time (ties in the order they
    were recorded). Recording is idempotent: the same (user, time, item) twice is kept once,
    so streaming a training file again in a later epoch changes nothing.

    Times are integers (seconds); items are strings.
    """

    def __init__(self):
        self._times = {}
        self._items = {}

    def __len__(self):
        return sum(len(t) for t in self._times.values())

    @property
    def n_users(self):
        return len(self._times)

    def before(self, user, time, n):
        """The last ``n`` items of ``user`` with a time strictly below ``time`` (all of the
        user's items when ``time`` is None), oldest first."""
        times = self._times.get(user)
        if times is None:
            return []
        end = len(times) if time is None else bisect.bisect_left(times, time)
        return self._items[user][max(0, end - n):end]

    def record(self, user, time, item):
        times = self._times.get(user)
        if times is None:
            self._times[user] = [time]
            self._items[user] = [item]
            return
        items = self._items[user]
        lo = bisect.bisect_left(times, time)
        hi = bisect.bisect_right(times, time, lo)
        if item in items[lo:hi]:
            return
        times.insert(hi, time)
        items.insert(hi, item)

    def clear(self):
        self._times.clear()
        self._items.clear()

    def as_lists(self):
        """(users, lengths, times, items) as flat lists, users in recording order (the
        AutoML model's file packs them into arrays, ``automl._persist``)."""
        users = list(self._times)
        return (users, [len(self._times[u]) for u in users],
                [t for u in users for t in self._times[u]], [i for u in users for i in self._items[u]])

    def set_lists(self, users, lengths, times, items):
        self.clear()
        pos = 0
        for u, n in zip(users, lengths):
            self._times[u] = list(times[pos:pos + n])
            self._items[u] = list(items[pos:pos + n])
            pos += n
