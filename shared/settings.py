"""Settings for every process, read from `YIWANG_*` environment variables."""

from __future__ import annotations

import json
import os
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from shared.workdays import DEFAULT_OFFICE_HOURS, OfficeHours

DEV_JWT_SECRET = "yiwang-dev-secret-do-not-use-in-production"
DEV_FIELD_KEY = "yiwang-dev-field-key-do-not-use-in-production"
UPLOAD_MAX_BYTES = {"PHOTO": 20 << 20, "VIDEO": 200 << 20, "AUDIO": 50 << 20, "DOCUMENT": 30 << 20}
KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")  # stored in every ciphertext: no ':'
WORKING_SPAN = re.compile(r"^\s*\d+(\.\d+)?\s*[dh]\s*$")  # "2d" working days, "4h" working hours


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class InvalidSettings(SystemExit):
    """A process refuses to start: the message says which setting and why (never a secret)."""

    def __init__(self, message: str):
        super().__init__(f"refusing to start: {message}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIWANG_", extra="ignore")

    # Any case; no aliases: a value that is not one of these stops every process at start
    # rather than running a half-production system (`PROD` once ran with the dev secrets).
    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path(".yiwang")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # A service's own port for /healthz, /readyz and /metrics (shared/metrics.py); off when unset.
    # `yiwang up` gives the services the gateway's port + 1, + 2, … in the order of SERVICES.
    service_http_port: int | None = Field(default=None, ge=1, le=65535)
    # OpenTelemetry traces to this OTLP/HTTP collector (`http://collector:4318/v1/traces`); off when unset.
    otlp_endpoint: str | None = None
    nats_port: int = 4222
    mongo_port: int = 27017
    nats_url: str | None = None
    mongo_url: str | None = None
    # Appended to every database name, so tests and side-by-side stacks can share one server.
    db_suffix: str = ""

    # The internal key: services' own tokens and signed download links (never people's tokens).
    jwt_secret: str = DEV_JWT_SECRET
    # People's tokens (shared/identity.py): the issuer's JWKS (https:// or file://), and the `iss`
    # and `aud` its tokens carry. Unset, the development issuer under <data dir>/issuer/ signs them.
    jwks_url: str | None = None
    jwt_issuer: str = "yiwang"
    jwt_audience: str = "yiwang"
    issuer_key_file: Path | None = None  # the development issuer's private key (default <data dir>/issuer/key.pem)
    # Where a person's role comes from: `token` (its role, region, dept and member claims when it
    # has them, else the platform's role assignments) or `platform` (the assignments alone: for an
    # identity provider whose tokens say nothing, or something else, in those claims).
    role_source: Literal["token", "platform"] = "token"
    assignment_cache_s: float = Field(
        default=10.0, ge=0, le=600, description="a role assignment read for a sign-in is reused this long"
    )
    jwks_refresh_s: float = Field(
        default=300.0, ge=1, le=86400, description="the issuer's keys are read again this often"
    )
    jwks_cooldown_s: float = Field(
        default=30.0, ge=0, le=3600, description="a token naming an unknown key fetches the keys at most this often"
    )
    jwt_ttl_s: int = Field(default=12 * 3600, gt=0, description="lifetime of tokens `yiwang token` mints")
    jwt_max_ttl_s: int = Field(
        default=24 * 3600,
        ge=60,
        description="the longest lifetime (exp - iat) a token may claim; a longer-lived one is refused",
    )
    field_key: str = DEV_FIELD_KEY  # the current key that encrypts personal data at rest
    field_key_id: str = "k1"  # its id, stored with every ciphertext it writes
    # Earlier keys, id -> secret: they still decrypt (and find blind indexes) until
    # `yiwang rekey` has moved everything to the current key.
    old_field_keys: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    rpc_timeout_s: float = 5.0
    # mywork: how long myWork waits for each service's part before showing it as unavailable
    my_work_budget_s: float = Field(default=1.5, gt=0, le=30)
    # A transaction's whole time (waiting for a session, every command, its retries, the
    # commit); then it is ended and the caller gets UNAVAILABLE. The bound PyMongo puts on
    # with_transaction's retries alone (120 s), now on the commands too. Not shorter: a 500-case
    # import batch took over 30 s on a busy 2-core machine, and a report that outlives its
    # caller's patience still commits, so the client's retry gets its result.
    txn_timeout_s: float = Field(default=120.0, gt=0, le=600)
    # JetStream deliveries before a message goes to the dead-letter subject. Retries back off 0.2 s,
    # 0.4 s … 30 s (shared.messaging.consumer.backoff_s): 10 deliveries wait ~81 s in all, longer than a
    # service takes to come back after a kill under load (3.5–4.5 s in the fault table), so a consumer
    # that needs another service (the inbox asks cases for a case's audience) does not give up on an
    # event while it restarts; 5 waited 3 s and dead-lettered one in a CI run.
    max_deliver: int = 10
    # A message a consumer took and never acknowledged (its process died) is delivered again
    # after this; a handler must finish well within it. Tests of a kill use a short one.
    ack_wait_s: float = Field(default=60.0, ge=1, le=3600)
    duplicate_window_s: float = 600.0
    stream_replicas: int = 1  # 3 on a production JetStream cluster
    relay_poll_s: float = 1.0
    projector_settle_s: float = Field(default=0.1, ge=0, le=5)  # rollups trail the writes by about this
    locator_resync_s: float = 30.0

    # Each level's SLA in working time on the work calendar ("2d": working days of office
    # hours, "4h": working hours). `YIWANG_SLA_<LEVEL>_S`, when set, replaces it with wall-clock
    # seconds (tests and demonstrations use tiny ones). A category's own SLA wins over both.
    sla_building_working: str = "1d"  # building: a small matter settled in the building (小事不出楼栋)
    sla_grid_working: str = "2d"
    sla_community_working: str = "3d"
    sla_township_working: str = "5d"
    sla_county_working: str = "7d"
    sla_building_s: int | None = Field(default=None, gt=0)
    sla_grid_s: int | None = Field(default=None, gt=0)
    sla_community_s: int | None = Field(default=None, gt=0)
    sla_township_s: int | None = Field(default=None, gt=0)
    sla_county_s: int | None = Field(default=None, gt=0)
    sla_sweep_s: float = 60.0
    office_hours: str = DEFAULT_OFFICE_HOURS  # local time in YIWANG_TIMEZONE, on working days
    due_soon_share: float = Field(
        default=0.2, ge=0, lt=1, description="CASE_DUE_SOON when this share of a deadline's time is left; 0: never"
    )
    calendar_refresh_s: float = Field(
        default=5.0, gt=0, le=300, description="each cases replica re-reads the work calendar's version this often"
    )
    auto_close_s: int = 7 * 86400  # a RESOLVED case nobody rates closes after this long
    return_visit_s: int = Field(
        default=3 * 86400, ge=1, description="a return visit (回访) to a caller without an account is due within"
    )
    dup_radius_m: float = Field(
        default=100.0, le=100.0, description="possible duplicates: same category within this distance"
    )
    dup_window_s: int = 7 * 86400  # ... reported within this window

    org_weak_days: int = Field(default=90, ge=1, description="no organisational life this long: weak (软弱涣散 risk)")
    org_idle_branch_days: int = Field(  # committees
        default=60, ge=1, description="a branch outside the chain without 双报到 or service this long: idle (空转)"
    )
    org_transfer_deadline_days: int = Field(default=30, ge=1, description="membership transfers are overdue after")
    org_sweep_s: float = 600.0  # how often weak organisations and overdue transfers are looked for
    # visits:
    visit_sweep_s: float = Field(
        default=300.0, gt=0, description="how often households past their due visit are looked for"
    )
    # webhooks: delivery of events to registered URLs (services/notifications/webhooks)
    webhook_allow_private: bool | None = Field(
        default=None,
        description="webhook URLs may reach private, loopback and link-local addresses; unset: only outside production",
    )
    webhook_max_attempts: int = Field(default=8, ge=1, le=50, description="tries before a delivery is DEAD")
    webhook_backoff_base_s: float = Field(default=2.0, gt=0, description="ceiling of the first retry's delay")
    webhook_backoff_cap_s: float = Field(default=600.0, gt=0, description="the longest delay between two tries")
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60, description="a receiver's time to answer one try")
    # A try holds its slot for the receiver's answer and the write of its outcome (under load ~0.5 s):
    # a webhook with one event every ~100 ms needs several in flight to keep up.
    webhook_workers: int = Field(default=64, ge=1, le=256, description="deliveries in flight at once, per process")
    webhook_in_flight: int = Field(default=8, ge=1, le=32, description="deliveries in flight at once to one webhook")
    webhook_poll_s: float = Field(default=1.0, gt=0, description="how often due retries are looked for")
    webhook_lease_margin_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="past a try's timeout, before another process may take a delivery whose process died trying it",
    )

    points_per_hour: float = Field(default=1.0, ge=0, description="points credited per service hour")
    points_multipliers: dict[str, float] = Field(
        default_factory=dict, description='per post type, e.g. {"LEGAL_AID": 2}'
    )
    points_expiry_days: int = Field(default=365, ge=1)
    timezone: str = "Asia/Shanghai"  # days, weeks and months of trends and hotspots
    # notifications: the inbox, SMS and WeChat template messages (services/notifications)
    notify_max_age_s: float = Field(
        default=86400.0,
        ge=0,
        description="events older than this notify nobody (a new consumer reads from the start); 0: no limit",
    )
    notify_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="how often due SMS/WeChat messages are looked for"
    )
    notify_max_attempts: int = Field(
        default=8, ge=1, le=100, description="tries of one SMS/WeChat message before it is DEAD"
    )
    notify_send_timeout_s: float = Field(default=10.0, gt=0, le=120, description="one call to an SMS/WeChat provider")
    sms_provider: Literal["log", "http"] = "log"  # log: development (template code and a masked number)
    sms_url: str | None = None  # http: POST {to, template, params, idempotencyKey} here
    sms_token: str | None = None  # http: sent as `Authorization: Bearer <token>`
    wechat_provider: Literal["log", "http"] = "log"
    wechat_url: str | None = None
    wechat_token: str | None = None
    rpc_workers: int = Field(default=32, ge=1, le=1024)  # requests one process serves at once, per verb
    # deliberation: the shortest notice period (公示期) of a decision; a community may set a longer one
    notice_period_s: int = Field(
        default=7 * 86400, ge=1, description="a decision's public notice is open for objections at least this long"
    )

    @field_validator("env", mode="before")
    @classmethod
    def _known_env(cls, value: object) -> Environment:
        if isinstance(value, Environment):
            return value
        try:
            return Environment(str(value).strip().lower())
        except ValueError:
            raise ValueError(
                f"{value!r} is not one of {', '.join(e.value for e in Environment)} "
                "(in any case); refusing to guess which was meant"
            ) from None

    @field_validator("old_field_keys", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            parsed = json.loads(value) if value.strip() else {}  # empty: none
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise ValueError('must be a JSON object of key id to secret, e.g. {"k1": "…"}') from None
        return parsed

    @model_validator(mode="after")
    def _key_ring(self) -> Settings:
        for kid in (self.field_key_id, *self.old_field_keys):
            if not KEY_ID.fullmatch(kid):
                raise ValueError(f"field key id {kid!r} must be 1-32 letters, digits, '_', '.' or '-'")
        if not self.field_key or not all(self.old_field_keys.values()):
            raise ValueError("a field key may not be empty")
        old = self.old_field_keys.get(self.field_key_id)
        if old is not None and old != self.field_key:
            raise ValueError(
                f"YIWANG_OLD_FIELD_KEYS names {self.field_key_id!r}, the id of the current key "
                "YIWANG_FIELD_KEY, with another secret: give the new key a new id"
            )
        return self

    @field_validator(
        "sla_building_working",
        "sla_grid_working",
        "sla_community_working",
        "sla_township_working",
        "sla_county_working",
    )
    @classmethod
    def _working_span(cls, value: str) -> str:
        if not WORKING_SPAN.match(value) or not float(value.strip()[:-1]):
            raise ValueError(f"{value!r} is not a working-time SLA such as 2d (working days) or 4h (working hours)")
        return value.strip()

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, value: str) -> str:
        return str(OfficeHours.parse(value))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"YIWANG_TIMEZONE={value!r} is not an IANA time zone, e.g. Asia/Shanghai") from None
        return value

    @model_validator(mode="after")
    def _ttl_within_max(self) -> Settings:
        if self.jwt_ttl_s > self.jwt_max_ttl_s:
            raise ValueError(f"YIWANG_JWT_TTL_S={self.jwt_ttl_s} exceeds YIWANG_JWT_MAX_TTL_S={self.jwt_max_ttl_s}")
        return self

    points_only_credit_hours: bool = True  # back-filled hours earn no points
    volunteer_case_hours: float = Field(default=1.0, gt=0, le=24, description="hours credited for a resolved case")
    volunteer_sweep_s: float = 3600.0  # how often expired points are written off

    # Fault injection for crash tests only: e.g. "crash_after_commit".
    fault: str = ""

    log_level: str = "INFO"
    # `yiwang up` rotates each process's `<data>/logs/<name>.log` at this size, keeping this many.
    log_max_bytes: int = Field(default=10 << 20, ge=64 << 10)
    log_backups: int = Field(default=5, ge=1, le=100)
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 4000
    page_max: int = Field(default=100, description="largest `first` a connection accepts")

    # Bounded cost per request (gateway): see gateway/limits.py and gateway/document_limits.py.
    http_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="larger bodies: 413")
    http_max_header_bytes: int = Field(default=64 * 1024, ge=1024, description="request line + headers; over: 431")
    http_header_timeout_s: float = Field(default=10.0, gt=0, description="request line + headers must arrive within")
    http_body_timeout_s: float = Field(default=30.0, gt=0, description="the whole body must arrive within")
    http_keep_alive_s: float = Field(default=5.0, gt=0, description="an idle kept-alive connection is closed after")
    graphql_max_fields: int = Field(
        default=500, ge=1, description="field selections per document, fragments expanded; checked before validation"
    )
    graphql_max_repeats: int = Field(
        default=20, ge=1, description="times one response name may be selected in one selection set, fragments expanded"
    )
    graphql_cache_chars: int = Field(
        default=256 * 1024, ge=1024, description="query text whose parsed documents the gateway keeps (~165 bytes each)"
    )
    graphql_max_string_length: int = Field(default=5000, ge=1, description="characters in one string argument")
    graphql_max_list_items: int = Field(default=500, ge=1, description="items in one list argument")
    json_max_depth: int = Field(default=32, ge=4, description="nesting of a JSON body, message or argument")
    rate_limit_per_s: float = Field(default=20.0, ge=0, description="requests a second per principal; 0: no limit")
    rate_limit_burst: int = Field(default=100, ge=1, description="requests a principal may send at once")
    rate_limit_request_bytes: int = Field(
        default=4096, ge=256, description="a request costs one more per this many bytes of body"
    )
    # ... and on every request-reply payload a service is sent (shared/messaging/rpc.py).
    rpc_max_string_length: int = Field(default=8192, ge=64, description="characters in one string of a payload")
    rpc_max_items: int = Field(
        default=2000,
        ge=10,
        description="items of one list or members of one object in a payload (GeoJSON rings included)",
    )

    # Evidence files (attachments): where they are kept, how large, how many, how long a link lives.
    blob_store: str = Field(
        default="gridfs", pattern="^(gridfs|s3)$", description="gridfs (the MongoDB-wire store) or s3"
    )
    s3_endpoint: str = Field(default="", description="an S3-compatible endpoint URL; empty: AWS's own")
    s3_bucket: str = "yiwang-evidence"
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    upload_max_bytes: dict[str, int] = Field(
        default_factory=lambda: dict(UPLOAD_MAX_BYTES),
        description='largest file per kind, e.g. {"PHOTO": 20971520}; larger: BAD_INPUT',
    )
    attachments_per_record: int = Field(default=30, ge=1, le=1000, description="attachments one record may have")
    upload_timeout_s: float = Field(default=600.0, gt=0, description="an upload's whole body must arrive within")
    upload_rate_bytes: int = Field(
        default=1 << 20, ge=64 << 10, description="an upload costs one more request per this many bytes"
    )
    photo_max_pixels: int = Field(default=40_000_000, ge=1_000_000, description="larger images are refused")
    thumbnail_px: int = Field(default=320, ge=64, le=1024, description="long side of a photo's thumbnail")
    download_ttl_s: int = Field(default=600, ge=10, le=86400, description="a download link's lifetime")
    orphan_after_s: int = Field(
        default=900, ge=60, description="a stored file no record took is removed after this long"
    )
    orphan_sweep_s: float = Field(default=300.0, gt=0, description="how often the gateway looks for such files")
    public_url: str = Field(default="", description="the gateway's address in download links; empty: as called")
    # exports: spreadsheets made as jobs (gateway/exports), kept in the blob store for a while
    export_retention_s: int = Field(
        default=24 * 3600, ge=60, description="an export's file and job are deleted this long after it was asked for"
    )
    export_max_rows: int = Field(
        default=100_000, ge=1, le=1_000_000, description="cases one export may hold; a larger filter: BAD_INPUT"
    )
    export_jobs_per_person: int = Field(default=2, ge=1, le=20, description="exports one person may have unfinished")
    export_jobs_per_gateway: int = Field(default=2, ge=1, le=32, description="exports one gateway makes at once")
    export_lease_s: float = Field(
        default=60.0, ge=1, le=3600, description="an unfinished job not renewed this long was interrupted (FAILED)"
    )
    export_sweep_s: float = Field(default=60.0, gt=0, description="how often interrupted and expired exports go")
    # onboarding: files imported through the API (gateway/imports.py), kept for resuming
    import_retention_s: int = Field(
        default=72 * 3600, ge=60, description="an import's file and job are deleted this long after it was asked for"
    )
    import_jobs_per_gateway: int = Field(default=2, ge=1, le=16, description="imports one gateway runs at once")
    # funds: a community fund's spending above this many yuan waits for an admin above the community
    fund_approval_above: float = Field(
        default=5000.0, ge=0, le=10**10, description="spendings above this (yuan) wait for approval (费随事转)"
    )

    @model_validator(mode="after")
    def _orphans_after_uploads(self) -> Settings:
        if self.orphan_after_s <= self.upload_timeout_s:
            raise ValueError(
                f"YIWANG_ORPHAN_AFTER_S={self.orphan_after_s} must exceed YIWANG_UPLOAD_TIMEOUT_S="
                f"{self.upload_timeout_s:g}: a file still arriving is not an orphan"
            )
        return self

    @field_validator("upload_max_bytes")
    @classmethod
    def _per_kind(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(UPLOAD_MAX_BYTES))
        if unknown or any(v < 1 for v in value.values()):
            raise ValueError(f"keys are {', '.join(UPLOAD_MAX_BYTES)} and values positive byte counts")
        return {**UPLOAD_MAX_BYTES, **value}  # a kind left out keeps its default

    @property
    def production(self) -> bool:
        return self.env == Environment.PRODUCTION

    @property
    def webhooks_private_allowed(self) -> bool:  # webhooks:
        return self.webhook_allow_private if self.webhook_allow_private is not None else not self.production

    @property
    def field_keys(self) -> dict[str, str]:
        """Every configured field key, id -> secret; `field_key_id` is the one that writes."""
        return {**self.old_field_keys, self.field_key_id: self.field_key}

    @property
    def nats_servers(self) -> list[str]:
        """`YIWANG_NATS_URL` may list several cluster nodes, comma-separated."""
        if self.nats_url:
            return [u.strip() for u in self.nats_url.split(",") if u.strip()]
        return [f"nats://127.0.0.1:{self.nats_port}"]

    @property
    def mongo_uri(self) -> str:
        # The embedded server is a single node: retryable-write bookkeeping there costs more
        # than it protects. A MongoDB replica set given by URL keeps its own options.
        return self.mongo_url or (f"mongodb://127.0.0.1:{self.mongo_port}/?directConnection=true&retryWrites=false")

    @property
    def embedded_nats(self) -> bool:
        return self.nats_url is None

    @property
    def embedded_mongo(self) -> bool:
        return self.mongo_url is None

    def db_name(self, service: str) -> str:
        return f"yiwang_{service}{self.db_suffix}"

    def sla_seconds(self, level: str) -> int | None:
        """The level's wall-clock SLA when `YIWANG_SLA_<LEVEL>_S` is set, else None (working time)."""
        value = getattr(self, f"sla_{level.lower()}_s")
        return int(value) if value else None

    def sla_working(self, level: str) -> str:
        """The level's SLA in working time ("2d", "4h")."""
        return str(getattr(self, f"sla_{level.lower()}_working"))


