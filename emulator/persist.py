"""Keeps an emulator's world (users, chats, messages, files) in a directory across restarts.

`state.json` holds everything but the files' bytes, which go to `files/<file_id>` once each. Every
write goes to a temporary name first and is renamed into place, so a crash leaves the old state,
never half a file. The demo saves after each change (checked every half second) and on stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path

from .state import EmulatorState

log = logging.getLogger(__name__)
STATE_FILE = "state.json"
FILES_DIR = "files"


class StateKeeper:
    """Loads the state a directory holds and writes it back whenever it changed."""

    def __init__(self, state: EmulatorState, directory: Path) -> None:
        self.state = state
        self.directory = Path(directory)
        self._written: tuple[int, ...] | None = None
        self._task: asyncio.Task[None] | None = None

    def _signature(self) -> tuple[int, ...]:
        s = self.state
        blocked = sum(u.blocked for u in s.users.values())
        return (
            s.last_seq,
            len(s.files.by_id),
            len(s.users),
            len(s.chats),
            s.updates.next_update_id,
            len(s.commands),
            blocked,
        )

    def load(self) -> bool:
        """Restores the saved state; False when there is none (a first start or after a reset)."""
        path = self.directory / STATE_FILE
        if not path.exists():
            return False
        saved = json.loads(path.read_text(encoding="utf-8"))
        files = self.directory / FILES_DIR

        def file_bytes(file_id: str) -> bytes | None:
            try:
                return (files / file_id).read_bytes()
            except OSError:
                return None

        self.state.restore(saved, file_bytes)
        self._written = self._signature()
        return True

    def save(self) -> None:
        """Writes the state now (new files' bytes first, then state.json)."""
        files = self.directory / FILES_DIR
        files.mkdir(parents=True, exist_ok=True)
        for record in list(self.state.files.by_id.values()):
            target = files / record.file_id
            if not target.exists():
                _write_atomically(target, record.data)
        signature = self._signature()
        body = json.dumps(self.state.saved(), ensure_ascii=False, separators=(",", ":"))
        _write_atomically(self.directory / STATE_FILE, body.encode("utf-8"))
        self._written = signature

    def save_if_changed(self) -> None:
        if self._signature() != self._written:
            self.save()

    def start(self, interval: float = 0.5) -> None:
        """Saves in the background whenever something changed."""
        self._task = asyncio.get_running_loop().create_task(self._run(interval))

    async def _run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self.save_if_changed()
            except OSError as exc:  # a full disk must not stop the demo; the next change tries again
                log.warning("could not save the emulator's state in %s: %s", self.directory, exc)

    async def stop(self) -> None:
        """Stops the background saver and writes the last changes."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.save_if_changed()


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
