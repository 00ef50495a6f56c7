"""What does invoice intake cost next to the simplest thing Pillow can do with the same photo?

    .venv/bin/python bench/intake.py [--rounds 9] [--width 4000 --height 3000]

One 12 MP phone-camera JPEG (bench/upload.py's label photo: sensor noise, a few MB), taken
through both paths, alternately, in one process:

* naive: ``Image.open`` → ``thumbnail((1600, 1600))`` → ``save(JPEG)``, Pillow's defaults;
* intake: ``MediaStore.save`` (every check of storage/media.py, EXIF orientation, ≤1600 px,
  encode, sha256, atomic write), and ``normalize_image`` alone.

Prints the median of each over the rounds and the ratios (intake / naive: lower is better), of the
medians, of the fastest rounds and of the CPU time (the last two are what a busy machine's noise
disturbs least).
Only ratios of one run mean anything; the machine's speed cancels out.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.upload import label_photo  # noqa: E402
from storage.media import ImageRules, MediaStore, normalize_image  # noqa: E402


def naive(data: bytes) -> bytes:
    """What a hurried developer writes: open, thumbnail to the limit, save."""
    img = Image.open(io.BytesIO(data))
    img.thumbnail((ImageRules().max_width, ImageRules().max_width))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): on a shared machine the CPU time is what other
    processes' load disturbs least."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args()
    photo = label_photo(args.width, args.height)
    print(f"photo: {args.width}x{args.height} JPEG, {len(photo) / 1e6:.1f} MB; {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as folder:
        store = MediaStore(Path(folder))
        runs: dict[str, list[float]] = {"naive": [], "intake": [], "normalize": []}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        work: dict[str, Callable[[], object]] = {
            "naive": lambda: naive(photo),
            "intake": lambda: store.save(photo),
            "normalize": lambda: normalize_image(photo),
        }
        names = list(work)
        for round_ in range(args.rounds):
            # Alternate, and rotate who goes first: drifts of the machine hit all paths alike, and
            # so does the cost of the first allocation after the naive path freed its 36 MB.
            for name in names[round_ % 3 :] + names[: round_ % 3]:
                wall, used = timed(work[name])
                runs[name].append(wall)
                cpu[name].append(used)
            for path in Path(folder).rglob("*.jpg"):  # a second save would only touch the file
                path.unlink()
    median = {name: statistics.median(times) for name, times in runs.items()}
    best = {name: min(times) for name, times in runs.items()}
    used = {name: statistics.median(times) for name, times in cpu.items()}
    for name, value in median.items():
        print(f"{name:>10}: {value * 1000:7.1f} ms (fastest {best[name] * 1000:.1f}, CPU {used[name] * 1000:.1f})")
    for name in ("intake", "normalize"):
        print(
            f"{name} / naive: {median[name] / median['naive']:.2f}x of the medians, "
            f"{best[name] / best['naive']:.2f}x of the fastest rounds, {used[name] / used['naive']:.2f}x of CPU time"
        )


if __name__ == "__main__":
    main()
