"""Parameter checks with one message template, shared by every public class."""
import numbers

import numpy as np


def _fail(owner, name, expected, value):
    raise ValueError(f"The '{name}' parameter of {owner} must be {expected}. Got {value!r} instead.")


def check_int(owner, name, value, low=None, high=None):
    """An integer within [low, high] (either bound optional)."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and ((low is not None and value < low) or (high is not None and value > high)):
        ok = False
    if not ok:
        if low is not None and high is not None:
            expected = f"an int in [{low}, {high}]"
        elif low is not None:
            expected = f"an int >= {low}"
        else:
            expected = "an int"
        _fail(owner, name, expected, value)
    return int(value)


def check_float(owner, name, value, low=None, high=None, low_open=False, high_open=False):
    """A real number within the interval (low open when ``low_open``, high when ``high_open``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok and low is not None and (value <= low if low_open else value < low):
        ok = False
    if ok and high is not None and (value >= high if high_open else value > high):
        ok = False
    if not ok:
        left = "(" if low_open else "["
        lo = "-inf" if low is None else low
        hi = "inf)" if high is None else f"{high}{')' if high_open else ']'}"
        _fail(owner, name, f"a number in {left}{lo}, {hi}", value)
    return float(value)


def check_choice(owner, name, value, choices):
    """One of ``choices`` (names are listed in the message)."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        _fail(owner, name, f"one of {listed}", value)
    return value


def check_type(owner, name, value, types, expected):
    if not isinstance(value, types):
        _fail(owner, name, expected, value)
    return value


def check_flag(owner, name, value):
    """A bool, NumPy's, or any int (0 / 1, or a level as scikit-learn's ``verbose``): a
    string such as 'no' would read as true."""
    if not isinstance(value, (bool, np.bool_, numbers.Integral)):
        _fail(owner, name, "a bool", value)
    return bool(value)
