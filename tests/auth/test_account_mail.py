"""Accounts by e-mail, end to end: a real server, a real SMTP server, the links in the
delivered mails followed: invitations, password resets, sign-up and verification."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.auth.test_live_sessions import closed_with, login, run, socket
from tests.support.accounts import PASSWORD
from tests.support.factories import staff_member
from tests.support.mailbox import Mailbox, link_in, text_of, token_in
from tests.support.servers import Live
from zoo.auth.models import Invitation, User
from zoo.auth.service import create_user
from zoo.core.roles import Role
from zoo.mail.outbox import OutboxMail

NEW_PASSWORD = "a brand new passphrase"
ME = "{ me { email role isVerified staffMember { name } } }"


@asynccontextmanager
async def served(live: Live, mailbox: Mailbox, **settings: Any) -> Any:
    """The app served with mail through ``mailbox``; yields (app, http client, admin's token)."""
    overrides = {"smtp_url": mailbox.url, "login_attempts_per_minute": 1000, **settings}
    async with (
        live(**overrides) as (app, base, admin_token),
        httpx.AsyncClient(base_url=base) as http,
    ):
        yield app, http, admin_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def me(http: httpx.AsyncClient, token: str) -> dict[str, Any] | None:
    response = await http.post("/graphql", json={"query": ME}, headers=bearer(token))
    data: dict[str, Any] | None = response.json()["data"]["me"]
    return data


async def count(app: Any, model: Any) -> int:
    async with app.state.database.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_invitation_opens_an_account_with_its_role_and_staff_member(
    live: Live, mailbox: Mailbox
) -> None:
    async with served(live, mailbox) as (app, http, admin):
        keeper = await staff_member(app.state.services, name="Invited Keeper")
        invited = await http.post(
            "/users/invitations",
            json={"email": "Keeper@Example.com", "role": "KEEPER", "staff_member_id": keeper.id},
            headers=bearer(admin),
        )
        assert invited.status_code == 201, invited.text
        body = invited.json()
        assert (body["email"], body["role"], body["staff_member_id"]) == (
            "Keeper@example.com",
            "KEEPER",
            keeper.id,
        )
        listed = await http.get("/users/invitations", headers=bearer(admin))
        assert [i["id"] for i in listed.json()] == [body["id"]]

        (mail,) = await mailbox.wait_for(1)
        assert mail["To"] == "Keeper@example.com"
        assert mail["Subject"] == "You are invited to Zoo"
        assert link_in(mail).startswith(f"{app.state.settings.own_url}/account/accept-invitation?")
        assert "KEEPER" in text_of(mail)
        assert mail.get_body(preferencelist=("html",)) is not None

        accepted = await http.post(
            "/auth/accept-invitation", json={"token": token_in(mail), "password": NEW_PASSWORD}
        )
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["role"] == "KEEPER"
        token = await login(str(http.base_url), "keeper@example.com", NEW_PASSWORD)
        assert await me(http, token) == {
            "email": "Keeper@example.com",
            "role": "KEEPER",
            "isVerified": True,
            "staffMember": {"name": "Invited Keeper"},
        }
        # Used once: the token, and the list, know it.
        again = await http.post(
            "/auth/accept-invitation", json={"token": token_in(mail), "password": NEW_PASSWORD}
        )
        assert (again.status_code, again.json()) == (
            400,
            {"code": "INVITATION_BAD_TOKEN", "detail": "INVITATION_BAD_TOKEN"},
        )
        assert (await http.get("/users/invitations", headers=bearer(admin))).json() == []


async def test_a_revoked_expired_or_replaced_invitation_opens_nothing(
    live: Live, mailbox: Mailbox
) -> None:
    async with served(live, mailbox, invitation_lifetime_seconds=2) as (app, http, admin):
        for email in ("revoked@example.com", "expired@example.com", "replaced@example.com"):
            response = await http.post(
                "/users/invitations", json={"email": email}, headers=bearer(admin)
            )
            assert response.status_code == 201
        revoked_id = (await http.get("/users/invitations", headers=bearer(admin))).json()
        revoked_id = next(i["id"] for i in revoked_id if i["email"] == "revoked@example.com")
        deleted = await http.delete(f"/users/invitations/{revoked_id}", headers=bearer(admin))
        assert deleted.status_code == 204
        gone = await http.delete(f"/users/invitations/{revoked_id}", headers=bearer(admin))
        assert gone.status_code == 404
        replacement = await http.post(
            "/users/invitations",
            json={"email": "replaced@example.com", "role": "CURATOR"},
            headers=bearer(admin),
        )
        assert replacement.status_code == 201
        mails = await mailbox.wait_for(4)
        tokens = {m["To"]: token_in(m) for m in mails[:3]}
        await asyncio.sleep(2.1)  # the "expired" invitation lapses (lifetime 2 s)
        for email in ("revoked@example.com", "expired@example.com", "replaced@example.com"):
            refused = await http.post(
                "/auth/accept-invitation", json={"token": tokens[email], "password": NEW_PASSWORD}
            )
            assert (refused.status_code, refused.json()) == (
                400,
                {"code": "INVITATION_BAD_TOKEN", "detail": "INVITATION_BAD_TOKEN"},
            ), email
        assert await count(app, User) == 1  # the admin alone


async def test_bad_invitations_are_refused_with_a_code_and_write_nothing(
    live: Live, mailbox: Mailbox
) -> None:
    async with served(live, mailbox) as (app, http, admin):
        curator = await create_user(
            app.state.database, "curator@example.com", PASSWORD, role=Role.CURATOR
        )
        cases = [
            ({"email": "curator@example.com"}, admin, 400, "INVITATION_USER_ALREADY_EXISTS"),
            (
                {"email": "boss@example.com", "role": "ADMIN"},
                admin,
                400,
                "INVITATION_ROLE_NOT_GRANTABLE",
            ),
            (
                {"email": "x@example.com", "staff_member_id": 999},
                admin,
                400,
                "STAFF_MEMBER_NOT_FOUND",
            ),
            ({"email": "a" * 10_000 + "@example.com"}, admin, 422, None),
            ({"email": "x@example.com", "role": "OWNER"}, admin, 422, None),
        ]
        for body, token, status, code in cases:
            response = await http.post("/users/invitations", json=body, headers=bearer(token))
            assert response.status_code == status, (body, response.text)
            if code is not None:
                assert response.json() == {"code": code, "detail": code}
        curator_token = await login(str(http.base_url), "curator@example.com")
        forbidden = await http.post(
            "/users/invitations", json={"email": "y@example.com"}, headers=bearer(curator_token)
        )
        assert forbidden.status_code == 403
        anonymous = await http.get("/users/invitations")
        assert anonymous.status_code == 401
        for token in ("", "x" * 3000):
            malformed = await http.post(
                "/auth/accept-invitation", json={"token": token, "password": NEW_PASSWORD}
            )
            assert malformed.status_code == 422
        foreign = await http.post(
            "/auth/accept-invitation", json={"token": "not-a-token", "password": NEW_PASSWORD}
        )
        assert foreign.json() == {"code": "INVITATION_BAD_TOKEN", "detail": "INVITATION_BAD_TOKEN"}
        assert await count(app, Invitation) == 0
        assert await count(app, OutboxMail) == 0
        assert curator.email == "curator@example.com"


async def test_a_weak_password_keeps_the_invitation_open(live: Live, mailbox: Mailbox) -> None:
    async with served(live, mailbox) as (app, http, admin):
        await http.post(
            "/users/invitations", json={"email": "w@example.com"}, headers=bearer(admin)
        )
        (mail,) = await mailbox.wait_for(1)
        weak = await http.post(
            "/auth/accept-invitation", json={"token": token_in(mail), "password": "short"}
        )
        assert weak.status_code == 400
        assert weak.json()["detail"]["code"] == "INVITATION_INVALID_PASSWORD"
        assert await count(app, User) == 1
        good = await http.post(
            "/auth/accept-invitation", json={"token": token_in(mail), "password": NEW_PASSWORD}
        )
        assert good.status_code == 201


async def test_a_reset_ends_every_session_and_the_new_password_works(
    live: Live, mailbox: Mailbox
) -> None:
    async with served(live, mailbox) as (app, http, _):
        email = "forgetful@example.com"
        await create_user(app.state.database, email, PASSWORD, role=Role.CURATOR)
        base = str(http.base_url)
        bearer_token = await login(base, email)
        cookie = await http.post(
            "/auth/cookie/login", data={"username": email, "password": PASSWORD}
        )
        assert cookie.status_code == 204
        ws = await socket(base, bearer_token)
        assert "errors" not in (await run(ws, ME))["payload"]

        asked = await http.post("/auth/forgot-password", json={"email": email})
        assert (asked.status_code, asked.json()) == (202, {"detail": "CHECK_YOUR_EMAIL"})
        (mail,) = await mailbox.wait_for(1)
        assert link_in(mail).startswith(f"{app.state.settings.own_url}/account/reset-password?")
        reset = await http.post(
            "/auth/reset-password", json={"token": token_in(mail), "password": NEW_PASSWORD}
        )
        assert reset.status_code == 200, reset.text

        assert await closed_with(ws) == 4403
        assert await me(http, bearer_token) is None
        cookie_me = await http.post("/graphql", json={"query": ME})  # the client holds the cookie
        assert cookie_me.json()["data"]["me"] is None
        http.cookies.clear()
        old = await http.post("/auth/jwt/login", data={"username": email, "password": PASSWORD})
        assert old.status_code == 400
        assert (await me(http, await login(base, email, NEW_PASSWORD)))["email"] == email  # type: ignore[index]

        again = await http.post(
            "/auth/reset-password", json={"token": token_in(mail), "password": "yet another one!"}
        )
        assert (again.status_code, again.json()) == (
            400,
            {"code": "RESET_PASSWORD_BAD_TOKEN", "detail": "RESET_PASSWORD_BAD_TOKEN"},
        )


async def test_a_reset_token_dies_with_time_with_another_password_change_and_as_garbage(
    live: Live, mailbox: Mailbox
) -> None:
    async with served(live, mailbox, reset_token_lifetime_seconds=1) as (app, http, admin):
        email = "changer@example.com"
        user = await create_user(app.state.database, email, PASSWORD)
        await http.post("/auth/forgot-password", json={"email": email})
        (first,) = await mailbox.wait_for(1)
        await asyncio.sleep(1.1)
        expired = await http.post(
            "/auth/reset-password", json={"token": token_in(first), "password": NEW_PASSWORD}
        )
        assert expired.json() == {
            "code": "RESET_PASSWORD_BAD_TOKEN",
            "detail": "RESET_PASSWORD_BAD_TOKEN",
        }

    async with served(live, mailbox) as (app, http, admin):
        await http.post("/auth/forgot-password", json={"email": email})
        second = (await mailbox.wait_for(2))[1]
        changed = await http.patch(
            f"/users/{user.id}", json={"password": "set by an admin"}, headers=bearer(admin)
        )
        assert changed.status_code == 200
        stale = await http.post(
            "/auth/reset-password", json={"token": token_in(second), "password": NEW_PASSWORD}
        )
        assert stale.json() == {
            "code": "RESET_PASSWORD_BAD_TOKEN",
            "detail": "RESET_PASSWORD_BAD_TOKEN",
        }
        for garbage in ("garbage", token_in(second)[:-3] + "abc"):
            refused = await http.post(
                "/auth/reset-password", json={"token": garbage, "password": NEW_PASSWORD}
            )
            assert refused.json() == {
                "code": "RESET_PASSWORD_BAD_TOKEN",
                "detail": "RESET_PASSWORD_BAD_TOKEN",
            }
        await login(str(http.base_url), email, "set by an admin")


async def test_register_then_verify(live: Live, mailbox: Mailbox) -> None:
    async with served(live, mailbox, registration="open") as (_, http, _t):
        email = "newcomer@example.com"
        registered = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
        assert (registered.status_code, registered.json()) == (202, {"detail": "CHECK_YOUR_EMAIL"})
        (mail,) = await mailbox.wait_for(1)
        assert mail["Subject"] == "Confirm your e-mail address for Zoo"
        token = await login(str(http.base_url), email)
        assert await me(http, token) == {
            "email": email,
            "role": "VISITOR",
            "isVerified": False,
            "staffMember": None,
        }
        verified = await http.post("/auth/verify", json={"token": token_in(mail)})
        assert verified.status_code == 200, verified.text
        assert verified.json()["is_verified"] is True
        assert (await me(http, token))["isVerified"] is True  # type: ignore[index]
        again = await http.post("/auth/verify", json={"token": token_in(mail)})
        assert again.json() == {
            "code": "VERIFY_USER_ALREADY_VERIFIED",
            "detail": "VERIFY_USER_ALREADY_VERIFIED",
        }
        bad = await http.post("/auth/verify", json={"token": "garbage"})
        assert bad.json() == {"code": "VERIFY_USER_BAD_TOKEN", "detail": "VERIFY_USER_BAD_TOKEN"}

        # Registering a known address again: the same answer; its owner is told.
        known = await http.post("/auth/register", json={"email": email, "password": "other pw 123"})
        assert (known.status_code, known.json()) == (202, {"detail": "CHECK_YOUR_EMAIL"})
        notice = (await mailbox.wait_for(2))[1]
        assert notice["Subject"] == "Someone tried to sign up to Zoo with your address"
        await login(str(http.base_url), email)  # the password is unchanged


async def test_an_expired_verification_link_is_refused_and_a_new_one_works(
    live: Live, mailbox: Mailbox
) -> None:
    # Long enough for the second link to arrive and be used before it lapses too, on a
    # loaded machine (at 1 s, a slow delivery made it expire before use in one CI run).
    seconds = 3
    lifetime = {"verify_token_lifetime_seconds": seconds}
    async with served(live, mailbox, registration="open", **lifetime) as (_, http, _t):
        email = "slow@example.com"
        await http.post("/auth/register", json={"email": email, "password": PASSWORD})
        (first,) = await mailbox.wait_for(1)
        await asyncio.sleep(seconds + 0.1)
        expired = await http.post("/auth/verify", json={"token": token_in(first)})
        assert expired.json() == {
            "code": "VERIFY_USER_BAD_TOKEN",
            "detail": "VERIFY_USER_BAD_TOKEN",
        }
        asked = await http.post("/auth/request-verify-token", json={"email": email})
        assert (asked.status_code, asked.json()) == (202, {"detail": "CHECK_YOUR_EMAIL"})
        second = (await mailbox.wait_for(2))[1]
        assert (
            await http.post("/auth/verify", json={"token": token_in(second)})
        ).status_code == 200


async def test_require_verified_refuses_unverified_logins(live: Live, mailbox: Mailbox) -> None:
    async with served(live, mailbox, registration="open", require_verified=True) as (_, http, _t):
        email = "strict@example.com"
        await http.post("/auth/register", json={"email": email, "password": PASSWORD})
        refused = await http.post("/auth/jwt/login", data={"username": email, "password": PASSWORD})
        assert (refused.status_code, refused.json()) == (
            400,
            {"code": "LOGIN_USER_NOT_VERIFIED", "detail": "LOGIN_USER_NOT_VERIFIED"},
        )
        (mail,) = await mailbox.wait_for(1)
        await http.post("/auth/verify", json={"token": token_in(mail)})
        await login(str(http.base_url), email)


@pytest.mark.parametrize("mode", ["invite", "closed"])
async def test_registration_modes(live: Live, mailbox: Mailbox, mode: str) -> None:
    async with served(live, mailbox, registration=mode) as (app, http, admin):
        refused = await http.post(
            "/auth/register", json={"email": "n@example.com", "password": PASSWORD}
        )
        assert (refused.status_code, refused.json()) == (
            403,
            {"code": "REGISTRATION_CLOSED", "detail": "REGISTRATION_CLOSED"},
        )
        invited = await http.post(
            "/users/invitations", json={"email": "n@example.com"}, headers=bearer(admin)
        )
        assert invited.status_code == (201 if mode == "invite" else 403)
        assert await count(app, User) == 1


async def test_unknown_addresses_get_the_same_answer_and_a_note(
    live: Live, mailbox: Mailbox
) -> None:
    async with served(live, mailbox) as (app, http, _):
        await create_user(app.state.database, "known@example.com", PASSWORD)
        answers = []
        for route in ("/auth/forgot-password", "/auth/request-verify-token"):
            for email in ("known@example.com", f"nobody-{uuid.uuid4().hex[:6]}@example.com"):
                response = await http.post(route, json={"email": email})
                answers.append((response.status_code, response.text, sorted(response.headers)))
        assert len({(s, t, tuple(h)) for s, t, h in answers if "date" in h}) == 1
        mails = await mailbox.wait_for(4)
        assert [m["Subject"] for m in mails] == [
            "Reset your Zoo password",
            "About a password reset at Zoo",
            "About confirming your e-mail address at Zoo",  # verified already
            "About confirming your e-mail address at Zoo",
        ]
        assert "token=" not in text_of(mails[1])


INVITE = """mutation Invite($input: InviteUserInput!) {
  inviteUser(input: $input) { id email role staffMember { name } expiresAt }
}"""
INVITATIONS = "{ invitations { id email role } }"


async def graphql(
    http: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    headers = bearer(token) if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


async def test_admins_invite_over_graphql_too(live: Live, mailbox: Mailbox) -> None:
    async with served(live, mailbox) as (app, http, admin):
        keeper = await staff_member(app.state.services, name="GraphQL Keeper")
        made = await graphql(
            http,
            INVITE,
            admin,
            input={"email": "gq@example.com", "role": "KEEPER", "staffMemberId": keeper.id},
        )
        invitation = made["data"]["inviteUser"]
        assert (invitation["email"], invitation["role"], invitation["staffMember"]) == (
            "gq@example.com",
            "KEEPER",
            {"name": "GraphQL Keeper"},
        )
        listed = await graphql(http, INVITATIONS, admin)
        assert listed["data"]["invitations"] == [
            {"id": invitation["id"], "email": "gq@example.com", "role": "KEEPER"}
        ]
        (mail,) = await mailbox.wait_for(1)
        accepted = await http.post(
            "/auth/accept-invitation", json={"token": token_in(mail), "password": NEW_PASSWORD}
        )
        assert accepted.status_code == 201

        curator = await create_user(
            app.state.database, "c@example.com", PASSWORD, role=Role.CURATOR
        )
        curator_token = await login(str(http.base_url), curator.email)
        cases = [
            (curator_token, {"email": "z@example.com"}, "FORBIDDEN"),
            (None, {"email": "z@example.com"}, "UNAUTHENTICATED"),
            (admin, {"email": "gq@example.com"}, "CONFLICT"),
            (admin, {"email": "z@example.com", "role": "ADMIN"}, "BAD_USER_INPUT"),
            (admin, {"email": "not an address"}, "BAD_USER_INPUT"),
            (admin, {"email": "z@example.com", "staffMemberId": keeper.id}, "BAD_USER_INPUT"),
        ]
        for token, given, code in cases:
            refused = await graphql(http, INVITE, token, input=given)
            assert refused["data"] is None, given
            assert refused["errors"][0]["extensions"]["code"] == code, (given, refused)
        hidden = await graphql(http, INVITATIONS, curator_token)
        assert hidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert len(mailbox.messages) == 1


async def test_malformed_foreign_and_oversized_input_is_a_coded_4xx_and_writes_nothing(
    live: Live, mailbox: Mailbox
) -> None:
    async with served(live, mailbox, registration="open") as (app, http, _):
        await create_user(app.state.database, "owner@example.com", PASSWORD)
        huge = "a" * 10_000 + "@example.com"
        for route, body in (
            ("/auth/forgot-password", {"email": huge}),
            ("/auth/request-verify-token", {"email": huge}),
            ("/auth/register", {"email": huge, "password": PASSWORD}),
            ("/auth/forgot-password", {"email": "not an address"}),
            ("/auth/forgot-password", {}),
            ("/auth/reset-password", {"token": "t"}),
            ("/auth/verify", {"token": "x" * 3000}),
        ):
            response = await http.post(route, json=body)
            assert response.status_code == 422, (route, response.text)
        weak = await http.post("/auth/register", json={"email": "w@example.com", "password": "1"})
        assert weak.json()["detail"]["code"] == "REGISTER_INVALID_PASSWORD"
        assert await count(app, OutboxMail) == 0
        assert await count(app, User) == 2

        # A token of one kind is refused by the others.
        await http.post("/auth/forgot-password", json={"email": "owner@example.com"})
        (reset_mail,) = await mailbox.wait_for(1)
        reset_token = token_in(reset_mail)
        as_verify = await http.post("/auth/verify", json={"token": reset_token})
        assert as_verify.json() == {
            "code": "VERIFY_USER_BAD_TOKEN",
            "detail": "VERIFY_USER_BAD_TOKEN",
        }
        as_invitation = await http.post(
            "/auth/accept-invitation", json={"token": reset_token, "password": NEW_PASSWORD}
        )
        assert as_invitation.json() == {
            "code": "INVITATION_BAD_TOKEN",
            "detail": "INVITATION_BAD_TOKEN",
        }
        weak_reset = await http.post(
            "/auth/reset-password", json={"token": reset_token, "password": "short"}
        )
        assert weak_reset.json()["detail"]["code"] == "RESET_PASSWORD_INVALID_PASSWORD"
        await login(str(http.base_url), "owner@example.com")  # unchanged
        await http.post("/auth/register", json={"email": "v@example.com", "password": PASSWORD})
        verify_mail = (await mailbox.wait_for(2))[1]
        as_reset = await http.post(
            "/auth/reset-password", json={"token": token_in(verify_mail), "password": NEW_PASSWORD}
        )
        assert as_reset.json() == {
            "code": "RESET_PASSWORD_BAD_TOKEN",
            "detail": "RESET_PASSWORD_BAD_TOKEN",
        }
