"""Query documents the tests send to push the limits."""

from __future__ import annotations


def fan_out(n: int) -> str:
    """Each fragment spreads the next one twice: 2^n selections in a few hundred bytes."""
    fragments = " ".join(f"fragment F{k} on Query {{ ...F{k + 1} ...F{k + 1} }}" for k in range(n))
    return f"query {{ ...F0 }} {fragments} fragment F{n} on Query {{ __typename }}"
