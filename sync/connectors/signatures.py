"""Comparing a signature (or shared secret) a sender presented with the expected one. Imports nothing of lifesync.

Every receiver compares as bytes, in constant time: ``hmac.compare_digest`` on two ``str`` raises
``TypeError`` when either holds a non-ASCII character, and a header's bytes reach the app as
Latin-1 text, so a forged header with one byte over 0x7F would be a 500 (and a traceback) instead
of the 401 it is. Encoded with ``surrogatepass`` any text has bytes, and a non-ASCII header simply
does not match.
"""

from __future__ import annotations

import hmac


def matches(expected: str, given: str | None) -> bool:
    """True when ``given`` is ``expected``, compared as UTF-8 bytes in constant time (None never matches)."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))
