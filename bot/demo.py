"""`python -m bot demo`: the emulator, the bot pointed at it, demo data, a browser page."""

from __future__ import annotations

from bot.config import Settings
from bot.runtime import BotRuntime
from emulator import Emulator
from storage.db import unit_of_work
from storage.demo import DEMO_CHK_SECRET, load_demo_data

DEMO_TOKEN = "123456:DEMO-TOKEN"
CUSTOMERS = ((1001, "Alice", "en"), (1002, "Bao", "zh-hant"))
STAFF_USER_ID = 9001
STAFF_GROUP_ID = -1009001
DEMO_SENDER = "Member Center <members@demo.example>"


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
        overrides["database_url"] = "sqlite+aiosqlite:///./data/demo.db"
    if "media_dir" not in settings.model_fields_set:
        overrides["media_dir"] = "./data/demo-media"
    return Settings(**{**settings.model_dump(), **overrides})


async def run_demo(settings: Settings, *, host: str, port: int) -> None:
    """Runs until Ctrl-C."""
    from bot.cli import wait_for_signal

    emulator = Emulator(token=DEMO_TOKEN, host=host, port=port, smtp_port=0)
    await emulator.start()
    for user_id, name, language in CUSTOMERS:
        emulator.add_user(user_id, name, language_code=language)
    emulator.add_user(STAFF_USER_ID, "Sam (staff)", username="sam_staff")
    emulator.add_group(STAFF_GROUP_ID, "Redemption staff", [STAFF_USER_ID])
    runtime = BotRuntime(demo_settings(settings, emulator))
    await runtime.start("polling")
    assert runtime.services is not None
    async with unit_of_work(runtime.services.sessions) as session:
        await load_demo_data(session)
    base = emulator.page_url
    print(
        "\nDemo is running. Open in your browser:\n"
        f"  customer Alice (English):  {base}?user=1001\n"
        f"  customer Bao (中文):        {base}?user=1002\n"
        f"  staff group as Sam:        {base}?chat={STAFF_GROUP_ID}&user={STAFF_USER_ID}\n"
        f"  mailbox (e-mail codes):    {emulator.mailbox_url}\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        await wait_for_signal()
    finally:
        await runtime.stop()
        await emulator.stop()
