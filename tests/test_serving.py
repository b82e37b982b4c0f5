"""Sticky, deterministic assignment from an exported distribution."""

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy.stats import chisquare

from adaptive import serving

DOC = {
    "schema_version": 1, "experiment": "feed", "version": 3, "created_at": "2026-11-29T00:00:00+00:00",
    "arms": [
        {"name": "a", "params": {"x": 0.1}, "weight": 0.5},
        {"name": "b", "params": {"x": 0.2}, "weight": 0.3},
        {"name": "c", "params": {"x": 0.3}, "weight": 0.2},
    ],
}
AT = datetime(2026, 11, 29, 10, 15, tzinfo=timezone.utc)


def test_same_member_same_arm_within_the_hour_and_reshuffled_across_hours():
    dist = serving.load(DOC)
    first = [serving.assign(dist, member_id=f"m-{i}", at=AT).name for i in range(2000)]
    later = [serving.assign(dist, member_id=f"m-{i}", at=AT + timedelta(minutes=44)).name for i in range(2000)]
    next_hour = [serving.assign(dist, member_id=f"m-{i}", at=AT + timedelta(hours=1)).name for i in range(2000)]
    assert first == later
    changed = sum(a != b for a, b in zip(first, next_hour)) / 2000
    assert 0.4 < changed < 0.8  # independent draws: 1 - (0.25 + 0.09 + 0.04) = 0.62


def test_proportions_match_weights_over_100k_members():
    dist = serving.load(DOC)
    arms = serving.assign_many(dist, np.arange(100_000), at=AT)
    counts = np.bincount(arms, minlength=3)
    result = chisquare(counts, f_exp=np.array([0.5, 0.3, 0.2]) * 100_000)
    assert result.pvalue > 1e-3


def test_batch_equals_single_for_int_and_string_ids():
    dist = serving.load(DOC)
    ints = np.array([0, 1, 42, -7, 2**63 - 1, 123456789012], dtype=np.int64)
    assert serving.assign_many(dist, ints, at=AT).tolist() == [
        dist.arms.index(serving.assign(dist, int(m), at=AT)) for m in ints
    ]
    names = ["m-1", "ünïcode", "", "m-42"]
    assert serving.assign_many(dist, names, at=AT).tolist() == [
        dist.arms.index(serving.assign(dist, m, at=AT)) for m in names
    ]
    # Many lengths, multi-byte text, and integers mixed in one list (as a JSON batch sends them).
    mixed = [f"member-{i}" * (i % 5) + "é" * (i % 3) for i in range(3000)] + [7, -1, 2**64 + 5, "42", 42]
    assert serving.assign_many(dist, mixed, at=AT).tolist() == [
        dist.arms.index(serving.assign(dist, m, at=AT)) for m in mixed
    ]
    with pytest.raises(ValueError, match="member_id=True"):
        serving.assign_many(dist, ["a", True], at=AT)


def test_hash_is_stable_across_releases():
    # Pinned: changing the hash would move every member to another arm.
    assert serving.member_key("m-42") == 0x2833A4A3F5EE1529
    assert serving.member_key(-1) == 2**64 - 1
    assert serving._fnv1a64("") == 0xCBF29CE484222325
    assert serving._fnv1a64("a") == 0xAF63DC4C8601EC8C  # published FNV-1a-64 test vector
    assert serving._splitmix64(0) == 0xE220A8397B1DCDAF  # first output of splitmix64 seeded 0


def test_naive_times_are_utc_and_bucket_length_counts():
    dist = serving.load(DOC)
    naive = AT.replace(tzinfo=None)
    assert serving.assign(dist, "m-1", at=naive) == serving.assign(dist, "m-1", at=AT)
    assert serving.bucket_index(AT, timedelta(days=1)) == serving.bucket_index(AT + timedelta(hours=5), timedelta(days=1))
    with pytest.raises(ValueError, match="bucket"):
        serving.bucket_index(AT, timedelta(0))


def test_same_arm_in_another_process(tmp_path):
    path = tmp_path / "dist.json"
    path.write_text(json.dumps(DOC))
    code = (
        "import sys, json\n"
        "from datetime import datetime, timezone\n"
        "from adaptive import serving\n"
        f"dist = serving.load({str(path)!r})\n"
        "at = datetime(2026, 11, 29, 10, 15, tzinfo=timezone.utc)\n"
        "names = [serving.assign(dist, f'm-{i}', at=at).name for i in range(200)]\n"
        "print(json.dumps({'names': names, 'torch': 'torch' in sys.modules, 'numpy': 'numpy' in sys.modules}))\n"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    dist = serving.load(DOC)
    assert out["names"] == [serving.assign(dist, f"m-{i}", at=AT).name for i in range(200)]
    assert out["torch"] is False and out["numpy"] is False


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"schema_version": 99}, "schema_version"),
        ({"arms": []}, "at least one arm"),
        ({"arms": [{"name": "a", "params": {}, "weight": -1}]}, "weight"),
        ({"arms": [{"name": "a", "params": {}, "weight": float("nan")}]}, "weight"),
        ({"arms": [{"name": "a", "params": {}, "weight": 0.0}]}, "sum to zero"),
        ({"arms": [{"name": "a", "params": {}, "weight": 1e308}, {"name": "b", "params": {}, "weight": 1e308}]},
         "cannot be normalized"),
        ({"arms": [{"name": "a", "params": {}}]}, r"arms\[0\]\.weight=None"),
        ({"arms": [{"name": "a", "params": {}, "weight": "0.5"}]}, r"arms\[0\]\.weight='0.5'"),
        ({"arms": [{"name": "a", "params": {}, "weight": True}]}, r"arms\[0\]\.weight=True"),
        ({"arms": [{"name": "a", "params": [1], "weight": 1}]}, r"arms\[0\]\.params"),
        ({"arms": [{"params": {}, "weight": 1}]}, r"arms\[0\]\.name"),
        ({"arms": ["a"]}, r"arms\[0\]="),
        ({"arms": {"a": 1}}, "arms="),
        ({"arms": None}, "arms=None"),
        ({"experiment": None}, "experiment=None"),
        ({"version": "3"}, "version='3'"),
        ({"schema_version": True}, "schema_version"),
    ],
)
def test_bad_documents(change, fragment):
    with pytest.raises(ValueError, match=fragment):
        serving.load({**DOC, **change})


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"schema_version": 1,', "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply|expected a JSON object"),
        ("/no/such/export.json", "cannot be read"),
        (42, "expected a file path"),
    ],
)
def test_malformed_sources_raise_value_errors_naming_the_problem(source, fragment):
    with pytest.raises(ValueError, match=fragment):
        serving.load(source)


def test_a_file_holding_bad_json_is_named(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ValueError, match="cannot be read"):
        serving.load(path)
    path.write_text("[]")
    with pytest.raises(ValueError, match="got list"):
        serving.load(str(path))
    path.write_text("{oops")
    with pytest.raises(ValueError, match="x.json.*not valid JSON"):
        serving.load(path)


def test_bool_member_id_is_rejected():
    with pytest.raises(ValueError, match="member_id"):
        serving.assign(serving.load(DOC), True)
