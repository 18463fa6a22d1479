"""Did you mean: the closest valid name to a misspelt one (:mod:`difflib`).

Used wherever a name is looked up and may be misspelt: CLI flags, API body fields,
``mode`` / ``image_format`` values and settings with a fixed set of values.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6
"""The least :class:`difflib.SequenceMatcher` ratio (0-1) a name must reach to be named."""


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The valid name closest to ``name`` (case-insensitive), or None when none is close."""
    options = {choice.lower(): choice for choice in choices}
    found = difflib.get_close_matches(name.lower(), list(options), n=1, cutoff=CUTOFF)
    return options[found[0]] if found else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``'; did you mean "growmask"?'`` for the closest valid name, or ``""`` when none
    is close (to end a message with)."""
    match = closest(name, choices)
    return f'; did you mean "{match}"?' if match is not None else ""
