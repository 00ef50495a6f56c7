"""The draw itself, pure: a secret seed, its published hash, and `replay`, which anyone can re-run.

The algorithm is written out in storage/draw/__init__.py, plain enough to re-implement.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from storage.models import Draw

SEED_BYTES = 32
_DOMAIN = b"draw"
_SPACE = 1 << 64


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def seed_hash(seed: bytes) -> str:
    """What is published before the draw: SHA-256 of the raw seed bytes, in hex."""
    return hashlib.sha256(seed).hexdigest()


def _stream(seed: bytes) -> Iterator[int]:
    """Unsigned 64-bit integers from SHA-256(seed ‖ "draw" ‖ counter)."""
    counter = 0
    while True:
        block = hashlib.sha256(seed + _DOMAIN + counter.to_bytes(8, "big")).digest()
        for offset in range(0, len(block), 8):
            yield int.from_bytes(block[offset : offset + 8], "big")
        counter += 1


def _below(stream: Iterator[int], m: int) -> int:
    """A uniform integer in [0, m), by rejection sampling (no modulo bias)."""
    limit = _SPACE - (_SPACE % m)
    while True:
        x = next(stream)
        if x < limit:
            return x % m


@dataclass(frozen=True)
class Result:
    entrants: list[str]  # sorted, as drawn from
    winners: list[str]
    reserves: list[str]


def replay(seed_hex: str, entrants: Iterable[str], winners: int, reserves: int = 0) -> Result:
    """The draw itself: the same seed and entrants always give the same winners and reserves."""
    if winners < 0 or reserves < 0:
        raise ValueError("winners and reserves cannot be negative")
    seed = bytes.fromhex(seed_hex)
    pool = sorted(set(entrants))
    picks = min(winners + reserves, len(pool))
    stream = _stream(seed)
    for i in range(picks):
        j = i + _below(stream, len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    chosen = pool[:picks]
    return Result(sorted(set(entrants)), chosen[:winners], chosen[winners:])


def verify(row: Draw) -> bool:
    """A drawn Draw is sound: its seed has the published hash, and re-running gives its result."""
    if row.seed is None or row.drawn_at is None or seed_hash(bytes.fromhex(row.seed)) != row.seed_sha256:
        return False
    again = replay(row.seed, row.entrants, row.winners_wanted, row.reserves_wanted)
    return (again.entrants, again.winners, again.reserves) == (
        list(row.entrants),
        list(row.winners),
        list(row.reserves),
    )
