"""Settings, read once from the environment (prefix ``ZOO_``) and validated at start-up."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from zoo.core.document_manifests import ManifestError, read_manifest

DEVELOPMENT_SECRET = "development-secret-do-not-use-in-production"  # noqa: S105
MIN_PRODUCTION_SECRET_LENGTH = 32
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/zoo.db"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def normalise_database_url(url: str) -> str:
    """Map the URL spellings people paste (Heroku-style ``postgres://``) onto the async drivers."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("must look like postgresql://user@host/db or sqlite:///path")
    drivers = {
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "postgresql+asyncpg": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
        "sqlite+aiosqlite": "sqlite+aiosqlite",
    }
    if scheme not in drivers:
        raise ValueError(f"unsupported database scheme {scheme!r}: use postgresql:// or sqlite://")
    return f"{drivers[scheme]}://{rest}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZOO_", extra="ignore", frozen=True)

    env: Environment = Field(Environment.DEVELOPMENT, description="development, test or production")
    database_url: str = Field(DEFAULT_DATABASE_URL, description="SQLite or PostgreSQL URL")
    secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET), description="Signs password-reset and verification tokens"
    )
    host: str = Field("127.0.0.1", description="Interface `zoo serve` binds")
    port: int = Field(8000, ge=1, le=65535, description="Port `zoo serve` binds")
    log_level: str = Field("info", description="Python logging level")
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or one JSON object per line"
    )
    slow_operation_ms: float = Field(
        1000,
        gt=0,
        description="A GraphQL operation slower than this is logged (a warning) with its "
        "duration and SQL statement count",
    )
    token_lifetime_seconds: int = Field(3600, ge=60, description="Lifetime of access tokens")
    session_cache_seconds: float = Field(
        10,
        ge=0,
        description="How long each process keeps a login it read (its token's user), so "
        "that a request with a token reads no row for it. Every logout, password, role "
        "or activation change through Zoo empties it of that user at once, on every "
        "instance; a change made around Zoo (SQL by hand) is seen within this time. "
        "0: read every time",
    )
    cookie_secure: bool | None = Field(
        None, description="Secure flag on the auth cookie (default: on in production)"
    )
    graphiql: bool | None = Field(None, description="Serve GraphiQL (default: off in production)")
    metrics: bool | None = Field(
        None, description="Serve Prometheus metrics at /metrics (default: off in production)"
    )
    registration: Literal["open", "invite", "closed"] | None = Field(
        None,
        description="Who may open an account: anyone (open: POST /auth/register makes an "
        "unverified VISITOR), those an ADMIN invites (invite), or nobody through the API "
        "(closed: only `zoo create-user`). Refused sign-ups and invitations answer 403 "
        "REGISTRATION_CLOSED. Default: invite in production, open elsewhere",
    )
    require_verified: bool = Field(
        False,
        description="Refuse logins of accounts whose e-mail address is not verified "
        "(400 LOGIN_USER_NOT_VERIFIED)",
    )
    smtp_url: SecretStr | None = Field(
        None,
        description="Mail server, smtp://user:pass@host:port (?starttls=true for STARTTLS) "
        "or smtps://... for TLS; unset: each mail is written to ZOO_MAIL_DIR instead",
    )
    mail_from: str = Field("Zoo <zoo@localhost>", description="The From of every mail")
    mail_dir: Path = Field(
        Path("data/mail"),
        description="Where mails are written as .eml files when ZOO_SMTP_URL is unset",
    )
    app_url: str | None = Field(
        None,
        description="The front end that mailed links open (its /accept-invitation, "
        "/reset-password and /verify pages, each given ?token=); unset: the API's own "
        "pages under /account/",
    )
    public_url: str | None = Field(
        None,
        description="This API's address as its users reach it, for links in mails "
        "(default: http://ZOO_HOST:ZOO_PORT); never taken from a request's Host header",
    )
    invitation_lifetime_seconds: int = Field(
        7 * 24 * 3600, ge=1, description="How long an invitation's link stays good"
    )
    reset_token_lifetime_seconds: int = Field(
        3600, ge=1, description="How long a password-reset link stays good"
    )
    verify_token_lifetime_seconds: int = Field(
        24 * 3600, ge=1, description="How long an e-mail verification link stays good"
    )
    account_mails_per_hour: int = Field(
        5,
        ge=1,
        description="Mails one e-mail address may be sent in an hour by sign-ups, reset "
        "and verification requests (429 past it, known and unknown addresses alike)",
    )
    mail_retry_max_seconds: float = Field(
        300,
        gt=0,
        description="Longest pause between attempts to send a mail the server refused "
        "for now (4xx) or could not be reached for; the pause doubles from a second",
    )
    mail_poll_seconds: float = Field(
        5,
        gt=0,
        description="How often each server process looks for mails to send that another "
        "process queued or that are due again",
    )
    api_docs: bool | None = Field(
        None,
        description="Serve the REST routes' OpenAPI description at /docs, /redoc and "
        "/openapi.json (default: off in production)",
    )
    debug: bool = Field(False, description="Show exception text in errors (development only)")
    introspection: bool | None = Field(
        None, description="Answer introspection queries (default: off in production)"
    )
    field_suggestions: bool | None = Field(
        None, description='"Did you mean ...?" in errors (default: off in production)'
    )
    fast_lists: bool = Field(
        True,
        description="Complete plain lists with the fast executor (off: graphql-core's own; "
        "answers are identical, only slower)",
    )
    max_depth: int = Field(10, ge=1, description="Deepest selection a query may have")
    max_aliases: int = Field(30, ge=0, description="Most aliases one document may use")
    max_tokens: int = Field(2000, ge=10, description="Most tokens one document may hold")
    max_selections: int = Field(
        2000,
        ge=10,
        description="Most field selections (and fragment spreads) once fragments are expanded",
    )
    max_fragments: int = Field(100, ge=0, description="Most fragments one document may define")
    max_field_pairs: int = Field(
        5000,
        ge=10,
        description="Most pairs of fields merged under one response path (each pair is "
        "compared by validation, so this bounds its quadratic work)",
    )
    max_cost: int = Field(150_000, ge=1, description="Largest estimated query cost")
    max_response_items: int = Field(
        50_000,
        ge=1,
        description="Most list items one operation may return, counted as it runs "
        "(holds when the cost estimate is wrong)",
    )
    max_response_bytes: int = Field(
        50_000_000, ge=1024, description="Largest response body over HTTP"
    )
    trusted_documents: str = Field(
        "",
        description="Manifests ({hash: document}, comma-separated paths) of the only "
        "operations the API runs; unset: any",
    )
    trusted_documents_allow_admin_text: bool = Field(
        False, description="With trusted documents, still run an ADMIN's own query text"
    )
    compression: bool = Field(
        True,
        description="Compress answers (zstd, br, gzip) as Accept-Encoding asks; never streams",
    )
    compress_min_bytes: int = Field(
        1024, ge=0, description="Smallest answer body compressed, in bytes"
    )
    cost_in_extensions: bool | None = Field(
        None,
        description="Answer each operation's estimated cost and the limit in "
        "`extensions.cost` (default: on in development only)",
    )
    list_size_estimate: int = Field(
        20,
        ge=1,
        description="Items assumed per list without `first` whose size the data does not "
        "tell (introspection), for the cost estimate",
    )
    list_sizes_max_age: float = Field(
        60.0,
        ge=0,
        description="Seconds the largest size of each nested list (the most animals in one "
        "exhibit) is reused by the cost estimate before every group is counted again "
        "(growth through the API is counted at once)",
    )
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest request body")
    body_timeout_seconds: float = Field(
        10.0, gt=0, description="Time a request body may take to arrive (408 after)"
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Time a request's headers may take to arrive before `zoo serve` "
        "drops the connection",
    )
    max_header_bytes: int = Field(
        65_536,
        ge=1024,
        description="Largest request line and headers together; past it `zoo serve` answers "
        "431 and drops the connection",
    )
    send_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Time `zoo serve` waits for a client that takes nothing of a response "
        "before it drops the connection",
    )
    ws_ping_seconds: float = Field(
        20.0,
        gt=0,
        description="`zoo serve` pings each WebSocket this often and closes one whose client "
        "has not answered within as long",
    )
    shutdown_timeout_seconds: int = Field(
        20,
        gt=0,
        description="On SIGTERM, how long `zoo serve` lets requests in flight finish "
        "before it cuts them and exits",
    )
    keep_alive_seconds: int = Field(
        5, ge=1, description="Idle time `zoo serve` keeps a connection open between requests"
    )
    max_query_length: int = Field(
        20_000, ge=100, description="Longest query text, refused before parsing"
    )
    graphql_cache_seconds: int = Field(
        0,
        ge=0,
        description="How long a shared cache (a CDN, a proxy) may keep an anonymous answer "
        "to a query over GET, without errors (Cache-Control: public, max-age); 0: not at "
        "all (no-store). Answers to a login are never kept",
    )
    persisted_queries_characters: int = Field(
        2_000_000,
        ge=0,
        description="Characters of query text remembered for automatic persisted queries, "
        "least recently used first out, by each process or, with ZOO_REDIS_URL, shared "
        "(0: none, and clients are told PERSISTED_QUERY_NOT_SUPPORTED)",
    )
    db_connect_timeout: float = Field(
        5, gt=0, description="Seconds to open a PostgreSQL connection before giving up (503)"
    )
    db_statement_timeout: float = Field(
        15, gt=0, description="Seconds one statement may take before it is stopped (503)"
    )
    db_plan_cache_mode: Literal["force_generic_plan", "auto", "server"] = Field(
        "force_generic_plan",
        description="PostgreSQL's plan_cache_mode for Zoo's connections: each statement "
        "planned once per connection (force_generic_plan), or as the server decides "
        "(auto: planned again on every execution where a parameter might change the "
        "plan; server: the server's own setting, no startup parameter sent)",
    )
    db_pool_size: int = Field(
        10,
        ge=1,
        description="Database connections each server process keeps open; as many again "
        "may open for a burst, and close when it is over",
    )
    db_pool_timeout: float = Field(
        5, gt=0, description="Seconds to wait for a free pooled connection before giving up (503)"
    )
    health_timeout_seconds: float = Field(
        2, gt=0, description="Seconds /health waits for the database before answering 503"
    )
    events: Literal["auto", "memory", "postgres"] = Field(
        "auto",
        description="Subscription broker: in-process, or PostgreSQL LISTEN/NOTIFY across "
        "instances (auto: PostgreSQL when the database is; postgres needs it to be)",
    )
    max_subscriptions: int = Field(
        2000, ge=1, description="Most subscriptions open at once in one server process"
    )
    max_subscriptions_per_socket: int = Field(
        20, ge=1, description="Most operations one WebSocket may run at once"
    )
    max_sockets_per_address: int = Field(
        20,
        ge=1,
        description="Most WebSockets and HTTP subscription streams open at once from one "
        "client address",
    )
    max_refusals_per_minute: int = Field(
        30,
        ge=1,
        description="Documents over a limit (size, depth, aliases, cost, response size) one "
        "client address may send in a minute; past it, its GraphQL requests get 429 unread",
    )
    stream_send_timeout_seconds: float = Field(
        30,
        gt=0,
        description="Time an HTTP subscription stream waits for a client that stopped "
        "reading before it ends the stream",
    )
    stream_heartbeat_seconds: float = Field(
        15,
        gt=0,
        description="Idle time after which an HTTP subscription stream sends a heartbeat "
        "(an SSE comment, an empty multipart part), so that proxies keep it open",
    )
    subscriptions_require_login: bool = Field(
        False,
        description="Refuse WebSocket connections and HTTP subscription streams without a "
        "logged-in user",
    )
    event_queue_size: int = Field(
        1000, ge=1, description="Events a slow subscriber may have waiting before it is cut off"
    )
    history_days: int = Field(
        90,
        ge=0,
        description="Days the change log keeps each change (history, resumable "
        "subscriptions); 0 keeps every change",
    )
    history_prune_seconds: float = Field(
        3600, gt=0, description="How often the server prunes the change log"
    )
    resume_max_events: int = Field(
        10_000,
        ge=1,
        description="Most changes a subscription resuming with `after` is replayed; "
        "further behind is EVENTS_MISSED",
    )
    redis_url: str | None = Field(
        None,
        description="Redis for login rate limits shared by every process "
        "(default: each process counts its own)",
    )
    trusted_proxies: str = Field(
        "",
        description="Addresses (comma-separated IPs or networks) of the proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto `zoo serve` believes; none by default",
    )
    cors_origins: str = Field(
        "",
        description="Origins (comma-separated, e.g. https://app.example, or *) whose pages "
        "may call the API from a browser with a bearer token; none by default",
    )
    login_attempts_per_minute: int = Field(
        10,
        ge=1,
        description="Login attempts per client address and per email; sign-ups per address",
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        return normalise_database_url(value.strip())

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        if not value.strip().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value.strip()

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().strip().startswith(("smtp://", "smtps://")):
            raise ValueError("must be an smtp:// or smtps:// URL")
        return value

    @field_validator("app_url", "public_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.fullmatch(r"https?://[^\s?#]+", value.strip()):
            raise ValueError("must be an http:// or https:// URL, with no query or fragment")
        return value.strip().rstrip("/")

    @field_validator("cors_origins")
    @classmethod
    def _bare_origins(cls, value: str) -> str:
        """A browser's ``Origin`` is a scheme and a host (and port), nothing more: one
        written with a path or a trailing slash would silently never match."""
        origins = [origin.strip() for origin in value.split(",") if origin.strip()]
        for origin in origins:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme://host[:port], with no path or slash"
                )
        return ",".join(origins)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}:
            raise ValueError("must be one of critical, error, warning, info, debug")
        return level

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            secret = self.secret.get_secret_value()
            if secret == DEVELOPMENT_SECRET or len(secret) < MIN_PRODUCTION_SECRET_LENGTH:
                raise ValueError(
                    "ZOO_SECRET must be set to a random value of at least "
                    f"{MIN_PRODUCTION_SECRET_LENGTH} characters when ZOO_ENV=production "
                    "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return self

    @model_validator(mode="after")
    def _postgres_events_need_postgres(self) -> Settings:
        if self.events == "postgres" and self.is_sqlite:
            raise ValueError(
                "ZOO_EVENTS=postgres needs a PostgreSQL database: changes are announced by "
                "the transactions that make them"
            )
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return self.cors_origins.split(",") if self.cors_origins else []

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def sqlite_path(self) -> Path | None:
        """The database file, or None for PostgreSQL and in-memory SQLite."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1].split("?", 1)[0]
        return None if path in {"", ":memory:"} else Path(path)

    @property
    def secure_cookies(self) -> bool:
        return self.is_production if self.cookie_secure is None else self.cookie_secure

    @property
    def registration_mode(self) -> Literal["open", "invite", "closed"]:
        if self.registration is None:
            return "invite" if self.is_production else "open"
        return self.registration

    @property
    def registration_open(self) -> bool:
        return self.registration_mode == "open"

    @property
    def invitations_open(self) -> bool:
        return self.registration_mode != "closed"

    @property
    def own_url(self) -> str:
        """Where this API's own pages are, for links in mails."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def api_docs_enabled(self) -> bool:
        return not self.is_production if self.api_docs is None else self.api_docs

    @property
    def metrics_enabled(self) -> bool:
        return not self.is_production if self.metrics is None else self.metrics

    @property
    def trusted_document_paths(self) -> list[Path]:
        return [Path(p.strip()) for p in self.trusted_documents.split(",") if p.strip()]

    @model_validator(mode="after")
    def _trusted_documents_can_be_trusted(self) -> Settings:
        """A manifest that cannot be read or trusted stops the server at start."""
        for path in self.trusted_document_paths:
            try:
                read_manifest(path)
            except ManifestError as exc:
                raise ValueError(f"ZOO_TRUSTED_DOCUMENTS: {exc}") from None
        return self

    @property
    def cost_in_extensions_enabled(self) -> bool:
        if self.cost_in_extensions is None:
            return self.env is Environment.DEVELOPMENT
        return self.cost_in_extensions

    @property
    def graphiql_enabled(self) -> bool:
        return not self.is_production if self.graphiql is None else self.graphiql

    @property
    def events_through_postgres(self) -> bool:
        return self.events == "postgres" or (self.events == "auto" and not self.is_sqlite)

    @property
    def introspection_enabled(self) -> bool:
        return not self.is_production if self.introspection is None else self.introspection

    @property
    def field_suggestions_enabled(self) -> bool:
        if self.field_suggestions is None:
            return not self.is_production
        return self.field_suggestions

    @property
    def show_error_details(self) -> bool:
        return self.debug and self.env is Environment.DEVELOPMENT
