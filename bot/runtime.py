"""Starts and stops everything one bot process runs: database, application, updates source."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update

from bot.application import BotApplication, build_application
from bot.commands_menu import publish_commands
from bot.config import Settings
from bot.followups import run_followups
from bot.inbox import prune_processed_updates
from bot.mailer import Mailer
from bot.outbox import OutboxDispatcher
from bot.polling import Poller
from bot.reminders import send_due_reminders
from bot.retention import remove_orphan_media
from bot.retention import run_retention as retain_photos
from bot.services import Services
from bot.webhook import webhook_app
from locales.i18n import Translator
from staff import register_outbox
from staff.draw import run_draw_deadlines
from storage import migrate
from storage.clock import Clock, SystemClock
from storage.db import create_engine, make_session_factory, optimize
from storage.media import MediaStore

log = logging.getLogger(__name__)
Mode = Literal["polling", "webhook"]


@dataclass
class BotRuntime:
    """One bot process. `start()` returns once updates flow; `stop()` undoes it in reverse."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    poll_timeout: int = 10
    services: Services | None = None
    application: BotApplication | None = None
    migrate_in_child: bool = False  # `bot run`: migrate in a child process, so Alembic never stays in memory
    outbox_interval: float | Literal["settings"] | None = (
        "settings"  # seconds between idle looks (OUTBOX_POLL_SECONDS); None: tests drain with tick()
    )
    mail_interval: float | Literal["settings"] | None = "settings"  # MAIL_POLL_SECONDS; None: tests drain with tick()
    reminder_interval: float = 60.0
    retention_interval: float = 24 * 3600.0  # photo retention (bot/retention.py): once a day
    timed_jobs: bool = True  # reminders, follow-ups: tests turn them off and call tick() with a fake clock
    _site_runner: web.AppRunner | None = None
    _dispatcher: OutboxDispatcher | None = None
    mailer: Mailer | None = None  # the e-mail channel, when SMTP is configured
    _poller: Poller | None = None
    _workers: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self, mode: Mode = "polling") -> None:
        try:
            await self._start(mode)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, mode: Mode) -> None:
        settings = self.settings
        if self.migrate_in_child:
            await migrate.upgrade_in_child(settings.database_url)
        else:
            await migrate.upgrade(settings.database_url)
        engine = create_engine(settings.database_url, settings.database_pool)
        self.services = Services(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            translator=Translator(settings.default_language),
            clock=self.clock,
            media=MediaStore(settings.media_dir),
        )
        await optimize(self.services.sessions)  # SQLite's planner statistics before the first update
        if removed := await remove_orphan_media(self.services):  # what a killed process left behind
            log.info("removed %d orphaned media file(s)", removed)
        self.application = application = build_application(self.services)
        await application.initialize()
        await publish_commands(application.bot, self.services.translator, settings.staff_chat_id)
        await application.start()
        if mode == "webhook":
            await self._start_webhook(application)
        else:
            await application.bot.delete_webhook()
            self._poller = Poller(application, self.services.sessions, self.clock, self.poll_timeout)
            self._poller.start()
        self._dispatcher = OutboxDispatcher(self.services, application.bot, settings.process_name(mode))
        register_outbox(self._dispatcher)
        self._workers = []
        if self.outbox_interval is not None:
            interval = settings.outbox_poll_seconds if self.outbox_interval == "settings" else self.outbox_interval
            self._workers.append(asyncio.create_task(self._every(interval, self._dispatcher.drain_once), name="outbox"))
        if settings.mail_enabled:
            self.mailer = Mailer(self.services)
            if self.mail_interval is not None:
                every = settings.mail_poll_seconds if self.mail_interval == "settings" else self.mail_interval
                self._workers.append(asyncio.create_task(self._every(every, self.mailer.drain_once), name="mail"))
        if self.timed_jobs:
            self._workers += [
                asyncio.create_task(self._every(self.reminder_interval, self._remind), name="reminders"),
                asyncio.create_task(self._every(self.reminder_interval, self._follow_up), name="followups"),
                asyncio.create_task(self._every(self.reminder_interval, self._draw_deadlines), name="draw-deadlines"),
                asyncio.create_task(self._every(self.retention_interval, self.run_retention), name="retention"),
                asyncio.create_task(self._every(3600.0, self._prune_updates), name="processed-updates"),
            ]
        log.info("bot @%s is running (%s)", application.bot.username, mode)

    async def _remind(self) -> int:
        assert self.services is not None
        return await send_due_reminders(self.services)

    async def _follow_up(self) -> int:
        assert self.services is not None
        return await run_followups(self.services)

    async def _draw_deadlines(self) -> int:
        """Lucky-draw winners who did not claim in time give way to reserves (storage/draw.py)."""
        assert self.services is not None
        return await run_draw_deadlines(self.services)

    async def _prune_updates(self) -> int:
        """Forgets processed update ids Telegram can no longer redeliver (older than two days)."""
        assert self.services is not None
        return await prune_processed_updates(self.services)

    async def run_retention(self) -> int:
        """Deletes the photos of claims decided longer ago than PHOTO_RETENTION_DAYS."""
        assert self.services is not None
        return await retain_photos(self.services)

    @staticmethod
    async def _every(seconds: float, job: Callable[[], Awaitable[int]]) -> None:
        """Runs a background job forever; a failure is logged and the loop goes on."""
        while True:
            try:
                await job()
            except Exception:
                log.exception("background job %s failed", getattr(job, "__name__", job))
            await asyncio.sleep(seconds)

    async def tick(self) -> None:
        """Runs the background jobs once now (tests call this after moving the fake clock)."""
        assert self._dispatcher is not None
        await self._remind()
        await self._follow_up()
        await self._draw_deadlines()
        await self.run_retention()
        if self.mailer is not None:
            await self.mailer.drain_once()
        await self._dispatcher.drain_once()

    async def _start_webhook(self, application: BotApplication) -> None:
        public_url, secret = self.settings.require_webhook()
        assert self.services is not None
        path = urlsplit(public_url).path or "/telegram"
        app = webhook_app(application, secret=secret, path=path, sessions=self.services.sessions)
        self._site_runner = web.AppRunner(app, access_log=None)
        await self._site_runner.setup()
        host, port = self.settings.listen_host_port
        await web.TCPSite(self._site_runner, host, port).start()
        await application.bot.set_webhook(public_url, secret_token=secret, allowed_updates=Update.ALL_TYPES)

    async def stop(self) -> None:
        """Stops taking updates, lets running handlers finish, finishes the outbox's sends in
        flight and gives its lease up (so a restart sends on at once), then closes the database."""
        if self._poller is not None:  # the batch in hand is finished, then confirmed
            await self._poller.stop()
            self._poller = None
        if self._dispatcher is not None:
            with contextlib.suppress(Exception):  # the database may be what failed
                await self._dispatcher.stop()
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        application = self.application
        if application is not None:
            if self._site_runner is not None:
                await self._site_runner.cleanup()
            if application.running:
                await application.stop()
            with contextlib.suppress(RuntimeError):  # never initialized: nothing to shut down
                await application.shutdown()
        if self.services is not None:
            await self.services.engine.dispose()
        self.application = None
