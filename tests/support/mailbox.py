"""A real SMTP server for the tests (aiosmtpd), that collects what it is sent.

It runs in its own thread (aiosmtpd's ``Controller``) on a free port, so that the app
under test talks SMTP to it over TCP as it would to any mail server. It can be
stopped and started again on the same port (a mail server down), or told to refuse
each message for now (4xx) or for good (5xx).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from bench.http import free_port

LINK = re.compile(r"https?://\S+")


class Mailbox:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.refusal: str | None = None
        """An SMTP reply to give every message instead of taking it ("451 ...")."""
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refusal is not None:
            return self.refusal
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, count: int, seconds: float = 15) -> list[EmailMessage]:
        """The first ``count`` messages, once that many have come (else the test fails)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while len(self.messages) < count:
            assert asyncio.get_running_loop().time() < deadline, (
                f"{len(self.messages)} of {count} mails arrived"
            )
            await asyncio.sleep(0.02)
        with self._lock:
            return list(self.messages[:count])


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link_in(message: EmailMessage) -> str:
    found = LINK.search(text_of(message))
    assert found is not None, text_of(message)
    return found.group(0)


def token_in(message: EmailMessage) -> str:
    return parse_qs(urlsplit(link_in(message)).query)["token"][0]
