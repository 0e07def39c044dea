"""The parameter checks: one message template naming the parameter, its owner, what it must
be and the value given; bounds open or closed; and the values Python would take that they
refuse (a bool as an int, NaN as a number, a string as a flag)."""
import numpy as np
import pytest

from sparsebolt._validation import check_choice, check_flag, check_float, check_int, check_type


def _message(check, *args, **kwargs):
    with pytest.raises(ValueError) as err:
        check("Thing", "p", *args, **kwargs)
    return str(err.value)


def test_check_int_takes_integers_within_its_bounds_as_ints():
    assert check_int("Thing", "p", np.int32(3), 1, 5) == 3 and type(check_int("Thing", "p", np.int64(3))) is int
    assert _message(check_int, 6, 1, 5) == "The 'p' parameter of Thing must be an int in [1, 5]. Got 6 instead."
    assert _message(check_int, 0, 1) == "The 'p' parameter of Thing must be an int >= 1. Got 0 instead."
    for bad in (True, 2.0, "2", None):
        assert _message(check_int, bad) == f"The 'p' parameter of Thing must be an int. Got {bad!r} instead."


def test_check_float_takes_finite_reals_within_open_or_closed_bounds_as_floats():
    assert check_float("Thing", "p", 1, 0.0, 1.0) == 1.0 and type(check_float("Thing", "p", np.float32(0.5))) is float
    assert _message(check_float, 1.0, 0.0, 1.0, high_open=True) == ("The 'p' parameter of Thing must be a number in "
                                                                     "[0.0, 1.0). Got 1.0 instead.")
    assert _message(check_float, 0.0, 0.0, low_open=True).endswith("must be a number in (0.0, inf). Got 0.0 instead.")
    for bad in (float("nan"), float("inf"), True, "0.5"):
        assert "must be a number in [-inf, inf). Got" in _message(check_float, bad)


def test_choices_types_and_flags():
    assert check_choice("Thing", "p", "b", ("a", "b")) == "b"
    assert _message(check_choice, "c", ("a", "b")) == ("The 'p' parameter of Thing must be one of 'a', 'b'. "
                                                       "Got 'c' instead.")
    assert check_type("Thing", "p", [1], list, "a list") == [1]
    assert _message(check_type, (1,), list, "a list") == "The 'p' parameter of Thing must be a list. Got (1,) instead."
    assert check_flag("Thing", "p", np.bool_(True)) is True and check_flag("Thing", "p", 0) is False
    # bool('no') is True: a string is refused, not read as a flag
    assert _message(check_flag, "no") == "The 'p' parameter of Thing must be a bool. Got 'no' instead."
