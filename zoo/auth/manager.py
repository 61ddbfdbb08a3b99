from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import Request
from fastapi_users import BaseUserManager, InvalidPasswordException, UUIDIDMixin, schemas
from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase

from zoo.auth.models import User
from zoo.auth.schemas import MIN_PASSWORD_LENGTH

logger = logging.getLogger(__name__)


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    def __init__(self, user_db: SQLAlchemyUserDatabase[User, uuid.UUID], secret: str) -> None:
        super().__init__(user_db)
        self.reset_password_token_secret = secret
        self.verification_token_secret = secret

    async def validate_password(self, password: str, user: schemas.BaseUserCreate | User) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidPasswordException(
                reason=f"Password should be at least {MIN_PASSWORD_LENGTH} characters"
            )
        if user.email.lower() in password.lower():
            raise InvalidPasswordException(reason="Password should not contain the email")

    async def on_after_register(self, user: User, request: Request | None = None) -> None:
        logger.info("user registered: %s", user.id)

    async def on_after_login(
        self, user: User, request: Request | None = None, response: Any = None
    ) -> None:
        logger.info("user logged in: %s", user.id)
