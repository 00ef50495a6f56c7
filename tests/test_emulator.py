"""The Telegram Bot API emulator answers like api.telegram.org, and its users drive PTB bots.

Every wait here is on an event, a future or a queue: nothing sleeps.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import telegram
from aiohttp import web
from PIL import Image
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Update
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter

from emulator import Emulator, Event

TOKEN = "123456:TEST-TOKEN"
ALICE, BOB, CAROL, STAFF = 1001, 1002, 1003, 9001
GROUP = -100123


def png(width: int = 400, height: int = 300, color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def keyboard(*rows: list[tuple[str, str]]) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in rows]}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(token=TOKEN, port=0, bot_username="redeem_demo_bot", bot_id=123456)
    emulator.add_user(ALICE, "Alice", username="alice")
    emulator.add_user(BOB, "Bob")  # never writes to the bot
    emulator.add_user(CAROL, "Carol")
    emulator.add_user(STAFF, "Sam")
    emulator.add_group(GROUP, "Staff", [STAFF])
    await emulator.start()
    await emulator.user_sends_text(ALICE, "hello")
    await emulator.user_sends_text(CAROL, "hi")
    yield emulator
    await emulator.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(TOKEN, base_url=emu.api_base_url, base_file_url=emu.file_base_url) as b:
        yield b


class Api:
    """Raw Bot API calls, so status codes, headers and exact bodies can be checked."""

    def __init__(self, emu: Emulator, http: aiohttp.ClientSession) -> None:
        self.emu, self.http = emu, http

    async def __call__(self, method: str, token: str = TOKEN, **params: Any) -> tuple[int, dict[str, Any]]:
        status, body, _ = await self.full(method, token=token, **params)
        return status, body

    async def full(self, method: str, token: str = TOKEN, data: Any = None, **params: Any) -> Any:
        url = f"{self.emu.api_base_url}{token}/{method}"
        kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": params}
        async with self.http.post(url, **kwargs) as response:
            return response.status, await response.json(), response.headers


@pytest.fixture
def api(emu: Emulator, http: aiohttp.ClientSession) -> Api:
    return Api(emu, http)


def error(status: int, description: str) -> tuple[int, dict[str, Any]]:
    return status, {"ok": False, "error_code": status, "description": description}


# ---------------------------------------------------------------- envelope and basics
async def test_envelope_token_and_unknown_method(api: Api, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "redeem_demo_bot", True)
    assert await api("getMe", token="123456:WRONG") == error(401, "Unauthorized")
    assert await api("sendSomething") == error(404, "Not Found: method not found")
    status, body = await api("getMe")
    assert status == 200 and body["ok"] is True and body["result"]["id"] == 123456


async def test_form_encoded_get_and_json_requests_are_read_alike(
    emu: Emulator, api: Api, http: aiohttp.ClientSession
) -> None:
    markup = json.dumps(keyboard([("Yes", "y")]))
    form = {"chat_id": str(ALICE), "text": "<b>form</b>", "parse_mode": "HTML", "reply_markup": markup}
    status, body, _ = await api.full("sendMessage", data=form)
    assert status == 200 and body["result"]["reply_markup"] == keyboard([("Yes", "y")])
    async with http.get(f"{emu.api_base_url}{TOKEN}/sendMessage?chat_id={ALICE}&text=query") as r:
        assert (await r.json())["result"]["text"] == "query"
    assert [m for m, _ in emu.calls][-2:] == ["sendMessage", "sendMessage"]
    assert emu.calls[-2][1]["text"] == "<b>form</b>"


async def test_send_message_parses_html_into_entities_in_utf16(emu: Emulator, bot: telegram.Bot) -> None:
    html = (
        '😀 <b>bold <i>both</i></b> <a href="https://example.com/x?a=1&amp;b=2">link</a> '
        '<code>c</code> <pre><code class="language-python">p</code></pre> '
        '<span class="tg-spoiler">s</span> <u>u</u> <s>x</s> <blockquote expandable>q</blockquote> '
        "&lt;&gt;&amp;&quot;&#33;"
    )
    sent = await bot.send_message(ALICE, html, parse_mode="HTML")
    assert sent.text == '😀 bold both link c p s u x q <>&"!'
    found = {(e.type, e.offset, e.length) for e in sent.entities}
    assert ("bold", 3, 9) in found  # 😀 is two UTF-16 units
    assert ("italic", 8, 4) in found
    assert ("text_link", 13, 4) in found
    assert sent.entities[2].url == "https://example.com/x?a=1&b=2"
    assert ("code", 18, 1) in found and ("spoiler", 22, 1) in found
    pre = next(e for e in sent.entities if e.type == "pre")
    assert (pre.offset, pre.length, pre.language) == (20, 1, "python")
    assert ("expandable_blockquote", 28, 1) in found
    assert sent.from_user.is_bot and sent.chat.id == ALICE
    ids = [m["message_id"] for m in emu.messages(ALICE)]
    assert ids == sorted(ids) and ids[-1] == sent.message_id
    assert emu.send_log[-1][1:] == ("sendMessage", ALICE)


async def test_text_limits_count_code_points_after_parsing(api: Api) -> None:
    ok, body = await api("sendMessage", chat_id=ALICE, text="&lt;" * 4096, parse_mode="HTML")
    assert ok == 200 and len(body["result"]["text"]) == 4096
    ok, body = await api("sendMessage", chat_id=ALICE, text="  padded \n")
    assert body["result"]["text"] == "padded"


HTML_ERRORS = [
    ("<br>", 'Unsupported start tag "br" at byte offset 0'),
    ("é <x>y</x>", 'Unsupported start tag "x" at byte offset 3'),
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("x <b", "Unclosed start tag at byte offset 2"),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b>x</b", "Unclosed end tag at byte offset 4"),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ("<a href=x/>y</a>", "Unexpected end of name token at byte offset 8"),
]


@pytest.mark.parametrize(("html", "reason"), HTML_ERRORS)
async def test_html_errors_match_telegram(api: Api, html: str, reason: str) -> None:
    got = await api("sendMessage", chat_id=ALICE, text=html, parse_mode="HTML")
    assert got == error(400, f"Bad Request: can't parse entities: {reason}")


LONG_ROW = {"inline_keyboard": [[{"text": str(i), "callback_data": str(i)} for i in range(9)]]}
TOO_MANY = {"inline_keyboard": [[{"text": "b", "callback_data": f"{r}{c}"} for c in range(4)] for r in range(26)]}

REFUSALS = [
    ("sendMessage", {"chat_id": ALICE, "text": ""}, 400, "Bad Request: message text is empty"),
    ("sendMessage", {"chat_id": ALICE}, 400, "Bad Request: message text is empty"),
    ("sendMessage", {"chat_id": ALICE, "text": " \n "}, 400, "Bad Request: text must be non-empty"),
    (
        "sendMessage",
        {"chat_id": ALICE, "text": "<b> </b>", "parse_mode": "HTML"},
        400,
        "Bad Request: text must be non-empty",
    ),
    ("sendMessage", {"chat_id": ALICE, "text": "x" * 4097}, 400, "Bad Request: message is too long"),
    ("sendMessage", {"chat_id": ALICE, "text": "x", "parse_mode": "HTML5"}, 400, "Bad Request: unsupported parse_mode"),
    (
        "sendMessage",
        {"chat_id": ALICE, "text": "a.b", "parse_mode": "MarkdownV2"},
        400,
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    ),
    (
        "sendMessage",
        {"chat_id": ALICE, "text": "*open", "parse_mode": "MarkdownV2"},
        400,
        "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0",
    ),
    ("sendMessage", {"chat_id": 555, "text": "x"}, 400, "Bad Request: chat not found"),
    ("sendMessage", {"chat_id": -100999, "text": "x"}, 400, "Bad Request: chat not found"),
    ("sendMessage", {"chat_id": BOB, "text": "x"}, 403, "Forbidden: bot can't initiate conversation with a user"),
    (
        "sendMessage",
        {"chat_id": ALICE, "text": "x", "reply_markup": keyboard([("k", "d" * 65)])},
        400,
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "sendMessage",
        {"chat_id": ALICE, "text": "x", "reply_markup": keyboard([("k", "")])},
        400,
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "sendMessage",
        {"chat_id": ALICE, "text": "x", "reply_markup": LONG_ROW},
        400,
        "Bad Request: REPLY_MARKUP_TOO_LONG",
    ),
    (
        "sendMessage",
        {"chat_id": ALICE, "text": "x", "reply_markup": TOO_MANY},
        400,
        "Bad Request: REPLY_MARKUP_TOO_LONG",
    ),
    (
        "sendMessage",
        {"chat_id": ALICE, "text": "x", "reply_parameters": {"message_id": 999}},
        400,
        "Bad Request: message to be replied not found",
    ),
    (
        "sendPhoto",
        {"chat_id": ALICE, "photo": "https://example.com/a.jpg"},
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    ),
    (
        "sendPhoto",
        {"chat_id": ALICE, "photo": "no-such-file-id"},
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    ),
    ("sendDocument", {"chat_id": ALICE}, 400, "Bad Request: there is no document in the request"),
    ("getFile", {"file_id": "nope"}, 400, "Bad Request: invalid file_id"),
    (
        "editMessageText",
        {"chat_id": ALICE, "message_id": 999, "text": "x"},
        400,
        "Bad Request: message to edit not found",
    ),
    ("deleteMessage", {"chat_id": ALICE, "message_id": 999}, 400, "Bad Request: message to delete not found"),
    (
        "answerCallbackQuery",
        {"callback_query_id": "42"},
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    ),
    ("sendMediaGroup", {"chat_id": ALICE, "media": []}, 400, "Bad Request: there are no messages to send"),
    (
        "sendMediaGroup",
        {"chat_id": ALICE, "media": [{"type": "photo", "media": "x"}] * 11},
        400,
        "Bad Request: too many messages to send as an album",
    ),
    (
        "setWebhook",
        {"url": "https://example.com/h", "secret_token": "bad secret!"},
        400,
        "Bad Request: secret token contains unallowed characters",
    ),
    (
        "setWebhook",
        {"url": "https://example.com/h", "secret_token": "a" * 257},
        400,
        "Bad Request: secret token is too long",
    ),
    (
        "setMyCommands",
        {"commands": [{"command": "Bad-Command", "description": "x"}]},
        400,
        "Bad Request: BOT_COMMAND_INVALID",
    ),
    ("sendChatAction", {"chat_id": ALICE, "action": "dancing"}, 400, "Bad Request: wrong parameter action in request"),
]


@pytest.mark.parametrize(("method", "params", "status", "description"), REFUSALS)
async def test_refusals_use_telegram_words(
    emu: Emulator, api: Api, method: str, params: dict[str, Any], status: int, description: str
) -> None:
    before = len(emu.messages(ALICE))
    assert await api(method, **params) == error(status, description)
    assert len(emu.messages(ALICE)) == before  # nothing was stored


async def test_caption_limit_and_media_group_mixing(api: Api, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await bot.send_photo(ALICE, png(), caption="c" * 1025)
    photo = (await bot.send_photo(ALICE, png(), caption="c" * 1024)).photo[-1].file_id
    doc = (await bot.send_document(ALICE, b"%PDF-1.4", filename="a.pdf")).document.file_id
    got = await api(
        "sendMediaGroup",
        chat_id=ALICE,
        media=[{"type": "photo", "media": photo}, {"type": "document", "media": doc}],
    )
    assert got == error(400, "Bad Request: document can't be mixed with other media types")
    got = await api("sendPhoto", chat_id=ALICE, photo=doc)
    assert got == error(400, "Bad Request: can't use file of type Document as Photo")


async def test_blocked_user_and_unblock_by_writing(emu: Emulator, bot: telegram.Bot) -> None:
    emu.block_bot(ALICE)
    with pytest.raises(Forbidden, match="^Forbidden: bot was blocked by the user$"):
        await bot.send_message(ALICE, "are you there?")
    await emu.user_sends_text(ALICE, "/start")  # "Restart" in the client unblocks
    assert (await bot.send_message(ALICE, "welcome back")).text == "welcome back"


async def test_edits_and_deletes(emu: Emulator, api: Api, bot: telegram.Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(ALICE, "<b>v1</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match="(?i)message is not modified: specified new message content"):
        await bot.edit_message_text("<b>v1</b>", ALICE, sent.message_id, parse_mode="HTML", reply_markup=markup)
    after = emu.last_seq
    edited = await bot.edit_message_text("v2", ALICE, sent.message_id)  # no markup: keyboard removed
    assert edited.text == "v2" and edited.reply_markup is None and edited.edit_date is not None
    event = await emu.wait_event(ALICE, after)
    assert event.kind == "edit" and event.message is not None and event.message["text"] == "v2"
    await bot.edit_message_reply_markup(ALICE, sent.message_id, reply_markup=markup)
    assert emu.messages(ALICE)[-1]["reply_markup"] == keyboard([("A", "a")])
    got = await api("editMessageCaption", chat_id=ALICE, message_id=sent.message_id, caption="c")
    assert got == error(400, "Bad Request: there is no caption in the message to edit")
    user_message = emu.messages(ALICE)[0]["message_id"]
    got = await api("editMessageText", chat_id=ALICE, message_id=user_message, text="hack")
    assert got == error(400, "Bad Request: message can't be edited")
    assert await bot.delete_message(ALICE, sent.message_id) is True
    assert sent.message_id not in [m["message_id"] for m in emu.messages(ALICE)]
    assert emu.events(ALICE)[-1].kind == "delete"
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(ALICE, sent.message_id)
    assert [m for _, m, _ in emu.send_log].count("editMessageText") == 1


async def test_button_press_round_trip(emu: Emulator, bot: telegram.Bot) -> None:
    sent = await bot.send_message(
        ALICE, "Pick", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go:1")]])
    )
    with pytest.raises(ValueError, match="no button"):
        await emu.user_presses(ALICE, sent.message_id, "other")
    query_id = await emu.user_presses(ALICE, sent.message_id, "go:1")
    updates = await bot.get_updates(offset=-1)
    query = updates[0].callback_query
    assert query is not None and (query.id, query.data, query.from_user.id) == (query_id, "go:1", ALICE)
    assert query.message is not None and query.message.message_id == sent.message_id
    with pytest.raises(BadRequest, match="(?i)MESSAGE_TOO_LONG"):
        await query.answer("x" * 201)
    after = emu.last_seq
    assert await query.answer("Saved", show_alert=True)
    event = await emu.wait_event(ALICE, after)
    assert (event.kind, event.text, event.show_alert) == ("callback_answer", "Saved", True)
    with pytest.raises(BadRequest, match="(?i)query is too old and response timeout expired"):
        await query.answer("again")


async def test_reply_keyboard_is_kept_beside_the_message(emu: Emulator, api: Api) -> None:
    markup = {"keyboard": [["Yes", {"text": "Share", "request_contact": True}]], "one_time_keyboard": True}
    status, body = await api("sendMessage", chat_id=ALICE, text="Phone?", reply_markup=markup)
    assert status == 200 and "reply_markup" not in body["result"]  # Message never shows reply keyboards
    assert emu.reply_keyboard(ALICE) == {
        "keyboard": [[{"text": "Yes"}, {"text": "Share", "request_contact": True}]],
        "one_time_keyboard": True,
    }
    assert emu.events(ALICE)[-1].reply_markup == emu.reply_keyboard(ALICE)
    await api("sendMessage", chat_id=ALICE, text="Thanks", reply_markup={"remove_keyboard": True})
    assert emu.reply_keyboard(ALICE) is None


# ---------------------------------------------------------------- getUpdates
async def test_get_updates_offset_limit_and_timeout(emu: Emulator, api: Api) -> None:
    for n in range(3):
        await emu.user_sends_text(ALICE, f"m{n}")
    _, body = await api("getUpdates")
    ids = [u["update_id"] for u in body["result"]]
    assert len(ids) == 5 and ids == sorted(ids)  # fixture's two messages + three
    _, body = await api("getUpdates", limit=2)
    assert [u["update_id"] for u in body["result"]] == ids[:2]
    _, body = await api("getUpdates", limit=0)  # clamped to 1
    assert len(body["result"]) == 1
    _, body = await api("getUpdates", offset=ids[2])  # confirms the first two
    assert [u["update_id"] for u in body["result"]] == ids[2:]
    _, body = await api("getUpdates", offset=0)
    assert [u["update_id"] for u in body["result"]] == ids[2:]
    _, body = await api("getUpdates", offset=-1)  # keeps only the newest
    assert [u["update_id"] for u in body["result"]] == ids[-1:]
    _, body = await api("getUpdates", offset=ids[-1] + 1, timeout=-5)  # timeout clamped to 0
    assert body == {"ok": True, "result": []}
    assert emu.pending_updates == []


async def test_allowed_updates_filters_new_updates(emu: Emulator, api: Api) -> None:
    await api("getUpdates", offset=-1, allowed_updates=["callback_query"])
    await api("getUpdates", offset=emu.state.updates.next_update_id)
    await emu.user_sends_text(ALICE, "ignored")
    _, body = await api("getUpdates")
    assert body["result"] == []
    await api("getUpdates", allowed_updates=[])  # back to the default set
    await emu.user_sends_text(ALICE, "seen")
    _, body = await api("getUpdates")
    assert [u["message"]["text"] for u in body["result"]] == ["seen"]


async def test_long_poll_wakes_up_on_a_new_update(emu: Emulator, api: Api) -> None:
    _, body = await api("getUpdates", offset=-1)
    offset = body["result"][0]["update_id"] + 1
    queue = emu.state.updates
    started = time.monotonic()
    poll = asyncio.create_task(api("getUpdates", offset=offset, timeout=30))
    await queue.notifier.wait_for(lambda: queue.waiting_polls or None, 5)
    await emu.user_sends_text(ALICE, "wake up")
    status, body = await asyncio.wait_for(poll, 5)
    assert status == 200 and body["result"][0]["message"]["text"] == "wake up"
    assert time.monotonic() - started < 5


async def test_second_get_updates_terminates_the_first(emu: Emulator, api: Api, bot: telegram.Bot) -> None:
    _, body = await api("getUpdates", offset=-1)
    offset = body["result"][0]["update_id"] + 1
    queue = emu.state.updates
    first = asyncio.create_task(api("getUpdates", offset=offset, timeout=30))
    await queue.notifier.wait_for(lambda: queue.waiting_polls or None, 5)
    assert await api("getUpdates", offset=offset) == (200, {"ok": True, "result": []})
    assert await asyncio.wait_for(first, 5) == error(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    )


# ---------------------------------------------------------------- webhook
async def test_webhook_delivers_in_order_with_secret_and_retries(emu: Emulator, api: Api) -> None:
    received: asyncio.Queue[tuple[str | None, dict[str, Any]]] = asyncio.Queue()
    statuses = [500]  # first attempt fails, everything after succeeds

    async def hook(request: web.Request) -> web.Response:
        await received.put((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        status, body = await api(
            "setWebhook", url=f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t_-", drop_pending_updates=True
        )
        assert (status, body) == (200, {"ok": True, "result": True, "description": "Webhook was set"})
        assert await api("getUpdates") == error(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the"
            " webhook first",
        )
        await emu.user_sends_text(ALICE, "one")
        await emu.user_sends_text(ALICE, "two")
        got = [await asyncio.wait_for(received.get(), 5) for _ in range(3)]
        assert {secret for secret, _ in got} == {"s3cr3t_-"}
        assert [u["message"]["text"] for _, u in got] == ["one", "one", "two"]
        update = Update.de_json(got[-1][1], None)
        assert update is not None and update.message is not None and update.message.text == "two"
        _, info = await api("getWebhookInfo")
        assert info["result"]["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
        await emu.state.updates.notifier.wait_for(lambda: not emu.pending_updates or None, 5)
        assert (await api("deleteWebhook"))[1]["description"] == "Webhook was deleted"
        assert (await api("getUpdates"))[0] == 200
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------- fault injection
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fault_injection_429_counts_times(emu: Emulator, api: Api, bot: telegram.Bot) -> None:
    emu.fail("sendMessage", error_code=429, description="Too Many Requests: retry after 3", retry_after=3, times=2)
    status, body, headers = await api.full("sendMessage", chat_id=ALICE, text="x")
    assert status == 429 and headers["Retry-After"] == "3"
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    with pytest.raises(RetryAfter):
        await bot.send_message(ALICE, "x")
    assert (await bot.send_message(ALICE, "third time")).text == "third time"

    emu.fail("*", error_code=403, description="Forbidden: bot was blocked by the user", chat_id=CAROL)
    with pytest.raises(Forbidden):
        await bot.send_message(CAROL, "x")
    assert (await bot.send_message(ALICE, "others unaffected")).chat.id == ALICE
    assert (await api("getUpdates"))[0] == 200  # "*" never stops the poller
    emu.clear_faults()
    assert (await bot.send_message(CAROL, "ok")).chat.id == CAROL
    emu.fail("getMe", error_code=502, description="Bad Gateway", seconds=60)
    assert await api("getMe") == error(502, "Bad Gateway")


# ---------------------------------------------------------------- files
async def test_photo_upload_sizes_and_download_roundtrip(emu: Emulator, bot: telegram.Bot) -> None:
    original = png(400, 300)
    sent = await bot.send_photo(ALICE, original, caption="<b>Invoice</b>", parse_mode="HTML")
    assert [(p.width, p.height) for p in sent.photo] == [(100, 75), (320, 240), (400, 300)]
    assert sent.caption == "Invoice" and sent.caption_entities[0].type == "bold"
    file = await bot.get_file(sent.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == original == emu.file_bytes(sent.photo[-1].file_id)
    again = await bot.send_photo(GROUP, sent.photo[0].file_id)  # resend by file_id: the whole set
    assert [p.file_id for p in again.photo] == [p.file_id for p in sent.photo]
    doc = await bot.send_document(ALICE, b"a,b\n1,2\n", filename="claims.csv")
    assert (doc.document.file_name, doc.document.mime_type) == ("claims.csv", "text/csv")
    assert bytes(await (await bot.get_file(doc.document.file_id)).download_as_bytearray()) == b"a,b\n1,2\n"


async def test_media_group_with_attach_references(emu: Emulator, api: Api, bot: telegram.Bot) -> None:
    album = await bot.send_media_group(
        GROUP, [InputMediaPhoto(png(color="red"), caption="front"), InputMediaPhoto(png(color="blue"))]
    )
    assert len({m.media_group_id for m in album}) == 1 and album[0].media_group_id
    assert album[0].caption == "front"
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ALICE))
    form.add_field(
        "media", json.dumps([{"type": "photo", "media": "attach://one"}, {"type": "photo", "media": "attach://two"}])
    )
    form.add_field("one", png(), filename="one.png", content_type="image/png")
    form.add_field("two", png(), filename="two.png", content_type="image/png")
    status, body, _ = await api.full("sendMediaGroup", data=form)
    assert status == 200 and len(body["result"]) == 2
    assert body["result"][0]["media_group_id"] == body["result"][1]["media_group_id"]
    assert emu.send_log[-1][1:] == ("sendMediaGroup", ALICE)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ALICE))
    form.add_field("media", json.dumps([{"type": "photo", "media": "attach://gone"}] * 2))
    form.add_field("one", png(), filename="one.png")
    status, body, _ = await api.full("sendMediaGroup", data=form)
    assert (status, body["description"]) == (400, "Bad Request: can't parse InputMedia: media not found")


async def test_upload_and_download_size_limits(emu: Emulator, api: Api) -> None:
    big = b"\xff" * (10 * 1024 * 1024 + 1)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ALICE))
    form.add_field("photo", big, filename="big.jpg")
    status, body, _ = await api.full("sendPhoto", data=form)
    assert (status, body["description"]) == (
        400,
        f"Bad Request: file of size {len(big)} bytes is too big for a photo; the maximum size is 10485760 bytes",
    )
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ALICE))
    form.add_field("document", b"\0" * (50 * 1024 * 1024 + 1), filename="huge.bin")
    status, body, _ = await api.full("sendDocument", data=form)
    assert (status, body["description"]) == (413, "Request Entity Too Large")
    sent = await emu.user_sends_document(ALICE, b"\0" * (20 * 1024 * 1024 + 1), "video.bin", "application/octet-stream")
    got = await api("getFile", file_id=sent["document"]["file_id"])
    assert got == error(400, "Bad Request: file is too big")
    wide = png(9000, 300)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ALICE))
    form.add_field("photo", wide, filename="wide.png")
    status, body, _ = await api.full("sendPhoto", data=form)
    assert (status, body["description"]) == (400, "Bad Request: PHOTO_INVALID_DIMENSIONS")


# ---------------------------------------------------------------- users drive PTB
async def test_user_actions_become_updates_ptb_parses(emu: Emulator, bot: telegram.Bot) -> None:
    await bot.get_updates(offset=-1)
    await bot.get_updates(offset=emu.state.updates.next_update_id)
    await emu.user_sends_text(ALICE, "/register now")
    await emu.user_sends_photo(ALICE, png(), caption="invoice", media_group_id="77")
    await emu.user_sends_photo(ALICE, b"not an image", media_group_id="77")
    await emu.user_sends_document(ALICE, b"%PDF-1.4", "invoice.pdf", "application/pdf")
    await emu.user_sends_contact(ALICE, "+15550001001")
    await emu.user_sends_text(STAFF, "/approve@redeem_demo_bot 12", chat_id=GROUP)
    updates = await bot.get_updates()
    messages = [u.message for u in updates]
    assert all(m is not None for m in messages)
    text, photo, raw, document, contact, command = messages  # type: ignore[misc]
    assert text.entities[0].type == "bot_command" and text.entities[0].length == len("/register")
    assert photo.photo[-1].width == 400 and photo.media_group_id == raw.media_group_id == "77"
    assert raw.photo[0].width == 0  # unreadable bytes are kept with 0x0
    assert document.document.mime_type == "application/pdf"
    assert contact.contact.user_id == ALICE and contact.contact.phone_number == "+15550001001"
    assert command.chat.type == "supergroup" and command.chat.id == GROUP
    assert command.text.split()[0] == "/approve@redeem_demo_bot" and command.entities[0].length == 24
    assert Update.de_json(updates[0].to_dict(), bot) == updates[0]
    with pytest.raises(ValueError, match="not a member"):
        await emu.user_sends_text(ALICE, "let me in", chat_id=GROUP)


async def test_wait_event_waits_for_the_bot(emu: Emulator, bot: telegram.Bot) -> None:
    after = emu.last_seq
    await emu.user_sends_text(ALICE, "ping")
    reply = asyncio.create_task(bot.send_message(ALICE, "pong"))
    event = await emu.wait_event(ALICE, after, from_bot=True)
    assert isinstance(event, Event) and event.kind == "message"
    assert event.message is not None and event.message["text"] == "pong"
    await reply
    first = await emu.wait_event(ALICE, after)
    assert first.message is not None and first.message["from"]["is_bot"] is False
    with pytest.raises(asyncio.TimeoutError):
        await emu.wait_event(ALICE, emu.last_seq, timeout=0.05)


async def test_commands_chat_info_and_small_methods(emu: Emulator, bot: telegram.Bot) -> None:
    await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    await bot.set_my_commands([("queue", "Claims")], scope=telegram.BotCommandScopeChat(GROUP), language_code="en")
    assert emu.commands[("default", "")][1] == {"command": "help", "description": "Help"}
    assert emu.commands[(f"chat:{GROUP}", "en")] == [{"command": "queue", "description": "Claims"}]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    chat = await bot.get_chat(GROUP)
    assert (chat.title, chat.type) == ("Staff", "supergroup")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.get_chat(BOB)
    assert await bot.send_chat_action(ALICE, "typing")
    assert await bot.set_chat_menu_button(ALICE, telegram.MenuButtonCommands())
    assert await bot.close() and await bot.log_out()
    with pytest.raises(Conflict):
        await bot.set_webhook("http://127.0.0.1:1/hook")
        await bot.get_updates()


# ---------------------------------------------------------------- page and control API
async def test_page_and_control_api(emu: Emulator, http: aiohttp.ClientSession, bot: telegram.Bot) -> None:
    base = emu.page_url.rstrip("/")
    async with http.get(emu.page_url) as r:
        assert r.status == 200 and "Telegram emulator" in await r.text()
    async with http.post(f"{base}/_emu/users", json={"id": 1004, "first_name": "Dan"}) as r:
        assert (await r.json())["first_name"] == "Dan"
    async with http.get(f"{base}/_emu/state") as r:
        state = await r.json()
    assert {u["id"] for u in state["users"]} >= {ALICE, 1004} and state["groups"][0]["id"] == GROUP
    async with http.post(f"{base}/_emu/chats/1004/send", json={"user_id": 1004, "text": "/start"}) as r:
        assert (await r.json())["entities"][0]["type"] == "bot_command"
    sent = await bot.send_message(
        1004, "Menu", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    )
    async with http.get(f"{base}/_emu/chats/1004/messages") as r:
        view = await r.json()
    assert [m["message"]["text"] for m in view["messages"]] == ["/start", "Menu"]
    async with http.get(f"{base}/_emu/chats/1004/events?after=0&timeout=0") as r:
        assert [e["kind"] for e in await r.json()] == ["message", "message"]
    press = {"user_id": 1004, "message_id": sent.message_id, "data": "a"}
    async with http.post(f"{base}/_emu/chats/1004/press", json=press) as r:
        query_id = (await r.json())["callback_query_id"]
    poll = asyncio.create_task(http.get(f"{base}/_emu/chats/1004/events?after={emu.last_seq}&timeout=10"))
    await bot.answer_callback_query(query_id, "Done")
    async with await poll as r:
        assert [(e["kind"], e["text"]) for e in await r.json()] == [("callback_answer", "Done")]
    form = aiohttp.FormData()
    form.add_field("user_id", "1004")
    form.add_field("kind", "photo")
    form.add_field("file", png(), filename="me.png", content_type="image/png")
    async with http.post(f"{base}/_emu/chats/1004/upload", data=form) as r:
        photo = (await r.json())["photo"][-1]["file_id"]
    async with http.get(f"{base}/_emu/files/{photo}") as r:
        assert r.content_type == "image/png" and await r.read() == png()
    async with http.post(f"{base}/_emu/chats/1004/contact", json={"user_id": 1004, "phone_number": "+1"}) as r:
        assert (await r.json())["contact"]["user_id"] == 1004
    async with http.post(f"{base}/_emu/chats/1004/press", json={**press, "data": "zzz"}) as r:
        assert r.status == 400 and "no button" in (await r.json())["error"]
    fault = {"method": "sendMessage", "error_code": 500, "description": "Internal Server Error", "times": 1}
    async with http.post(f"{base}/_emu/faults", json=fault) as r:
        assert (await r.json())["faults"] == 1
    async with http.delete(f"{base}/_emu/faults") as r:
        assert (await r.json())["faults"] == 0


async def test_forward_and_copy_a_customer_photo_to_staff(emu: Emulator, bot: telegram.Bot) -> None:
    photo = await emu.user_sends_photo(ALICE, png(), caption="my invoice")
    forwarded = await bot.forward_message(GROUP, ALICE, photo["message_id"])
    assert forwarded.photo[-1].file_id == photo["photo"][-1]["file_id"]
    assert forwarded.forward_origin is not None and forwarded.forward_origin.type == "user"
    copied = await bot.copy_message(GROUP, ALICE, photo["message_id"], caption="<b>Claim 7</b>", parse_mode="HTML")
    shown = emu.messages(GROUP)[-1]
    assert shown["message_id"] == copied.message_id and shown["caption"] == "Claim 7"
    assert shown["caption_entities"][0]["type"] == "bold" and "forward_origin" not in shown
    with pytest.raises(BadRequest, match="(?i)message to copy not found"):
        await bot.copy_message(GROUP, ALICE, 999)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_optional_flood_limits_answer_429_per_group(emu: Emulator, bot: telegram.Bot) -> None:
    emu.state.flood_limits = True
    for n in range(20):
        await bot.send_message(GROUP, f"card {n}")
    with pytest.raises(RetryAfter):
        await bot.send_message(GROUP, "one too many")
    assert (await bot.send_message(ALICE, "private chats are not limited per minute")).chat.id == ALICE
    stamps = [t for t, _, chat in emu.send_log if chat == GROUP]
    assert len(stamps) == 20 and stamps[-1] - stamps[0] < 60


async def test_staff_reply_to_a_card_carries_reply_to_message(emu: Emulator, bot: telegram.Bot) -> None:
    card = await bot.send_message(
        GROUP, "Claim 7", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    )
    await bot.get_updates(offset=emu.state.updates.next_update_id)
    await emu.user_sends_text(STAFF, "/reject blurry photo", chat_id=GROUP, reply_to=card.message_id)
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.reply_to_message is not None
    assert update.message.reply_to_message.message_id == card.message_id
    with pytest.raises(ValueError, match="does not exist"):
        await emu.user_sends_text(STAFF, "x", chat_id=GROUP, reply_to=999)
