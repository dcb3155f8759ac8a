"""Checks of the callback's options, made at construction so a mistake is reported before training starts."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from typing import Optional, Union

from .records import FLAG_THRESHOLDS


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


def flag_thresholds_option(thresholds: Optional[Mapping[str, object]]) -> Optional[dict[str, Union[int, float]]]:
    """The run's flag thresholds, each a known name with a finite number at or above its least value."""
    if thresholds is None:
        return None
    if not isinstance(thresholds, Mapping):
        raise TypeError(f"flag_thresholds must map threshold names to numbers, got {type(thresholds).__name__}")
    checked: dict[str, Union[int, float]] = {}
    for name, value in thresholds.items():
        if name not in FLAG_THRESHOLDS:
            raise ValueError(f"flag_thresholds: unknown threshold {name!r}; known: {', '.join(FLAG_THRESHOLDS)} "
                             "(docs/flags.md describes each)")
        kind, least = FLAG_THRESHOLDS[name]
        number = kind is float and isinstance(value, numbers.Real) and math.isfinite(value)
        whole = isinstance(value, numbers.Integral)
        if isinstance(value, bool) or not (number or whole) or value < least:
            what = "an integer" if kind is int else "a finite number"
            raise ValueError(f"flag_thresholds[{name!r}] must be {what} ≥ {least:g}, got {value!r}")
        checked[name] = int(value) if kind is int else float(value)
    return checked


def limit_option(metric: str, option: str, value: object) -> Optional[float]:
    """A plugin metric's limit: None or a finite number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"metric {metric!r}: {option} must be a finite number or None, got {value!r}")
    return float(value)


#: What ``wandb={...}`` may set: forward every k-th sample, per-layer keys for the n largest layers.
WANDB_OPTIONS = ("every", "max_layers")


def wandb_option(value: object) -> dict[str, int]:
    """The forwarding options of ``wandb=``: none for None/True/False, a dict's checked entries otherwise."""
    if value is None or isinstance(value, bool):
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"wandb must be None, True, False or a dict of {', '.join(WANDB_OPTIONS)}, got {value!r}")
    unknown = sorted(set(value) - set(WANDB_OPTIONS))
    if unknown:
        raise ValueError(f"wandb got unknown option(s) {', '.join(map(repr, unknown))}; known: {', '.join(WANDB_OPTIONS)}")
    return {key: positive_int(f"wandb[{key!r}]", number) for key, number in value.items()}
