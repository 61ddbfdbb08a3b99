"""Trusted documents: with ``ZOO_TRUSTED_DOCUMENTS``, the API runs only the operations
its own front ends contain.

A manifest is what GraphQL Code Generator's client preset (``persistedDocuments``,
``hashAlgorithm: 'sha256'``) and Relay write: a JSON object ``{hash: document}``.
A request names its document by ``documentId`` (the GraphQL-over-HTTP persisted
operations draft: ``sha256:<hex>`` or the bare hex) or, as Apollo's and urql's
persisted-query links do, by ``extensions.persistedQuery.sha256Hash``. Any other
text is ``PERSISTED_QUERY_ONLY`` (400), but from an ADMIN when
``ZOO_TRUSTED_DOCUMENTS_ALLOW_ADMIN_TEXT=true`` (GraphiQL, logged in as one).

Manifests are read once, at start: one that is not JSON, not an object of strings,
or holds a document whose hash is not its SHA-256 stops the server with one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.core.document_manifests import digest_of, normalised, read_manifest
from zoo.core.roles import Role
from zoo.graphql.permissions import role_of
from zoo.graphql.transport.persisted_queries import PersistedQueryRefused

ONLY = "PERSISTED_QUERY_ONLY"
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
DOCUMENT_ID = "zoo.documentId"
"""Where a request's top-level ``documentId`` is carried, among its extensions (strawberry
reads only ``query``, ``variables``, ``operationName`` and ``extensions``)."""
OWN_TEXT = "zoo.ownText"
"""Marks a request that sends its own text, checked once the caller is known."""


def carry_document_id(request: object) -> None:
    """Move a request's ``documentId`` among its extensions (see ``DOCUMENT_ID``)."""
    if not isinstance(request, dict) or "documentId" not in request:
        return
    extensions = request.get("extensions")
    if extensions is None:
        extensions = request["extensions"] = {}
    if isinstance(extensions, dict):
        extensions[DOCUMENT_ID] = request.pop("documentId")


@dataclass(frozen=True)
class TrustedDocuments:
    documents: Mapping[str, str]
    """Hex digest -> document."""
    allow_admin_text: bool = False

    @classmethod
    def load(cls, paths: Iterable[Path], allow_admin_text: bool = False) -> TrustedDocuments:
        documents: dict[str, str] = {}
        for path in paths:
            documents.update(read_manifest(path))
        return cls(documents, allow_admin_text)

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The text of the document a request names (None: it names none and sends its
        own text, to be checked by :meth:`admit_text`); refuses an unknown or malformed
        name."""
        given = (extensions or {}).get(DOCUMENT_ID)
        if given is None:
            persisted = (extensions or {}).get("persistedQuery")
            given = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
            if given is None:
                return None
        digest = normalised(given)
        if digest is None:
            raise PersistedQueryRefused(
                400, "documentId must be sha256:<64 hexadecimal digits>", "BAD_REQUEST"
            )
        document = self.documents.get(digest)
        if document is None:
            if query is not None and digest_of(query) == digest:
                return None  # its own text after all: checked as text
            raise PersistedQueryRefused(404, "PersistedQueryNotFound", NOT_FOUND)
        return document

    def admit_text(self, user: Any) -> None:
        """Refuse a request's own text, unless an ADMIN may send it."""
        if self.allow_admin_text and role_of(user) is Role.ADMIN:
            return
        raise PersistedQueryRefused(
            400,
            "This server runs only its trusted documents: send a documentId "
            "(or extensions.persistedQuery.sha256Hash) from its manifest",
            ONLY,
        )
