"""The generic part of every entity service: live-row reads, keyset pages, soft delete.

Domain services subclass :class:`EntityService`, declare the live rows their
references must name (``references``) and add their rules through the hooks
(``filter_clauses``, ``check_delete``, ``check_actor``). Each public method opens
its own session, so callers never share one: reads get a short session, writes
one transaction that commits once.

A create is one ``INSERT ... RETURNING`` through Core: when it names a referenced
row, the row's check is folded in (``INSERT ... SELECT ... FROM exhibits WHERE id =
:exhibit_id AND deleted_at IS NULL FOR SHARE``), so a missing or deleted exhibit
inserts nothing, and one being deleted meanwhile waits for the commit (or is seen).
No ORM unit of work, and no second read: the answer is the row as inserted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Insert,
    Integer,
    Select,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from zoo.core.batch_queries import Wanted
from zoo.core.entity import Entity, utcnow
from zoo.core.errors import InvalidInput, NotFound
from zoo.core.fields import UpdateSchema
from zoo.core.joins import Joined, join_of, joined, split
from zoo.core.keyset import (
    Cursor,
    Key,
    Page,
    PageRequest,
    Sort,
    beyond,
    bound_name,
    bound_parameters,
    decode_cursor,
    order_clauses,
    reversed_keys,
    signature,
)
from zoo.core.records import narrowed, records_of
from zoo.core.roles import Actor
from zoo.core.summaries import MAX_GROUPS, Grouping
from zoo.core.where import Where, bound_clause, shape_and_values
from zoo.core.where import clause as where_clause
from zoo.events.broker import Broker, Change, ChangeKind
from zoo.events.change_log import Entry, FieldChanges
from zoo.storage.database import Database

M = TypeVar("M", bound=Entity)
F = TypeVar("F", bound=BaseModel)

PAGE_LIMIT = bindparam("page_limit", type_=Integer)
"""A page's row limit, bound per request, so that one statement serves every ``first``."""

PAGE_STATEMENTS = 512
"""Page statements kept per service: one per ordering, kind of cursor and set of columns."""

Groups = list[tuple[Any, int]]
"""A summary's groups: each key with its count."""

Relations = tuple[tuple[str, Wanted], ...]
"""To-one relations to read with a page, each with what will be read from its rows."""

PageShape = tuple[
    Wanted, Relations, Sort, bool, bool, tuple[bool, ...] | None, tuple[bool, ...] | None
]
"""What a page statement without a filter depends on: its columns, the relations joined,
the sort's keys and the id's direction, whether read backwards, and which values of the
``after`` and ``before`` cursors are NULL (None: no such cursor)."""


@dataclass(frozen=True)
class LiveReference:
    """A column that must name a live (not soft-deleted) row of ``model``."""

    model: type[Any]
    noun: str
    """How the error names the row: "exhibit 7 does not exist"."""


