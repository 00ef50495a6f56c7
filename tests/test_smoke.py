"""The wiring: the real bot answers a person through the emulator."""

from __future__ import annotations

from tests.conftest import BotHarness


async def test_start_and_help(bot: BotHarness) -> None:
    alice = bot.person(1001, "Alice")
    await alice.send("/help")
    reply = await alice.next_reply()
    assert "/register" in reply.text and "<b>" not in reply.text  # HTML was parsed, not shown


async def test_commands_menu_is_published_per_language(bot: BotHarness) -> None:
    commands = bot.emulator.commands
    assert commands, "setMyCommands was never called"
    texts = {str(v) for v in commands.values()}
    assert any("Register a product" in t for t in texts)
    assert any("註冊產品" in t for t in texts)
