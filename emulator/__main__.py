"""Run the emulator on its own: ``python -m emulator --port 8081``.

Point a bot at it with base_url ``http://HOST:PORT/bot`` and open ``http://HOST:PORT/?user=ID``
in a browser to chat as that user.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .emulator import Emulator


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--bot-username", default="redeem_demo_bot")
    parser.add_argument("--user", action="append", default=[], metavar="ID:NAME", help="add a user (repeatable)")
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="ID:TITLE:MEMBER,MEMBER",
        help="add a supergroup with members, e.g. --group=-100123:Staff:9001 (repeatable)",
    )
    parser.add_argument("--flood-limits", action="store_true", help="answer 429 past Telegram's limits")
    return parser.parse_args()


async def _main(args: argparse.Namespace) -> None:
    emu = Emulator(
        token=args.token,
        host=args.host,
        port=args.port,
        bot_username=args.bot_username,
        flood_limits=args.flood_limits,
    )
    users = args.user or ["1001:Alice", "9001:Sam"]
    for spec in users:
        user_id, _, name = spec.partition(":")
        emu.add_user(int(user_id), name or f"User {user_id}")
    for spec in args.group:
        chat_id, title, members = spec.split(":", 2)
        emu.add_group(int(chat_id), title, [int(m) for m in members.split(",") if m])
    await emu.start()
    print(f"Bot API:  {emu.api_base_url}<token>/<method>   (token {emu.token})")
    print(f"Files:    {emu.file_base_url}<token>/<file_path>")
    for user_id in emu.state.users:
        print(f"Chat as user {user_id}: {emu.page_url}?user={user_id}")
    for chat in emu.state.chats.values():
        if chat.member_ids:
            print(f"Group {chat.chat['title']}: {emu.page_url}?chat={chat.id}&user={chat.member_ids[0]}")
    try:
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(_parse_args()))


if __name__ == "__main__":
    main()