def _problem(err: ErrorDetails) -> str:
    """One validation error as the variable it came from and what is wrong with it (pydantic
    would also echo the value, which may be a secret)."""
    message = str(err["msg"]).removeprefix("Value error, ")
    if not err["loc"]:
        return message
    return f"YIWANG_{str(err['loc'][0]).upper()}: {message}"


def load_settings() -> Settings:
    """The settings from the environment, or a refusal to start naming each bad one."""
    # Secrets as files (Kubernetes mounts a Secret's keys as files): a file named like the variable
    # (`YIWANG_JWT_SECRET`) in YIWANG_SECRETS_DIR; the environment still wins over a file.
    secrets = os.environ.get("YIWANG_SECRETS_DIR") or None
    if secrets is not None and not Path(secrets).is_dir():
        raise InvalidSettings(f"YIWANG_SECRETS_DIR: {secrets} is not a directory")
    try:
        return Settings(_secrets_dir=secrets)
    except ValidationError as e:
        raise InvalidSettings("; ".join(_problem(err) for err in e.errors())) from None
    except SettingsError as e:  # a value that is not the JSON its setting needs
        field = re.search(r'field "(\w+)"', str(e))
        name = f"YIWANG_{field.group(1).upper()}" if field else "a setting"
        raise InvalidSettings(f"{name} is not valid JSON (this setting takes a JSON object or list)") from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
