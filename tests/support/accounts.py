"""Users as the tests log them in: through the real login route, with real tokens."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

PASSWORD = "correct-horse-battery"


@dataclass
class Account:
    """A logged-in user: its credentials, its bearer token and its id."""

    email: str
    password: str
    token: str
    id: str


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/auth/jwt/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def fullwidth(text: str) -> str:
    """``text`` as an input method in fullwidth mode types it (U+FF01 to U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


async def cookie_login(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post(
        "/auth/cookie/login", data={"username": email, "password": PASSWORD}
    )
    assert response.status_code == 204
    cookie = response.headers["set-cookie"].lower()
    assert "zoo-auth=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
