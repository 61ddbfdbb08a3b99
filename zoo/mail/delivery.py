"""Handing mails over: to an SMTP server (``ZOO_SMTP_URL``), or to files in development.

Each mail comes back with an :class:`Outcome`. A server that cannot be reached,
drops the connection or refuses for now (a 4xx reply) means "try again later";
a 5xx reply to the mail itself (its sender, a recipient, its content) means it
will never be taken, so it is given up on. A 5xx while logging in is the
server's configuration, not the mail's: it is tried again too, so that a
wrong password in the settings loses nothing once it is put right.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from zoo.mail.outbox import OutboxMail

logger = logging.getLogger("zoo.mail")

SMTP_TIMEOUT_SECONDS = 20.0


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    error: str | None = None


class Delivery(Protocol):
    async def send(self, mails: Sequence[OutboxMail]) -> list[Result]:
        """One result per mail, in order."""
        ...


def message(mail: OutboxMail, sender: str) -> EmailMessage:
    """The MIME message of an outbox row: plain text with an HTML alternative. Its
    Message-ID is made of the row's id, so that a mail sent twice (a process died after
    the server took it, before it was marked sent) is one message to the recipient."""
    built = EmailMessage()
    name, address = parseaddr(sender)
    built["From"] = formataddr((name, address))
    built["To"] = mail.recipient
    built["Subject"] = mail.subject
    built["Date"] = format_datetime(mail.created_at)
    domain = address.rpartition("@")[2] or "localhost"
    built["Message-ID"] = f"<zoo-mail-{mail.id}@{domain}>"
    built.set_content(mail.text_body)
    built.add_alternative(mail.html_body, subtype="html")
    return built


class SmtpDelivery:
    """Mails through one SMTP connection per batch (aiosmtplib)."""

    def __init__(self, url: str, sender: str, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        parts = urlsplit(url)
        tls = parts.scheme == "smtps"
        options = parse_qs(parts.query)
        self.sender = sender
        self.options = {
            "hostname": parts.hostname or "localhost",
            "port": parts.port or (465 if tls else 25),
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "use_tls": tls,
            "start_tls": not tls and _truthy(options.get("starttls")),
            "timeout": timeout,
        }

    async def send(self, mails: Sequence[OutboxMail]) -> list[Result]:
        client = aiosmtplib.SMTP(**self.options)  # type: ignore[arg-type]
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            logger.warning("mail server unreachable, %d mails wait: %s", len(mails), exc)
            return [Result(Outcome.RETRY, _describe(exc))] * len(mails)
        results: list[Result] = []
        try:
            for mail in mails:
                result = await self._send_one(client, mail)
                results.append(result)
                if result.outcome is Outcome.RETRY and not client.is_connected:
                    break
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
        rest = Result(Outcome.RETRY, "the connection to the mail server was lost")
        return results + [rest] * (len(mails) - len(results))

    async def _send_one(self, client: aiosmtplib.SMTP, mail: OutboxMail) -> Result:
        try:
            await client.send_message(message(mail, self.sender))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            return _refused(min(codes, default=550), _describe(exc))
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
            return _refused(exc.code, _describe(exc))
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Result(Outcome.RETRY, _describe(exc))
        return Result(Outcome.SENT)


def _refused(code: int, error: str) -> Result:
    return Result(Outcome.FAILED if 500 <= code < 600 else Outcome.RETRY, error)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _truthy(values: list[str] | None) -> bool:
    return values is not None and values[-1].strip().lower() in {"1", "true", "yes", "on"}


class FileDelivery:
    """Development's mail server: each mail an ``.eml`` file in ``directory``, its link
    logged, so that every flow works offline (``make run`` needs no mail server)."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def send(self, mails: Sequence[OutboxMail]) -> list[Result]:
        results = []
        for mail in mails:
            try:
                path = await asyncio.to_thread(self._write, mail)
            except OSError as exc:
                results.append(Result(Outcome.RETRY, _describe(exc)))
                continue
            logger.info(
                "mail %r to %s written to %s%s",
                mail.subject,
                mail.recipient,
                path,
                f"; its link: {mail.link}" if mail.link else "",
            )
            results.append(Result(Outcome.SENT))
        return results

    def _write(self, mail: OutboxMail) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = mail.created_at.strftime("%Y%m%dT%H%M%S")
        kind = re.sub(r"[^a-z_]", "", mail.kind)
        path = self.directory / f"{stamp}-{mail.id:06d}-{kind}.eml"
        path.write_bytes(bytes(message(mail, self.sender)))
        return path
