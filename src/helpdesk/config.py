"""Settings from environment variables, read once into one typed object."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_DATABASE_URL = "postgresql+psycopg://127.0.0.1:5432/helpdesk"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _dev_secret() -> str:
    # A stable per-checkout secret so `make run` sessions survive restarts without
    # configuration; production sets SECRET_KEY explicitly.
    path = PROJECT_ROOT / "var" / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    redis_namespace: str = "helpdesk"
    secret_key: str = field(default="", repr=False)
    base_url: str = "http://127.0.0.1:8000"
    storage_url: str = ""
    clamd_url: str | None = None
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str | None = None  # MAIL_FROM; default "Helpdesk <helpdesk@{BASE_URL host}>"
    inbound_email_secret: str | None = field(default=None, repr=False)
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    debug: bool = False

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        return cls(
            database_url=e.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=e.get("REDIS_URL", DEFAULT_REDIS_URL),
            redis_namespace=e.get("REDIS_NAMESPACE", "helpdesk"),
            secret_key=e.get("SECRET_KEY") or _dev_secret(),
            base_url=e.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            storage_url=e.get("STORAGE_URL", f"file://{PROJECT_ROOT / 'var' / 'attachments'}"),
            clamd_url=e.get("CLAMD_URL") or None,
            smtp_url=e.get("SMTP_URL") or None,
            mail_from=e.get("MAIL_FROM") or None,
            inbound_email_secret=e.get("INBOUND_EMAIL_SECRET") or None,
            oidc_issuer=e.get("OIDC_ISSUER") or None,
            oidc_client_id=e.get("OIDC_CLIENT_ID") or None,
            oidc_client_secret=e.get("OIDC_CLIENT_SECRET") or None,
            debug=e.get("HELPDESK_DEBUG", "") == "1",
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
