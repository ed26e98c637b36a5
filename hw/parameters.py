"""Checks of the hardware constructors' parameters: one rule, one message, for every block.

Each check raises :class:`ValueError` naming the parameter, its value and the rule, e.g.
``width=12: must be a power of two``; the values are checked in the order given.
"""

__all__ = ["check_at_least", "check_powers_of_two", "check_ordered"]


def check_at_least(minimum=1, /, **values):
    """Every keyword value is an ``int`` (not a ``bool``) of at least ``minimum`` (default
    1). Raises :class:`ValueError`: ``width=0: must be a positive integer`` (``minimum`` 1),
    ``width=1: must be an integer of at least 2`` (otherwise)."""
    rule = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
    for name, value in values.items():
        if type(value) is not int or value < minimum:
            raise ValueError(f"{name}={value!r}: must be {rule}")


def check_powers_of_two(**values):
    """Every keyword value is an ``int`` power of two (1, 2, 4, ...). Raises
    :class:`ValueError`: ``lanes=6: must be a power of two``."""
    for name, value in values.items():
        if type(value) is not int or value < 1 or value & (value - 1):
            raise ValueError(f"{name}={value!r}: must be a power of two")


def check_ordered(**values):
    """The keyword values, in the order given, never decrease (call after the type checks).
    Raises :class:`ValueError`: ``lanes=8: must not exceed width=4`` for two values,
    ``classes=8, lanes=4, width=16: must satisfy classes <= lanes <= width`` for more."""
    names = list(values)
    if all(values[a] <= values[b] for a, b in zip(names, names[1:], strict=False)):
        return
    if len(names) == 2:
        (low, high) = names
        raise ValueError(f"{low}={values[low]}: must not exceed {high}={values[high]}")
    given = ", ".join(f"{name}={value}" for name, value in values.items())
    raise ValueError(f"{given}: must satisfy {' <= '.join(names)}")
