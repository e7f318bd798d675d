"""Counts with nouns for messages: "1 row", "3 rows"."""

from __future__ import annotations


def plural(count: int, noun: str, plural_noun: str = "") -> str:
    """Return ``count`` with thousands separators and the noun in its number.

    The plural adds "s" to ``noun`` unless ``plural_noun`` is given.
    """
    word = noun if count == 1 else (plural_noun or f"{noun}s")
    return f"{count:,} {word}"
