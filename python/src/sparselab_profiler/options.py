"""Checks of the callback's options, made at construction so a mistake is reported before training starts."""

from __future__ import annotations

import numbers
import re
from typing import Optional


def positive_int(option: str, value: object, most: Optional[int] = None) -> int:
    """`value` as an int when it is a whole number from 1 (to `most`); numpy integers count, bools do not."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 1 <= value <= (most or value):
        return int(value)
    upto = f" from 1 to {most}" if most else " of at least 1"
    raise ValueError(f"{option} must be an integer{upto}, got {value!r}")


def regex_option(option: str, pattern: Optional[str]) -> Optional[str]:
    """`pattern` once it compiles as a regular expression; the error names the option."""
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as error:
            raise ValueError(f"{option}={pattern!r} is not a valid regular expression: {error}") from None
    return pattern
