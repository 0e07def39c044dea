"""Temporal tracking: for each user, the items they interacted with, queried strictly before
a time so that a row never sees its own interaction or a later one."""
import bisect


class InteractionHistory:
    """Interactions ``(time, item)`` per user, kept sorted by time (ties in the order they
    were recorded). Recording is idempotent: the same (user, time, item) twice is kept once,
    so streaming a training file again in a later epoch changes nothing.

    Times are integers (seconds); items are strings. Each item also has a code, its place in
    ``vocab`` (the items in the order first recorded), for callers that hash each distinct
    item once.
    """

    def __init__(self):
        self._times = {}
        self._items = {}
        self._codes = {}
        self.vocab = []
        self._code_of = {}

    def __len__(self):
        return sum(len(t) for t in self._times.values())

    @property
    def n_users(self):
        return len(self._times)

    def before(self, user, time, n):
        """The last ``n`` items of ``user`` with a time strictly below ``time`` (all of the
        user's items when ``time`` is None), oldest first."""
        return self._last(self._items, user, time, n)

    def codes_before(self, user, time, n):
        """``before``'s items as their codes (places in ``vocab``)."""
        return self._last(self._codes, user, time, n)

    def _last(self, lists, user, time, n):
        times = self._times.get(user)
        if times is None:
            return []
        end = len(times) if time is None else bisect.bisect_left(times, time)
        return lists[user][max(0, end - n):end]

    def record(self, user, time, item):
        code = self._code_of.get(item)
        if code is None:
            code = self._code_of[item] = len(self.vocab)
            self.vocab.append(item)
        times = self._times.get(user)
        if times is None:
            self._times[user] = [time]
            self._items[user] = [item]
            self._codes[user] = [code]
            return
        items = self._items[user]
        lo = bisect.bisect_left(times, time)
        hi = bisect.bisect_right(times, time, lo)
        if item in items[lo:hi]:
            return
        times.insert(hi, time)
        items.insert(hi, item)
        self._codes[user].insert(hi, code)

    def clear(self):
        self._times.clear()
        self._items.clear()
        self._codes.clear()
        self.vocab.clear()
        self._code_of.clear()

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
        for item in items:
            if item not in self._code_of:
                self._code_of[item] = len(self.vocab)
                self.vocab.append(item)
        self._codes = {u: [self._code_of[x] for x in row] for u, row in self._items.items()}
