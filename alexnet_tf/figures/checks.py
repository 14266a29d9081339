"""Argument checks shared by the figure modules."""

from __future__ import annotations

import numpy as np


def check_positive_int(name: str, value) -> None:
    """Raises ValueError unless `value` is a positive integer (not a bool).

    Args:
        name: str. The argument's name, used in the message.
        value: the argument's value.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