class EntityService(Generic[M, F]):
    model: ClassVar[type[Any]]
    entity_name: ClassVar[str]
    orderings: ClassVar[Mapping[str, InstrumentedAttribute[Any]]]
    """Ordering name (the domain's order enum value) -> column to sort by."""
    references: ClassVar[Mapping[str, LiveReference]] = {}
    """Field -> the live rows it may name; checked by the write itself, share-locked."""
    groupings: ClassVar[Mapping[str, Grouping]] = {}
    """What a summary may group the rows by (:mod:`zoo.core.summaries`)."""

    def __init__(self, database: Database, events: Broker | None = None) -> None:
        self.database = database
        self.events = events or Broker()
        self._pages: dict[tuple[PageShape, Any], Select[Any]] = {}
        self._inserts: dict[tuple[tuple[str, ...], tuple[str, ...]], Insert] = {}

    # Hooks for the domain's rules -------------------------------------------------

    def filter_clauses(self, filters: F | None) -> list[ColumnElement[bool]]:
        """The clauses of version 1's ``filter`` argument (exact matches, one search)."""
        return []

    def where_clauses(self, filters: F | None, where: Where | None) -> list[ColumnElement[bool]]:
        """Both kinds of filter, applied together: ``filter`` and ``where`` (a tree, see
        :mod:`zoo.core.where`)."""
        clauses = self.filter_clauses(filters)
        if where is not None:
            clauses.append(where_clause(where))
        return clauses

    async def check_references(
        self, session: AsyncSession, values: Mapping[str, Any], refusal: str = "does not exist"
    ) -> None:
        """Refuse values that point at rows which do not exist (or no longer do), saying
        ``refusal`` of each, and share-lock those they name (PostgreSQL) until the commit,
        so that none is deleted meanwhile."""
        for field, reference in self.references.items():
            value = values.get(field)
            if value is None:
                continue
            target = reference.model
            statement = (
                select(target.id)
                .where(target.id == value, target.deleted_at.is_(None))
                .with_for_update(read=True)
            )
            if await session.scalar(statement) is None:
                raise InvalidInput.for_field(field, f"{reference.noun} {value} {refusal}")

    async def check_delete(self, session: AsyncSession, row: M) -> None:
        """Refuse to delete a row that others still depend on."""

    async def check_actor(
        self, session: AsyncSession, actor: Actor | None, row: M | None, values: Mapping[str, Any]
    ) -> None:
        """Refuse a write the actor's role allows but their rows do not (``row``: the row
        as it is, None for a create; ``values``: what is written). Runs in the write's own
        transaction, so what it reads cannot change before the commit."""

    # Queries ------------------------------------------------------------------------

    def live(self) -> Select[tuple[M]]:
        return select(self.model).where(self.model.deleted_at.is_(None))

    async def get(self, id_: int) -> Any | None:
        """The live row, as a record, or None."""
        return await self._record(self.model.id == id_, self.model.deleted_at.is_(None))

    def page_query(
        self,
        filters: F | None,
        page: PageRequest,
        columns: Wanted = None,
        joins: Relations = (),
        where: Where | None = None,
    ) -> tuple[Select[Any], dict[str, Any]]:
        """The keyset query for one page and its parameters: the cursors' keys, and one
        row more than asked as the limit (to see if more follow). ``columns`` are those
        :meth:`page_columns` gives; ``joins`` the to-one relations read alongside
        (:mod:`zoo.core.joins`). A page read backwards comes in reverse order.

        Without a v1 ``filter``, the statement is built once per shape (of the page, and
        of the where, whose values are bound as parameters) and reused: building a
        statement and its cache key cost as much as running it.
        """
        parameters: dict[str, Any] = {PAGE_LIMIT.key: page.size + 1}
        nulls: dict[str, tuple[bool, ...] | None] = {}
        for bound in ("after", "before"):
            cursor = self.cursor_of(page, bound)
            if cursor is not None:
                parameters.update(bound_parameters(bound, cursor))
            nulls[bound] = None if cursor is None else cursor.nulls
        shape: PageShape = (
            columns,
            joins,
            page.keys,
            page.id_desc,
            page.backward,
            nulls["after"],
            nulls["before"],
        )
        if filters is not None:
            clauses = self.where_clauses(filters, where)
            return self._page_statement(clauses, *shape), parameters
        where_shape = None
        if where is not None:
            where_shape, values = shape_and_values(where)
            parameters.update(values)
        key = (shape, where_shape)
        statement = self._pages.get(key)
        if statement is None:
            if len(self._pages) >= PAGE_STATEMENTS:
                self._pages.clear()
            clauses = [] if where is None else [bound_clause(where)]
            statement = self._pages[key] = self._page_statement(clauses, *shape)
        return statement, parameters

    def cursor_of(self, page: PageRequest, bound: str) -> Cursor | None:
        """The page's ``after`` or ``before`` cursor, decoded for its sort (or refused)."""
        text = page.after if bound == "after" else page.before
        if text is None:
            return None
        types = tuple(_python_type(self.orderings[key.ordering]) for key in page.keys)
        return decode_cursor(text, signature(page.sort_given), types, bound)

    def sort_keys(self, keys: Sort) -> list[Key]:
        return [(self.orderings[key.ordering], key.desc) for key in keys]

    def page_columns(self, wanted: Wanted, page: PageRequest, joins: Relations = ()) -> Wanted:
        """The columns a page reads for callers that read ``wanted`` from each row: those,
        the id and the sort's columns (the cursor holds them), and the keys of the
        relations joined; None for every column."""
        if wanted is None:
            return None
        names = wanted | {"id"} | {self.orderings[key.ordering].key for key in page.keys}
        names |= {join_of(self.model, name).local for name, _ in joins}
        return narrowed(self.model, names)

    def _page_statement(
        self,
        clauses: list[ColumnElement[bool]],
        columns: Wanted,
        joins: Relations,
        sort: Sort,
        id_desc: bool,
        backward: bool,
        after: tuple[bool, ...] | None,
        before: tuple[bool, ...] | None,
    ) -> Select[Any]:
        keys, id_column = self.sort_keys(sort), self.model.id
        statement = joined(records_of(self.model, columns).select(), self._joins(joins)).where(
            self.model.deleted_at.is_(None), *clauses
        )
        if after is not None:
            statement = statement.where(beyond(keys, id_column, id_desc, "after", after))
        if before is not None:
            back, back_id = reversed_keys(keys, id_desc)
            statement = statement.where(beyond(back, id_column, back_id, "before", before))
        if backward:
            keys, id_desc = reversed_keys(keys, id_desc)
        return statement.order_by(*order_clauses(keys, id_column, id_desc)).limit(PAGE_LIMIT)

    def _beyond_page(
        self,
        filters: F | None,
        where: Where | None,
        page: PageRequest,
        bound: str,
    ) -> Callable[[], Awaitable[bool]]:
        """Whether rows lie on the far side of a cursor: at or before ``after``, at or
        after ``before``. Relay leaves this side to the server's means; here it is exact,
        one ``EXISTS``, built and run only when a query asks."""

        async def check() -> bool:
            cursor = self.cursor_of(page, bound)
            assert cursor is not None
            keys, id_desc = self.sort_keys(page.keys), page.id_desc
            if bound == "after":
                keys, id_desc = reversed_keys(keys, id_desc)
            side = or_(
                beyond(keys, self.model.id, id_desc, bound, cursor.nulls),
                self.model.id == bindparam(bound_name(bound, None)),
            )
            clauses = self.where_clauses(filters, where)
            statement = select(exists().where(self.model.deleted_at.is_(None), *clauses, side))
            parameters = bound_parameters(bound, cursor)
            found = await self.database.fetch(lambda c: c.scalar(statement, parameters))
            return bool(found)

        return check

    def _joins(self, joins: Relations) -> Joined:
        return [(join := join_of(self.model, name), join.shape(wanted)) for name, wanted in joins]

    async def list(
        self,
        filters: F | None,
        page: PageRequest,
        wanted: Wanted = None,
        joins: Relations = (),
        where: Where | None = None,
    ) -> Page[Any]:
        """A page of the live rows that ``filters`` and ``where`` select, as records (see
        :mod:`zoo.core.records`) that carry at least the attributes in ``wanted`` (None:
        every column); and each row of the to-one relations in ``joins``, read by the
        same statement, carrying what is wanted of it (``records.joined_attribute``)."""
        columns = self.page_columns(wanted, page, joins)
        statement, parameters = self.page_query(filters, page, columns, joins, where)
        shape = records_of(self.model, columns, tuple(name for name, _ in joins))

        def read(connection: Connection) -> list[Any]:
            # all(): the rows in one fetch; iterating a result fetches them one call at a time.
            rows = connection.execute(statement, parameters).tuples().all()
            return list(rows) if joins else list(map(shape.make, rows))

        rows = await self.database.fetch(read)
        items = rows[: page.size]
        if page.backward:
            items.reverse()
        if joins:
            items = split(items, shape, self._joins(joins))
        more = len(rows) > page.size
        far_bound = "after" if not page.backward else "before"
        far: bool | Callable[[], Awaitable[bool]] = False
        if (page.after if far_bound == "after" else page.before) is not None:
            far = self._beyond_page(filters, where, page, far_bound)
        return Page(
            items=items,
            has_next_page=far if page.backward else more,
            has_previous_page=more if page.backward else far,
            signature=signature(page.sort_given),
            sort_attributes=tuple(self.orderings[key.ordering].key for key in page.keys),
        )

    async def count(self, filters: F | None, where: Where | None = None) -> int:
        statement = (
            select(func.count()).select_from(self.model).where(self.model.deleted_at.is_(None))
        )
        statement = statement.where(*self.where_clauses(filters, where))
        total = await self.database.fetch(lambda connection: connection.scalar(statement))
        return int(total or 0)

    async def group_counts(self, grouping: str, where: Where | None, first: int) -> Groups:
        """The ``first`` groups of the live rows ``where`` selects, with their counts
        (see :mod:`zoo.core.summaries` for the order): one ``GROUP BY``."""
        if not 0 <= first <= MAX_GROUPS:
            raise InvalidInput.for_field("first", f"must be between 0 and {MAX_GROUPS}")
        chosen = self.groupings[grouping]
        key = chosen.key(self.model)
        count = func.count()
        order = [key.desc()] if chosen.newest_first else [count.desc(), key.asc().nulls_last()]
        statement = (
            select(key, count)
            .where(self.model.deleted_at.is_(None), *self.where_clauses(None, where))
            .group_by(key)
            .order_by(*order)
            .limit(first)
        )

        def read(connection: Connection) -> Groups:
            return [(k, int(n)) for k, n in connection.execute(statement).all()]

        return await self.database.fetch(read)

    # Writes -------------------------------------------------------------------------

    async def create(self, data: BaseModel, actor: Actor | None = None) -> Any:
        """The new row, as a record."""
        values = data.model_dump()
        named = tuple(f for f in self.references if values.get(f) is not None)
        async with self.database.transaction() as session:
            await self.check_actor(session, actor, None, values)
            found = (await session.execute(self._insert(tuple(values), named), values)).first()
            if found is None:  # a referenced row is missing: which one, for the error
                await self.check_references(session, values)
                raise RuntimeError("an insert returned nothing, yet its references exist")
            row = records_of(self.model).make(found)
            given = [(f, None, v) for f, v in values.items() if v is not None]
            self._log(session, ChangeKind.CREATED, row._asdict(), actor, given)
        return row

    def _insert(self, fields: tuple[str, ...], named: tuple[str, ...]) -> Insert:
        """``INSERT ... RETURNING`` every column, the ``fields`` bound by name (the
        columns' defaults fill the rest); for the references in ``named``, from a
        ``SELECT`` of the live, share-locked rows they name (nothing is inserted if one
        is missing). Built once per set of fields and references."""
        key = (fields, named)
        statement = self._inserts.get(key)
        if statement is not None:
            return statement
        table = self.model.__table__
        returned = records_of(self.model).columns
        if not named:
            statement = insert(table).returning(*returned)
        else:
            targets = {f: self.references[f].model for f in named}
            source = select(
                *(
                    targets[f].id if f in targets else bindparam(f, type_=table.c[f].type)
                    for f in fields
                )
            ).where(
                *(t.id == bindparam(f, type_=table.c[f].type) for f, t in targets.items()),
                *(t.deleted_at.is_(None) for t in targets.values()),
            )
            statement = (
                insert(table)
                .from_select(fields, source.with_for_update(read=True))
                .returning(*returned)
            )
        self._inserts[key] = statement
        return statement

    async def update(self, id_: int, data: UpdateSchema, actor: Actor | None = None) -> M:
        changes = data.changes()
        async with self.database.transaction() as session:
            row = await self._get_or_raise(session, id_, for_update=True)
            before = {field: getattr(row, field) for field in changes}
            exhibit_before = getattr(row, "exhibit_id", None)
            await self.check_actor(session, actor, row, changes)
            await self.check_references(session, changes)
            for field, value in changes.items():
                setattr(row, field, value)
            await session.flush()
            changed = [
                (field, before[field], after)
                for field in changes
                if (after := getattr(row, field)) != before[field]
            ]
            self._log(session, ChangeKind.UPDATED, _columns(row), actor, changed, exhibit_before)
        return row

    async def delete(self, id_: int, actor: Actor | None = None) -> M:
        async with self.database.transaction() as session:
            row = await self._get_or_raise(session, id_, for_update=True)
            await self.check_delete(session, row)
            row.deleted_at = utcnow()
            await session.flush()
            deleted = [("deleted_at", None, row.deleted_at)]
            self._log(session, ChangeKind.DELETED, _columns(row), actor, deleted)
        return row

    async def restore(self, id_: int, actor: Actor | None = None) -> M:
        """Undo a soft delete: the row is live again, once every row it names is."""
        async with self.database.transaction() as session:
            statement = select(self.model).where(self.model.id == id_).with_for_update()
            row: M | None = await session.scalar(statement)
            if row is None:
                raise NotFound(self.entity_name, id_)
            if row.deleted_at is None:
                raise InvalidInput.for_field("id", f"{self.entity_name} {id_} is not deleted")
            await self.check_restore(session, row)
            deleted_at, row.deleted_at = row.deleted_at, None
            await session.flush()
            restored = [("deleted_at", deleted_at, None)]
            self._log(session, ChangeKind.RESTORED, _columns(row), actor, restored)
        return row

    async def check_restore(self, session: AsyncSession, row: M) -> None:
        """Refuse to bring back a row that names a deleted one (restore that first); the
        rows it names are share-locked until the commit, as a write's references are."""
        await self.check_references(session, _columns(row), "is deleted; restore it first")

    async def get_any(self, id_: int) -> Any | None:
        """The row, as a record, even if soft-deleted (what a DELETED event shows)."""
        return await self._record(self.model.id == id_)

    async def _record(self, *where: ColumnElement[bool]) -> Any | None:
        shape = records_of(self.model)

        def read(connection: Connection) -> Any:
            return connection.execute(shape.select().where(*where)).first()

        row = await self.database.fetch(read)
        return None if row is None else shape.make(row)

    def _log(
        self,
        session: AsyncSession,
        kind: ChangeKind,
        row: dict[str, Any],
        actor: Actor | None,
        fields: FieldChanges,
        exhibit_before: int | None = None,
    ) -> None:
        """Append the change to the change log with the session's commit, and announce it
        then (neither if the transaction rolls back)."""
        exhibit_after = row.get("exhibit_id")
        if exhibit_before == exhibit_after:
            exhibit_before = None
        touched = {exhibit_before, exhibit_after} - {None}
        change = Change(self.entity_name, kind, row["id"], tuple(sorted(touched)))  # type: ignore[arg-type]
        entry = Entry(
            entity=self.entity_name,
            kind=kind.value,
            entity_id=row["id"],
            at=utcnow(),
            actor_id=None if actor is None else actor.user_id,
            exhibit_id=exhibit_after,
            previous_exhibit_id=exhibit_before,
            row=row,
            fields=fields,
        )
        self.events.log_on_commit(session, change, entry)

    # Helpers ------------------------------------------------------------------------

    async def _get(self, session: AsyncSession, id_: int, for_update: bool = False) -> M | None:
        statement = self.live().where(self.model.id == id_)
        if for_update:
            statement = statement.with_for_update()
        row: M | None = await session.scalar(statement)
        return row

    async def _get_or_raise(self, session: AsyncSession, id_: int, for_update: bool = False) -> M:
        row = await self._get(session, id_, for_update)
        if row is None:
            raise NotFound(self.entity_name, id_)
        return row


def _columns(row: Any) -> dict[str, Any]:
    """An ORM row's columns, as the change log keeps them."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def _python_type(column: InstrumentedAttribute[Any]) -> type:
    python_type: type = column.property.columns[0].type.python_type
    return python_type
