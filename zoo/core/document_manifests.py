"""Manifests of trusted documents: ``{hash: document}`` JSON, as GraphQL Code Generator's
client preset and Relay write them, each hash the SHA-256 of its document (read by the
settings at start, by the server, and by ``zoo documents check``)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

PREFIX = "sha256:"
_HEX = re.compile(r"[0-9a-f]{64}")


class ManifestError(Exception):
    """A manifest that cannot be trusted: the message is the one line to stop with."""


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def normalised(document_id: object) -> str | None:
    """The hex digest a document id names (``sha256:<hex>`` or the bare hex), or None."""
    if not isinstance(document_id, str) or len(document_id) > len(PREFIX) + 64:
        return None
    hexdigest = document_id.removeprefix(PREFIX).lower()
    return hexdigest if _HEX.fullmatch(hexdigest) else None


def read_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"trusted documents {path}: cannot be read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"trusted documents {path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ManifestError(f"trusted documents {path}: not an object of {{hash: document}}")
    documents = {}
    for key, document in data.items():
        digest = normalised(key)
        if digest is None or digest_of(document) != digest:
            raise ManifestError(
                f"trusted documents {path}: {key[:80]!r} is not the SHA-256 of its document"
            )
        documents[digest] = document
    return documents
