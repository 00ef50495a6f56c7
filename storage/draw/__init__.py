"""The lucky draw: commit to a secret seed first, draw with it later and reveal it, so anyone can re-run it.

How a draw goes (staff run it with `/draw`, admins only):

1. **Commit** (`commit`): a random 32-byte seed is made and stored; its SHA-256 is published in
   the staff chat with the number of entrants at that moment. From now on the seed cannot change
   without the published hash giving it away.
2. **Draw** (`draw`): the entrants are collected again (eligibility re-checked now, see below),
   sorted, and `replay(seed, entrants, winners, reserves)` picks the winners and the reserves. The
   seed is revealed; the Draw row and the audit log keep seed, hash, entrants, winners and
   reserves; every entrant's member is told the result through the outbox, in their language.
   Anyone holding the published list can check `sha256(seed) == hash` and re-run `replay`.
3. **Cancel** (`cancel`): an open commitment can be withdrawn (audited with its seed, announced
   with its seed); the Draw row is deleted, the audit log keeps it.

**Answers and reserves** (`answer`, `replace_lapsed`): each winner's message carries a "Claim my
prize" button (queued as the customer's `prize` action with the draw id; the bot turns it into a
button that works at any step) and its deadline (queued as a date, written in the winner's
language when sent): the end of the day, in the
promotion's time zone, `Promotion.draw_answer_days` days after the winner was told (default 14;
`lucky_draw.answer_days` in the promotions file). Pressing it in time records the answer and tells
staff; pressed later it is refused. A timed job (`replace_lapsed`, run by the bot's runtime every
minute) lapses every winner whose deadline passed without an answer, and calls in the first
reserve, in drawn order, not called in before, whose claim is still an entry (the entrant rules
below, checked again at that moment; a reserve who is out is skipped, for good). The new winner
gets the winner's message with a deadline counted from then, the lapsed winner a short note, staff
an announcement (or "no reserve left"), the audit log `draw.replaced` / `draw.reserves_exhausted`.
Since reserves are used in drawn order, `replay` still explains every prize.

The state lives in `Draw.answers` (JSON), one entry per order ID that has been a winner or a called-in
or skipped reserve, in the order it happened::

    {"a1b2c3": {"state": "waiting" | "answered" | "lapsed" | "skipped",
                "rank": null (a drawn winner) or the reserve's rank (1 = first reserve),
                "since": ISO time told,  "deadline": ISO time (UTC) the answer is due,
                "answered_at": ISO,                          (answered)
                "lapsed_at": ISO, "replaced_by": ID | null,  (lapsed; null: no reserve was left)
                "replaces": ID,                              (a called-in reserve)
                "why": [reason, …]}}                         (skipped: why it was no entry then)

`Draw.answer_due_at` is the earliest deadline of a winner still waiting (NULL when none), so the
job finds due draws with one indexed comparison and running it again changes nothing. A reserve
not in `answers` is unused. `Draw.winners` and `Draw.reserves` stay as drawn, so `verify` holds.
A member with two winning entries in one draw answers for both with one press. Draws made before
answers were tracked have `answers` NULL and are left alone.

At most `MAX_WINNERS` winners and `MAX_RESERVES` reserves per draw, so the staff announcement,
which lists them all, fits one Telegram message. `verify(row)` re-checks a stored draw, and
`python -m bot draw verify ID` prints it for publishing.

**Who is an entrant** (checked at draw time, not at commit time):

* a claim of this promotion whose status is *approved* now (a claim reopened after the commit
  is out) and whose customer answered *yes* to the lucky draw (their latest answer);
* the member has not deleted their data;
* every product of the claim still passes `eligibility.reasons` — model, invoice date inside the
  window, country of residence and of purchase, invoice photo present — *except* "promotion not
  running" and "redemption deadline passed": a draw is usually held after the redemption period
  ends;
* the claim has not already won an earlier draw of the same promotion, as a drawn winner or a
  called-in reserve (reserves who were never called in may be drawn again).

Each approved, opted-in claim is one entry: the guide asks the lucky-draw question per
redemption, so a member with two such claims has two chances (and may win twice).

The seed waits in `Draw.seed` until the draw: the chat never shows it before, but whoever can
read the database can. The commitment guards against changing the seed afterwards, not against
the database's operators.

**The algorithm** (`replay`), plain enough to re-implement in any language:

* entrants: the distinct order IDs, sorted ascending (they are lower-case ASCII);
* a byte stream: SHA-256(seed ‖ "draw" ‖ counter as 8 bytes big-endian) for counter = 0, 1, 2, …,
  concatenated;
* `below(m)`: take the next 8 bytes as a big-endian unsigned integer x; if
  x ≥ 2^64 − (2^64 mod m) take the next 8 (no modulo bias), else the answer is x mod m;
* a partial Fisher–Yates shuffle: for i = 0 … k−1, j = i + below(len − i), swap pool[i] and
  pool[j], with k = min(winners + reserves, len). Winners are the first `winners` picked (at most
  all entrants), reserves the rest, in the order drawn (reserve 1 first).

Every entrant is equally likely to be picked, and every ordered choice equally likely.

**Where each part lives**: `seed` (the pure algorithm and `verify`), `entrants` (who takes part,
the promotion lookup, refusals, the staff announcement), `running` (commit, draw, cancel),
`state` (the answer states, deadlines and the claim button), `answers` (the winner's answer) and
`reserves` (the timed job calling reserves in). This package re-exports them all, so
`from storage import draw` keeps working.
"""

from __future__ import annotations

from storage.draw.answers import Answer, AnswerOutcome, answer
from storage.draw.entrants import (
    MAX_RESERVES,
    MAX_WINNERS,
    DrawError,
    DrawRefused,
    Entrants,
    entrants,
    prize_text,
)
from storage.draw.reserves import Replacement, replace_lapsed
from storage.draw.running import Outcome, cancel, commit, draw, get, open_commitments
from storage.draw.seed import SEED_BYTES, Result, new_seed, replay, seed_hash, verify
from storage.draw.state import (
    ANSWERED,
    CLAIM_ACTION,
    LAPSED,
    PROOF_ACTION,
    SKIPPED,
    WAITING,
    answer_deadline,
    claim_buttons,
    last_answer_day,
    proof_buttons,
)
from storage.models import Claim, ClaimStatus, Draw, Member, Promotion, RegisteredProduct
from storage.texts import promotion_name

__all__ = [
    "ANSWERED",
    "CLAIM_ACTION",
    "LAPSED",
    "MAX_RESERVES",
    "MAX_WINNERS",
    "PROOF_ACTION",
    "SEED_BYTES",
    "SKIPPED",
    "WAITING",
    "Answer",
    "AnswerOutcome",
    "Claim",
    "ClaimStatus",
    "Draw",
    "DrawError",
    "DrawRefused",
    "Entrants",
    "Member",
    "Outcome",
    "Promotion",
    "RegisteredProduct",
    "Replacement",
    "Result",
    "answer",
    "answer_deadline",
    "cancel",
    "claim_buttons",
    "commit",
    "draw",
    "entrants",
    "get",
    "last_answer_day",
    "new_seed",
    "open_commitments",
    "prize_text",
    "proof_buttons",
    "promotion_name",
    "replace_lapsed",
    "replay",
    "seed_hash",
    "verify",
]
