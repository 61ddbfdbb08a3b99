"""The mails of accounts (invitations, resets, verification, sign-ups) and their links.

A link opens the front end's page when ``ZOO_APP_URL`` is set (its
``/accept-invitation``, ``/reset-password`` and ``/verify``, given ``?token=``),
else this API's own small pages under ``/account/``. Its address comes from the
settings, never from a request's ``Host`` header: a forged Host would otherwise
have the mail carry a victim's token to the forger's site.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from zoo.config import Settings
from zoo.mail.letters import letter
from zoo.mail.outbox import Mail
from zoo.mail.sender import Sender

ACCEPT_INVITATION = "accept-invitation"
RESET_PASSWORD = "reset-password"  # noqa: S105 (a page, not a password)
VERIFY = "verify"


def duration(seconds: int) -> str:
    """``seconds`` as a person says it: "7 days", "1 hour", "90 seconds"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


class AccountMail:
    def __init__(self, settings: Settings, sender: Sender) -> None:
        self.settings = settings
        self.sender = sender

    def link(self, page: str, token: str | None = None) -> str:
        base = self.settings.app_url or f"{self.settings.own_url}/account"
        return f"{base}/{page}" + (f"?token={quote(token, safe='')}" if token else "")

    def _queue(self, session: AsyncSession, mail: Mail) -> None:
        self.sender.queue(session, mail)

    def invitation(
        self, session: AsyncSession, email: str, token: str, role: str, expires_at: datetime
    ) -> None:
        link = self.link(ACCEPT_INVITATION, token)
        expires = expires_at.strftime("%Y-%m-%d %H:%M UTC")
        self._queue(session, letter("invitation", email, link, role=role, expires=expires))

    def reset_password(self, session: AsyncSession, email: str, token: str) -> None:
        lifetime = duration(self.settings.reset_token_lifetime_seconds)
        link = self.link(RESET_PASSWORD, token)
        self._queue(session, letter("reset_password", email, link, lifetime=lifetime))

    def reset_no_account(self, session: AsyncSession, email: str) -> None:
        self._queue(session, letter("reset_no_account", email))

    def verify(self, session: AsyncSession, email: str, token: str) -> None:
        lifetime = duration(self.settings.verify_token_lifetime_seconds)
        self._queue(session, letter("verify", email, self.link(VERIFY, token), lifetime=lifetime))

    def verify_not_needed(self, session: AsyncSession, email: str) -> None:
        self._queue(session, letter("verify_not_needed", email))

    def already_registered(self, session: AsyncSession, email: str) -> None:
        self._queue(session, letter("already_registered", email, self.link(RESET_PASSWORD)))
