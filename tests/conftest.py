"""Fixtures: a fresh database per test (on SQLite and PostgreSQL), the emulator, the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.runtime import BotRuntime
from emulator import Emulator
from storage.clock import FakeClock
from storage.db import SessionFactory, create_engine, make_session_factory, unit_of_work
from storage.demo import DEMO_CHK_SECRET, load_demo_data
from tests.databases import PG_ENV, PostgresTemplate, SqliteTemplate, postgres_url
from tests.harness import Person

TOKEN = "123456:TEST-TOKEN"
STAFF_ID = 9001
ADMIN_ID = 9000
STAFF_CHAT_ID = -100900


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate | None]:
    url = postgres_url()
    if url is None:
        yield None
        return
    template = PostgresTemplate(url)
    yield template
    template.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: SqliteTemplate,
    postgres_template: PostgresTemplate | None,
) -> AsyncIterator[str]:
    """A migrated, empty database; the PostgreSQL run is skipped, with the reason, without a server."""
    if request.param == "sqlite":
        yield sqlite_template.fresh(tmp_path)
        return
    template = postgres_template
    if template is None:
        pytest.skip(
            f"PostgreSQL run skipped: {PG_ENV} is not set (python3 dev.py test sets it when 127.0.0.1:5432 answers)"
        )
    url, name = await template.fresh()
    yield url
    await template.drop(name)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[SessionFactory]:
    """A session factory on the test database, for service-level tests and assertions."""
    engine = create_engine(db_url)
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def session(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One transaction, committed at the end of the test (services flush, they do not commit)."""
    async with unit_of_work(sessions) as s:
        yield s


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = Emulator(token=TOKEN, port=0, smtp_port=0)  # with its local SMTP server: mails land in emu.mailbox
    await emu.start()
    emu.add_user(STAFF_ID, "Sam", username="sam_staff")
    emu.add_user(ADMIN_ID, "Ada", username="ada_admin")
    emu.add_group(STAFF_CHAT_ID, "Redemption staff", [STAFF_ID, ADMIN_ID])
    yield emu
    await emu.stop()


def make_settings(emulator: Emulator, db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "bot_api_base_url": emulator.api_base_url,
        "bot_api_file_url": emulator.file_base_url,
        "database_url": db_url,
        "media_dir": tmp_path / "media",
        "staff_user_ids": [STAFF_ID],
        "admin_user_ids": [ADMIN_ID],
        "staff_chat_id": STAFF_CHAT_ID,
        "chk_secret": DEMO_CHK_SECRET,
        # Telegram's pacing (1/s per chat, 20/min per group) is tested in test_outbox.py, the
        # replies' overall rate in test_replies.py; elsewhere it would only make the suite wait.
        "outbox_chat_interval_seconds": 0.0,
        "outbox_group_interval_seconds": 0.0,
        "reply_rate_per_second": 1000.0,
    }
    if emulator.mail_server is not None:  # its SMTP server (emulator/mailbox.py): codes are read from its mailbox
        values |= {
            "smtp_host": emulator.host,
            "smtp_port": emulator.smtp_port,
            "smtp_security": "none",
            "smtp_from": "Member Center <members@test.example>",
            "mail_poll_seconds": 0.05,
        }
    else:
        values["email_verification"] = "off"
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class BotHarness:
    """The emulator and a running bot process on one test database."""

    emulator: Emulator
    settings: Settings
    clock: FakeClock
    runtime: BotRuntime
    people: dict[int, Person] = field(default_factory=dict)

    @property
    def sessions(self) -> SessionFactory:
        assert self.runtime.services is not None
        return self.runtime.services.sessions

    def person(self, user_id: int, first_name: str, language_code: str = "en") -> Person:
        person = Person(self.emulator, user_id, first_name, language_code)
        self.people[user_id] = person
        return person

    async def restart(self) -> None:
        """Stops the bot process and starts a new one on the same database, as after a crash."""
        await self.runtime.stop()
        self.runtime = BotRuntime(self.settings, clock=self.clock, poll_timeout=1, timed_jobs=False)
        await self.runtime.start()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "quiet_staff_chat: the outbox (and the e-mail outbox) sends only on tick(), no low-codes warnings,"
        " the digest late in the day",
    )


@pytest.fixture
async def bot(
    request: pytest.FixtureRequest, emulator: Emulator, db_url: str, tmp_path: Path
) -> AsyncIterator[BotHarness]:
    """The real bot, polling the emulator over loopback HTTP, with demo data loaded.

    Tests marked `quiet_staff_chat` assert on the exact order of what the staff group sees:
    for them the outbox sends only when the test calls tick(), and the low-codes warning and
    the daily digest (due at 09:00 on the fake clock) stay out of the way."""
    quiet = request.node.get_closest_marker("quiet_staff_chat") is not None
    settings = make_settings(
        emulator, db_url, tmp_path, **({"low_codes_warning": 0, "digest_hour_utc": 23} if quiet else {})
    )
    clock = FakeClock()
    runtime = BotRuntime(
        settings,
        clock=clock,
        poll_timeout=1,
        timed_jobs=False,
        outbox_interval=None if quiet else 1.0,
        mail_interval=None if quiet else "settings",  # quiet: mails too go out only on tick()
    )
    await runtime.start()
    harness = BotHarness(emulator, settings, clock, runtime)
    async with unit_of_work(harness.sessions) as s:
        await load_demo_data(s)
    yield harness
    await harness.runtime.stop()
