"""Settings for every process, read from `YIWANG_*` environment variables."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "yiwang-dev-secret-do-not-use-in-production"
DEV_FIELD_KEY = "yiwang-dev-field-key-do-not-use-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIWANG_", extra="ignore")

    env: str = "development"  # development | test | production
    data_dir: Path = Path(".yiwang")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    nats_port: int = 4222
    mongo_port: int = 27017
    nats_url: str | None = None
    mongo_url: str | None = None
    # Appended to every database name, so tests and side-by-side stacks can share one server.
    db_suffix: str = ""

    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "yiwang"
    jwt_ttl_s: int = 12 * 3600
    field_key: str = DEV_FIELD_KEY  # encrypts personal data at rest

    rpc_timeout_s: float = 5.0
    # A transaction's whole time (waiting for a session, every command, its retries, the
    # commit); then it is ended and the caller gets UNAVAILABLE. The bound PyMongo puts on
    # with_transaction's retries alone (120 s), now on the commands too. Not shorter: a 500-case
    # import batch took over 30 s on a busy 2-core machine, and a report that outlives its
    # caller's patience still commits, so the client's retry gets its result.
    txn_timeout_s: float = Field(default=120.0, gt=0, le=600)
    max_deliver: int = 5  # JetStream deliveries before a message goes to the dead-letter subject
    duplicate_window_s: float = 600.0
    stream_replicas: int = 1  # 3 on a production JetStream cluster
    relay_poll_s: float = 1.0
    projector_settle_s: float = Field(default=0.1, ge=0, le=5)  # rollups trail the writes by about this
    locator_resync_s: float = 30.0

    sla_grid_s: int = 2 * 86400
    sla_community_s: int = 3 * 86400
    sla_township_s: int = 5 * 86400
    sla_county_s: int = 7 * 86400
    sla_sweep_s: float = 60.0
    auto_close_s: int = 7 * 86400  # a RESOLVED case nobody rates closes after this long
    dup_radius_m: float = Field(default=100.0, le=100.0, description="possible duplicates: same category within this distance")
    dup_window_s: int = 7 * 86400  # ... reported within this window

    org_weak_days: int = Field(default=90, ge=1, description="no organisational life this long: weak (软弱涣散 risk)")
    org_transfer_deadline_days: int = Field(default=30, ge=1, description="membership transfers are overdue after")
    org_sweep_s: float = 600.0  # how often weak organisations and overdue transfers are looked for

    points_per_hour: float = Field(default=1.0, ge=0, description="points credited per service hour")
    points_multipliers: dict[str, float] = Field(default_factory=dict, description="per post type, e.g. {\"LEGAL_AID\": 2}")
    points_expiry_days: int = Field(default=365, ge=1)
    timezone: str = "Asia/Shanghai"  # days, weeks and months of trends and hotspots
    rpc_workers: int = Field(default=32, ge=1, le=1024)  # requests one process serves at once, per verb

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"YIWANG_TIMEZONE={value!r} is not an IANA time zone, e.g. Asia/Shanghai") from None
        return value
    points_only_credit_hours: bool = True  # back-filled hours earn no points
    volunteer_case_hours: float = Field(default=1.0, gt=0, le=24, description="hours credited for a resolved case")
    volunteer_sweep_s: float = 3600.0  # how often expired points are written off

    # Fault injection for crash tests only: e.g. "crash_after_commit".
    fault: str = ""

    log_level: str = "INFO"
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 4000
    page_max: int = Field(default=100, description="largest `first` a connection accepts")

    @property
    def production(self) -> bool:
        return self.env == "production"

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
        return self.mongo_url or (
            f"mongodb://127.0.0.1:{self.mongo_port}/?directConnection=true&retryWrites=false"
        )

    @property
    def embedded_nats(self) -> bool:
        return self.nats_url is None

    @property
    def embedded_mongo(self) -> bool:
        return self.mongo_url is None

    def db_name(self, service: str) -> str:
        return f"yiwang_{service}{self.db_suffix}"

    def sla_seconds(self, level: str) -> int:
        return int(getattr(self, f"sla_{level.lower()}_s"))


@lru_cache
def get_settings() -> Settings:
    return Settings()
