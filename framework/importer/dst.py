"""Naive stamps at a daylight-saving change: a local time the clocks skip (spring forward)
does not exist, one they pass twice (fall back) is ambiguous. Either is refused unless the
user chose a policy: `earliest` or `latest` takes the earlier or later of the instants the
two offsets around the change give.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mismartera.importer.stamps import DAY_NS, utc_offsets

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

DST_POLICIES = ("refuse", "earliest", "latest")

I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


def resolve(ts: I64, wall: I64, naive: B8, tz: ZoneInfo, policy: str) -> tuple[I64, B8, B8]:
    """`ts` with naive stamps (wall time `wall`, ns) at a DST change resolved by `policy`,
    and the masks of stamps that do not exist and that are ambiguous (left to the caller to
    refuse; all False unless the policy is `refuse`)."""
    if policy not in DST_POLICIES:
        raise ValueError(f"dst policy {policy!r}: expected one of {', '.join(DST_POLICIES)}")
    none = np.zeros(len(ts), np.bool_)
    if not naive.any():
        return ts, none, none
    before = utc_offsets(wall - DAY_NS, naive, tz)
    after = utc_offsets(wall + DAY_NS, naive, tz)
    near = naive & (before != after)
    if not near.any():
        return ts, none, none
    first, second = wall - before, wall - after
    ok_first = utc_offsets(first, near, tz) == before
    ok_second = utc_offsets(second, near, tz) == after
    gap = near & ~ok_first & ~ok_second
    twice = near & ok_first & ok_second
    if policy == "refuse":
        return ts, gap, twice
    pick = np.minimum if policy == "earliest" else np.maximum
    out = np.where(gap | twice, pick(first, second), ts)
    return np.ascontiguousarray(out, np.int64), none, none
