"""Synthetic event logs with known effects: what to point the attribution pipeline at before
real logs exist (docs/events.md), reused by the tests and benchmarks.

Members get one or more decisions among ``arms`` (uniform propensity), most are
shown the arm a few minutes later (some twice, some never; a few treatments have
no intent), then play with a rate that depends on the arm. A share of events is
duplicated, and some arrive late (``ingested_at`` well after ``ts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def generate_logs(
    n_members: int,
    *,
    arms: Sequence[str] = ("0", "1", "2"),
    experiment: str = "exp",
    events_per_member: float = 8.0,
    arm_lift: Sequence[float] | None = None,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """``{"intents", "treatments", "activity"}`` frames for ``n_members`` members.

    About ``events_per_member`` activity events per member (``play`` with a value in
    minutes, and ``session``), spread over 6 hours after the member's decision. Arm
    ``i`` multiplies the play rate by ``arm_lift[i]`` (default 1, 1.1, 1.2, ...).
    """
    rng = np.random.default_rng(seed)
    k = len(arms)
    lift = np.asarray(arm_lift if arm_lift is not None else [1 + 0.1 * i for i in range(k)], dtype=float)
    start_us = int(START.timestamp() * 1_000_000)
    hour = 3_600_000_000
    members = np.arange(n_members)
    # A fifth of the members get a second decision later on.
    second = members[rng.random(n_members) < 0.2]
    who = np.concatenate([members, second])
    n_dec = who.size
    arm_idx = rng.integers(0, k, n_dec)
    decided = start_us + rng.integers(0, 24 * hour, n_dec)
    decided[n_members:] = decided[second] + 3 * hour + rng.integers(0, hour, second.size)
    decision_ids = np.array([f"d{i}" for i in range(n_dec)])
    member_ids = np.array([f"m{i}" for i in who])
    intents = pd.DataFrame({
        "decision_id": decision_ids, "member_id": member_ids, "experiment": experiment,
        "arm": np.asarray(arms, dtype=object)[arm_idx], "policy_version": "v1", "propensity": 1.0 / k,
        "ts": pd.to_datetime(decided, unit="us", utc=True),
    })
    # Treatments: 90% shown within 10 minutes, 10% of those shown twice; 1% orphans.
    shown = rng.random(n_dec) < 0.9
    t_idx = np.flatnonzero(shown)
    twice = t_idx[rng.random(t_idx.size) < 0.1]
    t_src = np.concatenate([t_idx, twice])
    t_time = decided[t_src] + rng.integers(0, 600_000_000, t_src.size)
    orphans = rng.integers(0, n_dec, max(1, n_dec // 100))
    t_src = np.concatenate([t_src, orphans])
    t_time = np.concatenate([t_time, decided[orphans] + 5 * hour])  # outside the exposure window
    treatments = pd.DataFrame({
        "event_id": [f"t{i}" for i in range(t_src.size)], "member_id": member_ids[t_src], "experiment": experiment,
        "arm": np.asarray(arms, dtype=object)[arm_idx[t_src]], "ts": pd.to_datetime(t_time, unit="us", utc=True),
        "device": np.where(rng.random(t_src.size) < 0.5, "ios", "web"),
    })
    # Activity: Poisson counts per decision, scaled by the arm's lift for plays.
    n_events = rng.poisson(events_per_member * lift[arm_idx] / lift.mean())
    e_src = np.repeat(np.arange(n_dec), n_events)
    e_time = decided[e_src] + rng.integers(0, 6 * hour, e_src.size)
    is_play = rng.random(e_src.size) < 0.7
    value = np.where(is_play, np.round(rng.exponential(20.0, e_src.size), 3), 1.0)
    ingested = e_time + rng.integers(0, 60_000_000, e_src.size)
    late = rng.random(e_src.size) < 0.02
    ingested[late] += 12 * hour
    activity = pd.DataFrame({
        "event_id": [f"a{i}" for i in range(e_src.size)], "member_id": member_ids[e_src],
        "event_type": np.where(is_play, "play", "session"), "value": value,
        "ts": pd.to_datetime(e_time, unit="us", utc=True), "ingested_at": pd.to_datetime(ingested, unit="us", utc=True),
    })
    # 1% of activity rows delivered twice.
    dup = activity.sample(frac=0.01, random_state=seed)
    activity = pd.concat([activity, dup], ignore_index=True).sample(frac=1.0, random_state=seed + 1, ignore_index=True)
    return {"intents": intents, "treatments": treatments, "activity": activity}


def generate_daily_logs(
    members_per_day: int,
    days: int,
    *,
    members: int | None = None,
    late_share: float = 0.01,
    late_days: tuple[float, float] = (2.0, 10.0),
    seed: int = 0,
    **options,
) -> dict[str, pd.DataFrame]:
    """``days`` consecutive days of :func:`generate_logs` (day ``i`` starts ``i`` days after
    ``START``), ids unique across days, members drawn from a pool of ``members`` (default:
    three days' worth) so that members come back on later days, and ``late_share`` of the
    activity ingested ``late_days`` (from, to) days after it happened (late events landing in
    old days)."""
    rng = np.random.default_rng(seed)
    pool = members or 3 * members_per_day
    day_us = 86_400_000_000
    out: dict[str, list[pd.DataFrame]] = {"intents": [], "treatments": [], "activity": []}
    for day in range(days):
        logs = generate_logs(members_per_day, seed=seed * 1000 + day, **options)
        ids = rng.choice(pool, members_per_day, replace=False)
        shift = pd.Timedelta(days=day)
        for table, frame in logs.items():
            frame = frame.copy()
            number = frame["member_id"].str.slice(1).astype(int).to_numpy()
            frame["member_id"] = [f"m{i}" for i in ids[number]]
            id_column = "decision_id" if table == "intents" else "event_id"
            frame[id_column] = f"{day}-" + frame[id_column]
            frame["ts"] = frame["ts"] + shift
            if "ingested_at" in frame:
                frame["ingested_at"] = frame["ingested_at"] + shift
            out[table].append(frame)
    logs = {table: pd.concat(frames, ignore_index=True) for table, frames in out.items()}
    activity = logs["activity"]
    late = rng.random(len(activity)) < late_share
    delay = rng.integers(int(late_days[0] * day_us), int(late_days[1] * day_us), int(late.sum()))
    activity.loc[late, "ingested_at"] = activity.loc[late, "ts"] + pd.to_timedelta(delay, unit="us")
    return logs


def write_daily_partitions(frame: pd.DataFrame, folder: Path, *, until: datetime | None = None) -> Path:
    """``frame`` as Parquet files partitioned by the UTC date of ``ts`` (``dt=YYYY-MM-DD/part-0.parquet``),
    rows ingested after ``until`` left out (the log as it stood then)."""
    folder.mkdir(parents=True, exist_ok=True)
    if until is not None:
        ingested = frame["ingested_at"] if "ingested_at" in frame else frame["ts"]
        frame = frame[ingested <= pd.Timestamp(until)]
    for day, part in frame.groupby(frame["ts"].dt.strftime("%Y-%m-%d")):
        target = folder / f"dt={day}"
        target.mkdir(exist_ok=True)
        part.to_parquet(target / "part-0.parquet", index=False)
    return folder
