"""Every table, imported in one place so that metadata (and Alembic) sees them all."""

from zoo.animals.models import Animal
from zoo.auth.models import AccessToken, Invitation, User
from zoo.core.entity import Base
from zoo.events.log_tables import ChangeLogState, ChangeRecord
from zoo.exhibits.models import Exhibit
from zoo.mail.outbox import OutboxMail
from zoo.staff.models import StaffMember

__all__ = [
    "AccessToken",
    "Animal",
    "Base",
    "ChangeLogState",
    "ChangeRecord",
    "Exhibit",
    "Invitation",
    "OutboxMail",
    "StaffMember",
    "User",
]
