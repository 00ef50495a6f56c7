"""`python -m bot demo`: the emulator, the bot pointed at it, demo data, a browser page.

The demo keeps what it did in `./data` (the bot's database and media, the emulator's chats and
files), so a restart carries on where it stopped; `--reset` starts clean.
"""

from __future__ import annotations

import errno
import logging
import shutil
from pathlib import Path

from bot.config import Settings
from bot.runtime import BotRuntime
from emulator import Emulator
from emulator.persist import StateKeeper
from storage.clock import SystemClock
from storage.db import unit_of_work
from storage.demo import DEMO_CHK_SECRET, load_demo_showcase

log = logging.getLogger(__name__)
DEMO_TOKEN = "123456:DEMO-TOKEN"
CUSTOMERS = ((1001, "Alice", "en"), (1002, "Bao", "zh-hant"))
STAFF_USER_ID = 9001
STAFF_GROUP_ID = -1009001
DEMO_SENDER = "Member Center <members@demo.example>"
DATA_DIR = Path("data")
DEMO_DATABASE = DATA_DIR / "demo.db"
DEMO_MEDIA = DATA_DIR / "demo-media"
EMULATOR_DIR = DATA_DIR / "demo-emulator"


class DemoError(Exception):
    """The demo could not start; the message is the one line the operator sees."""


def demo_settings(settings: Settings, emulator: Emulator) -> Settings:
    """The operator's settings, pointed at the emulator and a demo database of its own."""
    overrides: dict[str, object] = {
        "bot_token": DEMO_TOKEN,
        "bot_api_base_url": emulator.api_base_url,
        "bot_api_file_url": emulator.file_base_url,
        "staff_user_ids": [STAFF_USER_ID],
        "admin_user_ids": [STAFF_USER_ID],
        "staff_chat_id": STAFF_GROUP_ID,
        # the emulator's own SMTP server: codes and copies land in its mailbox page
        "smtp_host": emulator.host,
        "smtp_port": emulator.smtp_port,
        "smtp_security": "none",
        "smtp_username": None,
        "smtp_password": None,
        "smtp_from": DEMO_SENDER,
    }
    if settings.chk_secret is None:
        overrides["chk_secret"] = DEMO_CHK_SECRET
    if "database_url" not in settings.model_fields_set:
        overrides["database_url"] = f"sqlite+aiosqlite:///./{DEMO_DATABASE.as_posix()}"
    if "media_dir" not in settings.model_fields_set:
        overrides["media_dir"] = f"./{DEMO_MEDIA.as_posix()}"
    return Settings(**{**settings.model_dump(), **overrides})


def reset(settings: Settings) -> list[str]:
    """Removes what earlier demo runs kept; returns what was removed. A DATABASE_URL or MEDIA_DIR
    the operator set is never the demo's to delete."""
    removed: list[str] = []
    targets = [EMULATOR_DIR]
    if "database_url" not in settings.model_fields_set:
        targets += [DEMO_DATABASE, DEMO_DATABASE.with_name(DEMO_DATABASE.name + "-wal")]
        targets += [DEMO_DATABASE.with_name(DEMO_DATABASE.name + "-shm")]
    if "media_dir" not in settings.model_fields_set:
        targets.append(DEMO_MEDIA)
    for target in targets:
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        else:
            continue
        removed.append(str(target))
    return removed


async def _start_emulator(emulator: Emulator, host: str, port: int) -> None:
    try:
        await emulator.start()
    except OSError as exc:
        await emulator.stop()
        if exc.errno == errno.EADDRINUSE:
            raise DemoError(
                f"port {port} on {host} is already in use (is a demo already running?): "
                f"stop that one, or start on another port with --port {port + 1}"
            ) from exc
        raise DemoError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (choose with --host/--port)") from exc


async def run_demo(settings: Settings, *, host: str, port: int, fresh: bool = False) -> None:
    """Runs until Ctrl-C; raises DemoError with one line when it cannot start."""
    from bot.cli import wait_for_signal

    emulator = Emulator(token=DEMO_TOKEN, host=host, port=port, smtp_port=0)
    await _start_emulator(emulator, host, port)  # first: a demo already running keeps its data
    if fresh:
        removed = reset(settings)
        print("demo reset: removed " + (", ".join(removed) if removed else "nothing (it was clean)"), flush=True)
    keeper = StateKeeper(emulator.state, EMULATOR_DIR)
    try:
        keeper.load()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        await emulator.stop()
        raise DemoError(
            f"the emulator's saved state in {EMULATOR_DIR} is unreadable ({exc}); start with --reset"
        ) from exc
    for user_id, name, language in CUSTOMERS:
        emulator.add_user(user_id, name, language_code=language)
    emulator.add_user(STAFF_USER_ID, "Sam (staff)", username="sam_staff")
    emulator.add_group(STAFF_GROUP_ID, "Redemption staff", [STAFF_USER_ID])
    runtime = BotRuntime(demo_settings(settings, emulator))
    try:
        await runtime.start("polling")
        assert runtime.services is not None
        now = SystemClock().now()
        async with unit_of_work(runtime.services.sessions) as session:
            await load_demo_showcase(session, now.date(), now)
    except Exception as exc:
        log.debug("the demo could not start", exc_info=True)
        await runtime.stop()
        await emulator.stop()
        raise DemoError(f"the bot could not start: {exc.__class__.__name__}: {exc}".splitlines()[0]) from exc
    keeper.start()
    base = emulator.page_url
    print(
        "\nDemo is running. Open in your browser:\n"
        f"  customer Alice (English):  {base}?user=1001\n"
        f"  customer Bao (中文):        {base}?user=1002\n"
        f"  staff group as Sam:        {base}?chat={STAFF_GROUP_ID}&user={STAFF_USER_ID}\n"
        f"  side by side (both):       {base}?side=1001\n"
        f"  mailbox (e-mail codes):    {emulator.mailbox_url}\n"
        f"What you do is kept in {DATA_DIR}/ across restarts; `python3 dev.py demo --reset` starts clean.\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        await wait_for_signal()
    finally:
        await keeper.stop()
        await runtime.stop()
        await emulator.stop()
