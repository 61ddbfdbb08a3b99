"""The mails Zoo sends, rendered from templates: a plain-text and an HTML body each.

Templates are files beside this module (``templates/<kind>.txt`` and ``.html``) in
``string.Template`` syntax; values put into the HTML body are escaped, and every
HTML body sits in one layout (``templates/layout.html``).
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template

from zoo.mail.outbox import Mail

TEMPLATES = Path(__file__).parent / "templates"

SUBJECTS = {
    "invitation": "You are invited to Zoo",
    "reset_password": "Reset your Zoo password",
    "reset_no_account": "About a password reset at Zoo",
    "verify": "Confirm your e-mail address for Zoo",
    "verify_not_needed": "About confirming your e-mail address at Zoo",
    "already_registered": "Someone tried to sign up to Zoo with your address",
}
"""Every kind of mail, and its subject."""


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def letter(kind: str, recipient: str, link: str | None = None, **values: str) -> Mail:
    """The mail of ``kind`` to ``recipient``; ``link`` and ``values`` fill its templates."""
    subject = SUBJECTS[kind]
    plain = {**values, "link": link or ""}
    text_body = _template(f"{kind}.txt").substitute(plain)
    escaped = {name: html.escape(value) for name, value in plain.items()}
    body = _template(f"{kind}.html").substitute(escaped)
    html_body = _template("layout.html").substitute(subject=html.escape(subject), body=body)
    return Mail(kind, recipient, subject, text_body, html_body, link)
