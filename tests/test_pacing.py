"""The outbox's metronome and pacer (bot/pacing.py) on a fake time source: no one-second window
ever holds more than the rate, slots are evenly spaced, late wake-ups do not slow the rate down,
an idle spell saves no burst up, and a chat inside its interval does not hold a slot others
could use. No real time passes: sleeping moves the fake clock."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import pytest

from bot.pacing import WINDOW_MARGIN, Metronome, Pacer


@dataclass
class FakeTime:
    """`now()` and `sleep()` for the pacer; a sleep wakes `late()` seconds after it was due."""

    t: float = 1000.0
    late: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds) + self.rng.uniform(0.0, self.late)
        await asyncio.sleep(0)


def busiest_second(starts: list[float]) -> int:
    ordered = sorted(starts)
    return max(sum(1 for u in ordered[i:] if u < t + 1.0) for i, t in enumerate(ordered))


async def slots(metronome: Metronome, tasks: int, each: int) -> list[float]:
    async def worker() -> list[float]:
        return [await metronome.slot() for _ in range(each)]

    return sorted(t for got in await asyncio.gather(*(worker() for _ in range(tasks))) for t in got)


@pytest.mark.parametrize("rate", [25.0, 100.0, 4.0])
async def test_slots_are_evenly_spaced_and_no_second_holds_more_than_the_rate(rate: float) -> None:
    clock = FakeTime()
    starts = await slots(Metronome(rate, clock.now, clock.sleep), tasks=20, each=int(rate))  # 20 s of work
    assert busiest_second(starts) <= rate
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 1.0 / rate - 1e-9  # no two at once
    assert max(gaps) <= 1.0 / rate + WINDOW_MARGIN + 1e-9  # and never a pause while work waits
    achieved = (len(starts) - 1) / (starts[-1] - starts[0])
    assert 0.98 * rate <= achieved <= rate


async def test_late_wake_ups_neither_slow_the_rate_nor_push_a_second_over_it() -> None:
    rate = 100.0
    clock = FakeTime(late=0.8 / rate)  # every sleep wakes up to 80 % of a slot late
    starts = await slots(Metronome(rate, clock.now, clock.sleep), tasks=10, each=200)
    assert busiest_second(starts) <= rate
    achieved = (len(starts) - 1) / (starts[-1] - starts[0])
    assert achieved >= 0.97 * rate  # the grid is kept (spacing from each wake-up would give 0.71)


async def test_an_idle_metronome_saves_no_burst_up() -> None:
    clock = FakeTime()
    metronome = Metronome(10.0, clock.now, clock.sleep)
    await metronome.slot()
    clock.t += 60.0  # a minute with nothing to send
    first, second, third = [await metronome.slot() for _ in range(3)]
    assert first == 1060.0 and second - first == pytest.approx(0.1) and third - second == pytest.approx(0.1)


async def test_a_pause_holds_every_slot_until_it_is_over() -> None:
    clock = FakeTime()
    pacer = Pacer(10.0, 0.0, 0.0, clock.now, clock.sleep)
    await pacer.wait(1)
    pacer.pause(5.0)  # a 429 for the whole bot
    await pacer.wait(2)
    assert clock.t >= 1005.0


async def test_each_chat_keeps_its_interval_and_a_waiting_chat_holds_no_slot() -> None:
    clock = FakeTime()
    pacer = Pacer(100.0, 1.0, 3.0, clock.now, clock.sleep)
    sent: list[tuple[float, int]] = []

    async def send(chat_id: int, times: int) -> None:
        for _ in range(times):
            await pacer.wait(chat_id)
            sent.append((clock.now(), chat_id))
            pacer.done(chat_id)

    await asyncio.gather(send(5, 4), send(-100, 3), *(send(1000 + i, 1) for i in range(50)))
    private = [t for t, c in sent if c == 5]
    group = [t for t, c in sent if c == -100]
    assert all(b - a >= 1.0 for a, b in zip(private, private[1:], strict=False))
    assert all(b - a >= 3.0 for a, b in zip(group, group[1:], strict=False))
    others = [t for t, c in sent if c >= 1000]
    assert max(others) < private[1]  # the 50 others went while chat 5 waited out its interval
    assert busiest_second([t for t, _ in sent]) <= 100


async def test_cooling_lists_only_chats_that_must_still_wait() -> None:
    clock = FakeTime()
    pacer = Pacer(100.0, 1.0, 3.0, clock.now, clock.sleep)
    for chat_id in (1, 2, -5):
        await pacer.wait(chat_id)
        pacer.done(chat_id)
    assert set(pacer.cooling()) == {1, 2, -5}
    clock.t += 1.5
    assert set(pacer.cooling()) == {-5}  # private chats' second is over; the group's 3 s are not
    pacer.pause(10.0, 2)  # a 429 for chat 2
    assert set(pacer.cooling()) == {-5, 2} and pacer.chat_ready_at(2) == pytest.approx(clock.t + 10.0)
