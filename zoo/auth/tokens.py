"""Session tokens as the database keeps them: digests, never the tokens themselves.

fastapi-users stores a session's token as it is handed out, so that anyone who
reads the ``access_tokens`` table (a backup, a replica, a leaked dump, a read-only
account) holds every live session. The table keeps a SHA-256 digest instead, and a
presented token is digested before it is looked up. A token is 256 random bits, so
a plain digest cannot be reversed or guessed; no salt or slow hash is needed.
"""

from __future__ import annotations

import base64
import hashlib
import secrets


def stored_form(token: str) -> str:
    """What the table keeps of ``token``: 43 characters, the width of fastapi-users'
    column (base64url of the digest, without padding)."""
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_token() -> str:
    """A new session token, as fastapi-users makes them."""
    return secrets.token_urlsafe()
