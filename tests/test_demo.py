"""The demo a newcomer cannot break: data that works whatever day it is, a world kept across
restarts (and a documented reset), one-line start-up errors, and the page's tables."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.demo import DEMO_DATABASE, DEMO_MEDIA, EMULATOR_DIR, reset
from emulator import Emulator
from emulator.persist import StateKeeper
from locales import available_languages
from storage.codes import codes_left
from storage.demo import DAYS_RUNNING, DEMO_CODES, load_demo_data, load_demo_showcase
from storage.members import InvalidPhone, shared_contact_phone
from storage.models import ActivationCode, PrizeKind, Promotion
from tests.browser import ROOT, DemoProcess
from tests.factories import free_port, invoice_jpeg

PAGE = ROOT / "emulator" / "static" / "index.html"
NOW = dt.datetime(2031, 5, 20, 8, 0, tzinfo=dt.UTC)


async def _promotions(session: AsyncSession) -> dict[str, Promotion]:
    return {p.slug: p for p in (await session.scalars(select(Promotion))).all()}


async def test_demo_promotions_run_around_the_day_it_starts_with_codes_for_each_digital_one(
    session: AsyncSession,
) -> None:
    slugs = await load_demo_showcase(session, NOW.date(), NOW)
    promotions = await _promotions(session)
    assert set(slugs) == set(promotions)
    assert {p.prize_kind for p in promotions.values()} == {
        PrizeKind.DIGITAL_CODE,
        PrizeKind.CASHBACK,
        PrizeKind.PHYSICAL,
    }
    spring = promotions["spring-2026"]
    started = NOW.date() - dt.timedelta(days=DAYS_RUNNING)
    assert spring.starts_on == started and spring.invoice_from == started
    # the file's gaps stay: period 2026-02-01..2026-12-31, draw on 2027-01-15
    assert spring.ends_on - spring.starts_on == dt.date(2026, 12, 31) - dt.date(2026, 2, 1)
    assert spring.draw_date is not None and spring.draw_date - spring.ends_on == dt.timedelta(days=15)
    for promotion in promotions.values():
        assert promotion.starts_on < NOW.date() < promotion.ends_on, promotion.slug
        left = await codes_left(session, promotion.id)
        assert left == (DEMO_CODES if promotion.prize_kind == PrizeKind.DIGITAL_CODE else 0), promotion.slug
        pattern = re.compile(promotion.code_pattern)
        for code in await session.scalars(
            select(ActivationCode.code).where(ActivationCode.promotion_id == promotion.id)
        ):
            assert pattern.fullmatch(code)

    # a restart the next day: dates follow, no code is added twice
    later = NOW + dt.timedelta(days=1)
    await load_demo_showcase(session, later.date(), later)
    refreshed = await _promotions(session)
    assert refreshed["spring-2026"].starts_on == started + dt.timedelta(days=1)
    assert await codes_left(session, spring.id) == DEMO_CODES


async def test_tests_and_real_data_keep_the_files_fixed_dates(session: AsyncSession) -> None:
    await load_demo_data(session)
    spring = (await _promotions(session))["spring-2026"]
    assert (spring.starts_on, spring.ends_on) == (dt.date(2026, 2, 1), dt.date(2026, 12, 31))
    assert await codes_left(session, spring.id) == 0


async def test_the_emulators_world_survives_a_restart(tmp_path: Path) -> None:
    first = Emulator(token="123456:DEMO-TOKEN")
    first.add_user(1001, "Alice", language_code="en")
    first.add_group(-100900, "Staff", [1001])
    first.state.commands[("all_private_chats", "")] = [{"command": "start", "description": "Start"}]
    await first.start()
    await first.user_sends_text(1001, "/start")
    photo = await first.user_sends_photo(1001, invoice_jpeg(), caption="my invoice")
    first.block_bot(1001, False)
    keeper = StateKeeper(first.state, tmp_path)
    keeper.save()
    seq, update_id = first.last_seq, first.state.updates.next_update_id
    await first.stop()

    second = Emulator(token="123456:DEMO-TOKEN")
    assert StateKeeper(second.state, tmp_path).load()
    await second.start()
    try:
        assert second.messages(1001) == first.messages(1001)
        file_id = photo["photo"][-1]["file_id"]
        assert second.file_bytes(file_id) == first.file_bytes(file_id)
        assert second.commands == first.commands
        assert -100900 in second.state.chats and second.state.chats[1001].started
        # counters go on: an open page polling after `seq` sees what comes next, and the bot's
        # duplicate-update check does not swallow new updates
        assert second.last_seq == seq
        sent = await second.user_sends_text(1001, "after the restart")
        assert sent["message_id"] == photo["message_id"] + 1
        assert second.last_seq > seq
        assert second.state.updates.pending[-1]["update_id"] >= update_id
        again = await second.user_sends_photo(1001, invoice_jpeg(text="another"))
        assert again["photo"][-1]["file_id"] != file_id
        page = f"{second.page_url}_emu/chats/1001/events?after={seq}&timeout=0"
        async with aiohttp.ClientSession() as client, client.get(page) as answer:
            events = await answer.json()
        assert [e["message"]["text"] for e in events if e["message"] and "text" in e["message"]] == [
            "after the restart"
        ]
    finally:
        await second.stop()


async def test_a_demo_restart_keeps_the_chat_and_the_bot_still_answers(db_url: str, tmp_path: Path) -> None:
    """The real `python -m bot demo`, stopped and started again on the same data."""
    port = free_port()

    def say(text: str) -> None:
        body = json.dumps({"user_id": 1001, "text": text}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/_emu/chats/1001/send", body, {"Content-Type": "application/json"}
        )
        urllib.request.urlopen(request).close()

    def events(after: int) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{port}/_emu/chats/1001/events?after={after}&timeout=10"
        with urllib.request.urlopen(url) as answer:
            return list(json.loads(answer.read()))

    def wait_for(needle: str, after: int) -> None:
        for _ in range(50):  # each poll waits on the emulator's next events, up to 10 s
            found = events(after)
            if any(needle in (e["message"] or {}).get("text", "") for e in found):
                return
            after = max([after, *(e["seq"] for e in found)])
        raise AssertionError(f"no {needle!r}")

    def last_seq() -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emu/state") as answer:
            return int(json.loads(answer.read())["last_seq"])

    demo = DemoProcess.start(tmp_path, port, db_url)
    try:
        say("/start")
        wait_for("Privacy policy", 0)
        seq = last_seq()
    finally:
        demo.stop()
    assert (tmp_path / EMULATOR_DIR / "state.json").exists()
    demo = DemoProcess.start(tmp_path, port, db_url)
    try:
        assert last_seq() == seq
        say("/help")
        wait_for("/register", seq)
    finally:
        demo.stop()
    demo = DemoProcess.start(tmp_path, port, db_url, reset=True)
    try:
        assert any("demo reset: removed" in line for line in demo.output)
        assert last_seq() == 0
    finally:
        demo.stop()


def test_a_taken_port_is_one_line_that_names_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot", "demo", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"port {port}" in lines[0] and f"--port {port + 1}" in lines[0]
    assert not (tmp_path / EMULATOR_DIR).exists()


def test_reset_removes_only_what_the_demo_owns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / EMULATOR_DIR / "files").mkdir(parents=True)
    (tmp_path / DEMO_MEDIA).mkdir(parents=True)
    (tmp_path / DEMO_DATABASE).write_bytes(b"db")
    assert sorted(reset(Settings())) == sorted([str(EMULATOR_DIR), str(DEMO_DATABASE), str(DEMO_MEDIA)])
    assert not (tmp_path / "data" / "demo.db").exists()
    (tmp_path / DEMO_DATABASE).write_bytes(b"db")
    kept = reset(Settings(database_url="sqlite+aiosqlite:///./data/demo.db"))  # the operator's own database
    assert kept == [] and (tmp_path / DEMO_DATABASE).exists()


def _page_table(name: str) -> Any:
    """A `const NAME = {...};` object literal of the page, read as JSON."""
    source = PAGE.read_text(encoding="utf-8")
    body = re.search(rf"const {name} = (\{{.*?\}});", source, re.S)
    assert body is not None, name
    text = re.sub(r"^\s*//.*$", "", body.group(1), flags=re.M)
    text = re.sub(r"([{,]\s*)([A-Za-z_]+):", r'\1"\2":', text)  # bare keys
    text = re.sub(r",(\s*[}\]])", r"\1", text)  # trailing commas
    return json.loads(text)


def test_the_page_speaks_every_language_the_bot_does() -> None:
    words = _page_table("WORDS")
    assert set(available_languages()) <= set(words)
    for language, table in words.items():
        assert set(table) == set(words["en"]), language
        assert all(isinstance(v, str) and v.strip() for v in table.values()), language


def test_every_sample_phone_is_a_number_the_bot_accepts() -> None:
    phones = _page_table("SAMPLE_PHONES")
    for country, number in phones.items():
        try:
            shared_contact_phone(number)
        except InvalidPhone:
            pytest.fail(f"{country}: {number} is refused by storage.members")
    for country in _page_table("LANGUAGE_COUNTRY").values():
        assert country in phones


async def test_a_callback_answer_names_the_press_it_answers() -> None:
    """The page shows a toast or alert only in the tab whose press it answers."""
    async with Emulator(token="123456:DEMO-TOKEN") as emu:
        emu.add_user(1001, "Alice")
        await emu.user_sends_text(1001, "/start")
        api = f"{emu.api_base_url}{emu.token}"
        keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
        async with aiohttp.ClientSession() as client:
            async with client.post(
                f"{api}/sendMessage", json={"chat_id": 1001, "text": "hi", "reply_markup": keyboard}
            ) as r:
                message_id = (await r.json())["result"]["message_id"]
            page = f"{emu.page_url}_emu/chats/1001"
            async with client.post(
                f"{page}/press", json={"user_id": 1001, "message_id": message_id, "data": "go"}
            ) as r:
                pressed = (await r.json())["callback_query_id"]
            after = emu.last_seq
            body = {"callback_query_id": pressed, "text": "Done", "show_alert": True}
            async with client.post(f"{api}/answerCallbackQuery", json=body) as r:
                assert (await r.json())["ok"]
            async with client.get(f"{page}/events?after={after}&timeout=0") as r:
                events = await r.json()
    assert [(e["kind"], e["query_id"], e["text"], e["show_alert"]) for e in events] == [
        ("callback_answer", pressed, "Done", True)
    ]
