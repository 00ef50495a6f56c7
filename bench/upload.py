"""Does a big photo make other customers wait? Reply latency while someone uploads 12 MP photos.

    .venv/bin/python bench/upload.py [--rounds 30] [--uploads 12] [--postgres URL]

The bot runs as operators run it (`python -m bot run`, its own process); the emulator and both
customers run here. Customer B asks for /help again and again and times each answer, first
while nobody else writes (the reference), then while customer A keeps sending a 12-megapixel
photo of a barcode label at the serial step (as a file, so it is not downscaled, as Telegram
does for photos). Before the image work moved out of the unit of work, A's photo was decoded
and read while A's transaction held SQLite's single writer, so B's /help waited for it.

Prints B's median and 90th-percentile latency in both phases and their ratio (1.0 = photos
cost others nothing), and A's own time per photo. Only ratios of one run mean anything.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator import Emulator  # noqa: E402
from storage import migrate  # noqa: E402
from tests import crash_run  # noqa: E402
from tests.databases import fresh_database  # noqa: E402
from tests.harness import Person  # noqa: E402

UNKNOWN_SERIAL = "ZZ9Z9ZZ99999"  # read from the label, not in the catalogue: A stays at the step


def label_photo(width: int = 4000, height: int = 3000) -> bytes:
    """A 12 MP phone-camera JPEG (sensor noise, a few MB) of a Code 128 serial label that is a
    little out of focus, so the reader tries its variants, as with real photos."""
    if hasattr(zxingcpp, "create_barcode"):  # zxing-cpp ≥ 2.3 (write_barcode is deprecated there)
        symbol = zxingcpp.create_barcode(UNKNOWN_SERIAL, zxingcpp.BarcodeFormat.Code128)
        bitmap = memoryview(zxingcpp.write_barcode_to_image(symbol, scale=3))
        code = Image.frombytes("L", (bitmap.shape[1], bitmap.shape[0]), bytes(bitmap)).resize((700, 200))
    else:
        code = Image.fromarray(zxingcpp.write_barcode(zxingcpp.BarcodeFormat.Code128, UNKNOWN_SERIAL, 700, 200))
    sticker = code.convert("RGB").filter(ImageFilter.GaussianBlur(2.2))
    shot = Image.merge("RGB", [Image.effect_noise((width, height), 30 + 10 * band) for band in range(3)])
    shot.paste(sticker, ((width - sticker.width) // 2, (height - sticker.height) // 2))
    out = io.BytesIO()
    shot.save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass
class Phase:
    latencies: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.latencies, n=10)[-1]


async def ask_help(person: Person, rounds: int, stop: asyncio.Event | None = None) -> Phase:
    """`rounds` /help requests one after another (until `stop` is set, when given)."""
    latencies: list[float] = []
    while len(latencies) < rounds and not (stop is not None and stop.is_set()):
        started = time.perf_counter()
        await person.send("/help")
        await person.next_reply(timeout=60)
        latencies.append(time.perf_counter() - started)
    return Phase(latencies)


async def upload(person: Person, photo: bytes, count: int) -> list[float]:
    """A sends the label `count` times at the serial step; the bot reads it and asks again."""
    await person.send("/register")
    await person.expect("Which kind of product")
    await person.press("Monitor")
    await person.expect("serial number")
    times: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        await person.send_document(photo, "label.jpg", "image/jpeg")
        await person.next_reply(timeout=60)
        times.append(time.perf_counter() - started)
    return times


async def one(database_url: str, rounds: int, uploads: int) -> tuple[Phase, Phase, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        media = Path(tmp) / "media"
        await migrate.upgrade(database_url)
        (a_id, _), (b_id, _) = (await crash_run.seed(database_url, media, 2))[:2]
        emulator = Emulator(token=crash_run.TOKEN, port=0)
        await emulator.start()
        process = crash_run.BotProcess(crash_run.bot_env(emulator, database_url, media), Path(tmp) / "bot.log")
        killer = crash_run.Killer(emulator, process, [])
        try:
            process.start()
            await killer.ready()
            alice, bob = Person(emulator, a_id, "Alice"), Person(emulator, b_id, "Bob")
            await ask_help(bob, 3)  # warm up
            idle = await ask_help(bob, rounds)
            photo = label_photo()
            stop = asyncio.Event()
            uploading = asyncio.ensure_future(upload(alice, photo, uploads))
            uploading.add_done_callback(lambda _: stop.set())
            busy = await ask_help(bob, 10_000, stop)
            per_photo = await uploading
            return idle, busy, per_photo
        finally:
            await process.terminate()
            await emulator.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="/help requests in the idle phase")
    parser.add_argument("--uploads", type=int, default=12, help="photos customer A sends")
    parser.add_argument("--postgres", help="also run on a fresh database on this server")
    args = parser.parse_args()
    targets: list[tuple[str, str | None]] = [("sqlite", None)] + (
        [("postgresql", args.postgres)] if args.postgres else []
    )
    print(
        f"{'database':<11} {'idle p50':>9} {'idle p90':>9} {'busy p50':>9} {'busy p90':>9}"
        f" {'p50 ×':>6} {'p90 ×':>6} {'photo':>7}"
    )
    for name, server in targets:
        with tempfile.TemporaryDirectory() as tmp:
            async with fresh_database(server, Path(tmp)) as url:
                idle, busy, per_photo = await one(url, args.rounds, args.uploads)
        ms = [1000 * v for v in (idle.p50, idle.p90, busy.p50, busy.p90)]
        photo = 1000 * statistics.median(per_photo)
        print(
            f"{name:<11} {ms[0]:>7.1f}ms {ms[1]:>7.1f}ms {ms[2]:>7.1f}ms {ms[3]:>7.1f}ms "
            f"{busy.p50 / idle.p50:>6.2f} {busy.p90 / idle.p90:>6.2f} {photo:>5.0f}ms"
            f"  ({len(busy.latencies)} busy requests)"
        )


if __name__ == "__main__":
    asyncio.run(main())
