"""Bot API methods about the bot and chats: getMe, commands, getChat, menu button, close."""

from __future__ import annotations

import re
from typing import Any

from .answer import Handler
from .errors import CHAT_NOT_FOUND, bad_request
from .params import Params
from .state import EmulatorState

COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
PLAIN_SCOPES = frozenset({"default", "all_private_chats", "all_group_chats", "all_chat_administrators"})
ACCEPTED_GIFT_TYPES = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


async def get_me(state: EmulatorState, p: Params) -> Any:
    return {
        **state.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": True,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def scope_key(state: EmulatorState, p: Params) -> str:
    """The key ``emu.commands`` uses for a BotCommandScope; chat scopes carry their ids."""
    scope = p.json("scope", "can't parse BotCommandScope JSON object")
    if scope is None:
        return "default"
    if not isinstance(scope, dict):
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = scope.get("type")
    if kind in PLAIN_SCOPES:
        return str(kind)
    if kind in ("chat", "chat_administrators", "chat_member"):
        chat_id = scope.get("chat_id")
        try:
            chat_id = int(str(chat_id))
        except (TypeError, ValueError):
            raise bad_request(CHAT_NOT_FOUND) from None
        if chat_id not in state.chats and chat_id not in state.users:
            raise bad_request(CHAT_NOT_FOUND)
        if kind == "chat_member":
            return f"chat_member:{chat_id}:{int(scope.get('user_id') or 0)}"
        return f"{kind}:{chat_id}"
    raise bad_request(f'unsupported scope type "{kind}"')


def language(p: Params) -> str:
    code = p.string("language_code") or ""
    if code and not re.fullmatch(r"[a-z]{2}", code):
        raise bad_request("invalid language code specified")
    return code


async def set_my_commands(state: EmulatorState, p: Params) -> Any:
    commands = p.json("commands", "can't parse commands JSON object")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    cleaned: list[dict[str, Any]] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name = str(command.get("command", "")).removeprefix("/")
        description = str(command.get("description", ""))
        if not COMMAND_RE.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": name, "description": description})
    key = (scope_key(state, p), language(p))
    if cleaned:
        state.commands[key] = cleaned
    else:
        state.commands.pop(key, None)
    return True


async def get_my_commands(state: EmulatorState, p: Params) -> Any:
    return list(state.commands.get((scope_key(state, p), language(p)), []))


async def delete_my_commands(state: EmulatorState, p: Params) -> Any:
    state.commands.pop((scope_key(state, p), language(p)), None)
    return True


def _known_chat(state: EmulatorState, chat_id: int) -> dict[str, Any]:
    chat = state.chats.get(chat_id)
    if chat is None or (chat.is_private and not chat.started):
        raise bad_request(CHAT_NOT_FOUND)
    return dict(chat.chat)


async def get_chat(state: EmulatorState, p: Params) -> Any:
    """ChatFullInfo with the fields PTB 22.8 requires."""
    info = _known_chat(state, p.chat_id())
    info.update(
        accent_color_id=0,
        max_reaction_count=11,
        accepted_gift_types=dict(ACCEPTED_GIFT_TYPES),
    )
    return info


async def get_chat_member(state: EmulatorState, p: Params) -> Any:
    chat_id = p.chat_id()
    _known_chat(state, chat_id)
    user_id = p.integer("user_id")
    user = state.users.get(user_id or 0)
    if user is None:
        raise bad_request("user not found")
    chat = state.chats[chat_id]
    member = chat.is_private and user.id == chat.id or user.id in chat.member_ids
    return {"status": "member" if member else "left", "user": dict(user.user)}


async def set_chat_menu_button(state: EmulatorState, p: Params) -> Any:
    chat_id = p.integer("chat_id")
    button = p.json("menu_button", "can't parse menu button JSON object") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    if chat_id is not None:
        _known_chat(state, chat_id)
    state.menu_buttons[chat_id] = button
    return True


async def get_chat_menu_button(state: EmulatorState, p: Params) -> Any:
    button = state.menu_buttons.get(p.integer("chat_id")) or state.menu_buttons.get(None)
    if not button or button.get("type") == "default":
        return {"type": "commands"}
    return button


async def close(state: EmulatorState, p: Params) -> Any:
    return True


async def log_out(state: EmulatorState, p: Params) -> Any:
    return True


METHODS: dict[str, Handler] = {
    "getMe": get_me,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
    "close": close,
    "logOut": log_out,
}
