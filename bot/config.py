"""One typed settings object, read from the environment and an optional `.env` file."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.db import PoolLimits

TELEGRAM_API_URL = "https://api.telegram.org/bot"
TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{5,}$")
_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming the variable."""


def _int_list(value: object) -> list[int]:
    """Accepts `1,2,3` (what people type into .env files) as well as a list."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [int(part) for part in value.replace(" ", "").split(",") if part]
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value] if isinstance(value, list | tuple | set) else [int(str(value))]


class Settings(BaseSettings):
    """Every knob of the bot; README's "Settings" table lists the same names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    bot_api_base_url: str = TELEGRAM_API_URL
    bot_api_file_url: str = TELEGRAM_FILE_URL
    bot_api_pool_size: int = Field(default=128, ge=1)  # Bot API requests in flight at once (getUpdates has its own)
    bot_api_pool_timeout_seconds: float = Field(default=10.0, gt=0)  # a request waits this long for a free connection
    bot_api_proxy: str | None = None  # e.g. http://proxy:3128: every Bot API request goes through it
    bot_api_trust_env: bool = False  # honour HTTPS_PROXY/NO_PROXY and ~/.netrc (looked up on every request)
    database_url: str = "sqlite+aiosqlite:///./data/bot.db"
    database_pool_size: int = Field(default=10, ge=1)  # PostgreSQL connections kept per process (SQLite: always one)
    database_max_overflow: int = Field(default=20, ge=0)  # PostgreSQL connections opened beyond that under load
    database_pool_timeout_seconds: float = Field(default=30.0, gt=0)  # an update waits this long for a connection
    media_dir: Path = Path("./data/media")
    staff_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    staff_chat_id: int | None = None
    default_language: str = "en"
    webhook_listen: str = "0.0.0.0:8080"
    webhook_public_url: str | None = None
    webhook_secret: SecretStr | None = None
    reminder_delay_hours: float = Field(default=24.0, gt=0)
    digest_hour_utc: int = Field(default=8, ge=0, le=23)
    low_codes_warning: int = Field(default=20, ge=0)
    # Telegram's ~30 messages/s, split: replies get their own share, so announcements never delay them
    reply_rate_per_second: float = Field(default=20.0, gt=0)  # direct replies, all chats together (bot/replies.py)
    outbox_rate_per_second: float = Field(default=10.0, gt=0)  # announcements, all processes together (bot/pacing.py)
    outbox_chat_interval_seconds: float = Field(default=1.0, ge=0)
    outbox_group_interval_seconds: float = Field(default=3.0, ge=0)
    outbox_poll_seconds: float = Field(default=0.5, gt=0)  # how often an idle outbox looks for due messages
    outbox_heartbeat_seconds: float = Field(default=2.0, gt=0)  # how often the sender renews its lease
    outbox_lease_seconds: float = Field(default=10.0, gt=0)  # a sender silent this long is taken over
    instance_name: str | None = None  # unique per bot process; default: host name and mode/port
    chk_secret: SecretStr | None = None
    privacy_policy_url: str = "https://example.com/privacy"
    photo_retention_days: int = Field(default=365, ge=0)  # photos of decided claims; 0 keeps them forever
    payout_retention_days: int = Field(default=90, ge=0)  # payout details after the payment (0: erased at once)
    log_level: str = "INFO"
    # e-mail (bot/mailer.py): verification codes and opt-in copies of decisions, see README "E-mail"
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)  # default: 587 starttls, 465 tls, 25 none
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None  # the sender, e.g. "Member Center <members@example.com>"
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    email_verification: Literal["on", "off"] = "on"  # off: addresses are taken as typed (README says the cost)
    email_code_minutes: float = Field(default=15.0, gt=0)  # how long a verification code is valid
    mail_poll_seconds: float = Field(default=0.5, gt=0)  # how often an idle e-mail outbox looks for due mails

    @field_validator("staff_user_ids", "admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> list[int]:
        return _int_list(value)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN_SHAPE.match(value.get_secret_value()):
            raise ValueError("expected the form 123456:ABC-DEF… that @BotFather gives")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET_SHAPE.match(value.get_secret_value()):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        from locales import available_languages

        if value not in available_languages():
            raise ValueError(f"one of {', '.join(available_languages())}")
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("expected HOST:PORT, e.g. 0.0.0.0:8080")
        return value

    @property
    def token(self) -> str:
        """The bot token, or a clear error when a command needs one and none is set."""
        if self.bot_token is None:
            raise ConfigError("BOT_TOKEN: not set (get one from @BotFather)")
        return self.bot_token.get_secret_value()

    @property
    def listen_host_port(self) -> tuple[str, int]:
        host, _, port = self.webhook_listen.rpartition(":")
        return host, int(port)

    def process_name(self, mode: str) -> str:
        """Who this process is in the outbox lease: stable across restarts, so a process that
        starts again takes its own lease (and its in-flight messages) back at once."""
        if self.instance_name:
            return self.instance_name
        where = f"webhook:{self.listen_host_port[1]}" if mode == "webhook" else "polling"
        return f"{socket.gethostname()}:{where}"

    @property
    def database_pool(self) -> PoolLimits:
        return PoolLimits(self.database_pool_size, self.database_max_overflow, self.database_pool_timeout_seconds)

    @property
    def staff_ids(self) -> frozenset[int]:
        """Admins are staff too."""
        return frozenset(self.staff_user_ids) | frozenset(self.admin_user_ids)

    @property
    def mail_enabled(self) -> bool:
        """An SMTP server is configured: codes and decision copies can be mailed."""
        return bool(self.smtp_host and self.smtp_from)

    @property
    def verify_email(self) -> bool:
        """Only a verified address may redeem (EMAIL_VERIFICATION=on, the default)."""
        return self.email_verification == "on"

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or {"starttls": 587, "tls": 465, "none": 25}[self.smtp_security]

    def require_mail(self) -> None:
        """`run` needs an SMTP server unless verification is switched off explicitly."""
        if not self.verify_email:
            return
        for name in ("smtp_host", "smtp_from"):
            if not getattr(self, name):
                raise ConfigError(
                    f"{name.upper()}: not set (e-mail verification sends codes over SMTP; "
                    "set the SMTP_* settings, or EMAIL_VERIFICATION=off to run without it)"
                )

    def require_webhook(self) -> tuple[str, str]:
        """Public URL and secret, both required in webhook mode."""
        if not self.webhook_public_url:
            raise ConfigError("WEBHOOK_PUBLIC_URL: not set (needed for --webhook)")
        if self.webhook_secret is None:
            raise ConfigError("WEBHOOK_SECRET: not set (needed for --webhook)")
        return self.webhook_public_url, self.webhook_secret.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Reads the settings or raises ConfigError with one line per the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "SETTINGS"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
