"""The reference bots of bench/cpu.py, each as its own process, as our bot runs:

    python bench/ref_bots.py httpx|aiohttp|raw TOKEN BASE_URL

* ``httpx``: the textbook PTB echo bot as PTB comes (HTTPXRequest, updates one at a time);
* ``aiohttp``: the same echo bot, only the transport swapped for ``bot.transport.AiohttpRequest``;
* ``raw``: no PTB, a getUpdates/sendMessage loop on one aiohttp session (the machine's floor).

Each polls until SIGTERM or SIGINT, then stops cleanly (confirming what it consumed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

# the checkout being measured (bench/cpu.py --code-tree), else this one; `python bench/ref_bots.py`
# puts bench/, not the root, on the path
ROOT = Path(os.environ.get("BENCH_CODE_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))

from bench.echo_bot import build_echo_app, raw_echo, running  # noqa: E402

KINDS = ("httpx", "aiohttp", "raw")


async def serve(kind: str, token: str, base_url: str) -> None:
    """Runs one reference bot until a stop signal arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bot: contextlib.AbstractAsyncContextManager[object]
    if kind == "raw":
        bot = raw_echo(token, base_url)
    else:
        bot = running(build_echo_app(token, base_url, aiohttp_transport=kind == "aiohttp"))
    async with bot:
        await stop.wait()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in KINDS:
        print(__doc__, file=sys.stderr)
        return 2
    asyncio.run(serve(*argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
