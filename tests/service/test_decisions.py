"""Decisions and rewards over HTTP: logged before they are answered, learned from, refused cleanly."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest

from adaptive.bandits import DecisionLog
from adaptive.errors import ValidationError
from adaptive.service.policies import load_policies
from tests.service.test_http import READ_TOKEN, WRITE_TOKEN, Server, _experiment

POLICIES = """
[policies.upload-quality]
kind = "beta-bernoulli"
actions = ["low", "high"]
refresh = "0.2s"
reward_window = "1s"

[policies.ranker]
kind = "linear"
actions = ["a", "b", "c"]
context_dim = 2
refresh = "1h"
"""


@pytest.fixture
def policies_file(tmp_path):
    path = tmp_path / "policies.toml"
    path.write_text(POLICIES)
    return path


def test_decisions_are_logged_with_their_propensities_and_the_policy_learns(storage_url, policies_file):
    _experiment(storage_url)
    server = Server(storage_url, "--policies", str(policies_file))
    log = DecisionLog(storage_url)
    try:
        answers = []
        for i in range(120):
            status, _, body = server.post("/v1/policies/upload-quality/decisions", {"context": {"user": i}},
                                          token=WRITE_TOKEN)
            assert status == 201, body
            answers.append(json.loads(body))
        # "high" pays, "low" does not.
        rewards = [{"decision_id": a["decision_id"], "value": 1.0 if a["action"] == "high" else 0.0} for a in answers]
        status, _, body = server.post("/v1/rewards", {"rewards": rewards}, token=WRITE_TOKEN)
        assert status == 201 and json.loads(body) == {"recorded": 120, "metric": "reward"}
        logged = log.joined("upload-quality").set_index("decision_id")
        for a in answers:
            row = logged.loc[a["decision_id"]]
            assert row["action"] == a["action"] and row["propensity"] == pytest.approx(a["propensity"])
            assert 0 < a["propensity"] <= 1 and row["policy_version"] == a["policy_version"]
        # Before their reward window closes, decisions teach nothing (no reward yet is not a miss).
        assert all(a["policy_version"].endswith("-v0") for a in answers[:5])
        time.sleep(1.3)  # windows closed, and past the refresh: the next decision rebuilds from the log
        later = [json.loads(server.post("/v1/policies/upload-quality/decisions", {}, token=WRITE_TOKEN)[2])
                 for _ in range(40)]
        learned = [int(a["policy_version"].rsplit("-v", 1)[1]) for a in later]
        assert learned[0] == 120 and all(120 <= n <= 160 for n in learned)
        assert sum(a["action"] == "high" for a in later) >= 36
        assert all(a["propensity"] > 0.9 for a in later if a["action"] == "high")
        # A contextual policy takes its numbers; a client-chosen id is kept and cannot be reused.
        status, _, body = server.post("/v1/policies/ranker/decisions", {"context": [0.5, -1.0], "decision_id": "req-1"},
                                      token=WRITE_TOKEN)
        assert status == 201 and json.loads(body)["decision_id"] == "req-1"
        status, _, body = server.post("/v1/policies/ranker/decisions", {"context": [0.5, -1.0], "decision_id": "req-1"},
                                      token=WRITE_TOKEN)
        assert status == 409 and json.loads(body)["error"]["field"] == "decision_id"
        assert log.joined("ranker")["context"].tolist() == [{"features": [0.5, -1.0]}]
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("path", "payload", "status", "field"),
    [
        ("/v1/policies/nope/decisions", {}, 404, "name"),
        ("/v1/policies/ranker/decisions", {"context": [1.0]}, 400, "context"),
        ("/v1/policies/ranker/decisions", {"context": [1.0, float("nan")]}, 400, "body"),
        ("/v1/policies/ranker/decisions", {"context": [1.0, True]}, 400, "context"),
        ("/v1/policies/upload-quality/decisions", {"context": [1, 2]}, 400, "context"),
        ("/v1/policies/upload-quality/decisions", {"decision_id": "has space"}, 400, "decision_id"),
        ("/v1/policies/upload-quality/decisions", {"actions": ["x"]}, 400, "actions"),
        ("/v1/rewards", {"rewards": []}, 400, "rewards"),
        ("/v1/rewards", {"rewards": [{"decision_id": "x", "value": "1"}]}, 400, "rewards[0].value"),
        ("/v1/rewards", {"rewards": [{"decision_id": "x", "value": 1, "at": "soon"}]}, 400, "rewards[0].at"),
        ("/v1/rewards", {"rewards": [{"decision_id": "never-logged", "value": 1}]}, 404, "decision_id"),
    ],
)
def test_bad_decision_and_reward_requests_write_nothing(policy_server, path, payload, status, field):
    server, url = policy_server
    body = json.dumps(payload).encode() if "nan" not in str(payload) else b'{"context": [1.0, NaN]}'
    before = len(DecisionLog(url).joined())
    code, _, answer = server.request("POST", path, body, token=WRITE_TOKEN)
    assert code == status, answer
    assert json.loads(answer)["error"]["field"] == field
    assert len(DecisionLog(url).joined()) == before


def test_decisions_need_the_write_scope(policy_server):
    server, _ = policy_server
    assert server.post("/v1/policies/upload-quality/decisions", {}, token=READ_TOKEN)[0] == 403
    assert server.post("/v1/rewards", {"rewards": [{"decision_id": "x", "value": 1}]}, token=READ_TOKEN)[0] == 403
    assert server.post("/v1/policies/upload-quality/decisions", {}, token=None)[0] == 401


@pytest.fixture(scope="module")
def policy_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("policies")
    url = f"sqlite:///{folder / 'serve.db'}"
    (folder / "policies.toml").write_text(POLICIES)
    _experiment(url)
    server = Server(url, "--policies", str(folder / "policies.toml"))
    yield server, url
    server.stop()


def test_a_killed_server_loses_no_acknowledged_decision(storage_url, policies_file):
    _experiment(storage_url)
    server = Server(storage_url, "--policies", str(policies_file))
    acknowledged: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                status, _, body = server.post("/v1/policies/upload-quality/decisions", {}, token=WRITE_TOKEN)
            except OSError:
                return  # the server is gone
            if status == 201:
                acknowledged.append(json.loads(body)["decision_id"])

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acknowledged) >= 60
    logged = set(DecisionLog(storage_url).joined("upload-quality")["decision_id"])
    assert set(acknowledged) <= logged  # every answered decision was committed first


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "policies"),
        ("[policies.p]\nkind = 'ucb'\nactions = ['a']", "policies.p.kind"),
        ("[policies.p]\nkind = 'gaussian'\nactions = []", "policies.p.actions"),
        ("[policies.p]\nkind = 'gaussian'\nactions = ['a', 'a']", "policies.p.actions"),
        ("[policies.p]\nkind = 'gaussian'\nactions = ['a']\nalpha = 1", "policies.p.alpha"),
        ("[policies.p]\nkind = 'gaussian'\nactions = ['a']\nprior_sd = -1", "prior_sd"),
        ("[policies.p]\nkind = 'linear'\nactions = ['a']", "policies.p.context_dim"),
        ("[policies.p]\nkind = 'gaussian'\nactions = ['a']\nrefresh = 'often'", "policies.p.refresh"),
        ("[policy.p]\nkind = 'gaussian'", "policies"),
    ],
)
def test_policy_files_are_checked_naming_the_field(tmp_path, text, field):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ValidationError) as caught:
        load_policies(path)
    assert caught.value.field == field


def test_a_contextless_policy_draws_each_decision_from_its_thompson_shares(sqlite_url):
    import math
    from datetime import datetime, timedelta, timezone

    from scipy.stats import norm

    from adaptive.bandits import Decision, GaussianTS
    from adaptive.service.policies import PolicySpec, ServedPolicy

    log = DecisionLog(sqlite_url)
    past = datetime.now(timezone.utc) - timedelta(days=2)  # reward windows (1 day) closed
    actions, rewards = [], []
    for i in range(40):
        action, reward = ("a", 0.3) if i % 2 else ("b", 0.1)
        decision_id = log.record("g", Decision(action, 0.5, "seed"), at=past)
        log.record_reward(decision_id, reward, at=past)
        actions.append(action)
        rewards.append(reward)
    served = ServedPolicy(PolicySpec("g", "gaussian", ("a", "b"), {"sigma": 1.0}))
    answers = [served.decide(log, None, None) for _ in range(600)]
    # GaussianTS's exact two-arm probability for the posterior the log teaches.
    reference = GaussianTS(sigma=1.0)
    reference.update([None] * 40, actions, rewards)
    (ma, va), (mb, vb) = reference.posterior("a"), reference.posterior("b")
    p_a = float(norm.cdf((ma - mb) / math.sqrt(va + vb)))
    assert 0.6 < p_a < 0.8
    for a in answers:
        assert a["propensity"] == pytest.approx(p_a if a["action"] == "a" else 1 - p_a, rel=1e-12)
        assert a["policy_version"] == "gaussian-ts-v40"
    share = sum(a["action"] == "a" for a in answers) / len(answers)
    assert abs(share - p_a) < 4 * math.sqrt(p_a * (1 - p_a) / len(answers))
    logged = log.joined("g")
    assert len(logged) == 640 and set(logged["decision_id"]) >= {a["decision_id"] for a in answers}


def test_a_group_commit_keeps_each_decisions_outcome_apart(sqlite_url):
    from adaptive.bandits._base import Decision
    from adaptive.errors import DuplicateNameError

    log = DecisionLog(sqlite_url)
    log.record("p", Decision("a", 0.5, "v1"), decision_id="taken")
    outcome = log.record_many([
        ("p", Decision("a", 0.5, "v1"), {"x": 1}, "first"),
        ("p", Decision("b", 0.5, "v1"), None, "taken"),  # already logged
        ("p", Decision("b", 1.5, "v1"), None, "bad"),  # propensity out of range
        ("p", Decision("a", 0.5, "v1"), None, "first"),  # repeated within the group
        ("p", Decision("b", 0.25, "v1"), [0.5], None),  # a new id is made
    ])
    assert outcome[0] == "first" and isinstance(outcome[4], str) and len(outcome[4]) == 32
    assert isinstance(outcome[1], DuplicateNameError) and isinstance(outcome[3], DuplicateNameError)
    assert isinstance(outcome[2], ValidationError) and outcome[2].field == "propensity"
    logged = log.joined("p").set_index("decision_id")
    assert sorted(logged.index) == sorted(["taken", "first", outcome[4]])
    assert logged.loc["first", "action"] == "a" and logged.loc[outcome[4], "propensity"] == 0.25


def test_a_group_that_races_another_writer_is_sorted_out_one_by_one(sqlite_url, monkeypatch):
    from adaptive.bandits._base import Decision
    from adaptive.errors import DuplicateNameError
    from adaptive.storage import decisions as rows_of

    log = DecisionLog(sqlite_url)
    log.record("p", Decision("a", 0.5, "v1"), decision_id="raced")
    # As if another host logged "raced" between the group's check and its insert.
    monkeypatch.setattr(rows_of, "logged_ids", lambda session, ids: set())
    outcome = log.record_many([("p", Decision("a", 0.5, "v1"), None, "mine"), ("p", Decision("b", 0.5, "v1"), None, "raced")])
    assert outcome[0] == "mine" and isinstance(outcome[1], DuplicateNameError)
    monkeypatch.undo()
    assert sorted(log.joined("p")["decision_id"]) == ["mine", "raced"]


def test_concurrent_decisions_share_commits_and_duplicates_fail_alone(storage_url, policies_file):
    _experiment(storage_url)
    server = Server(storage_url, "--policies", str(policies_file))
    statuses: list[int] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        for i in range(25):
            # Every client also sends one id all the others send: exactly one of those is logged.
            decision_id = "shared" if i == 10 else f"c{k}-{i}"
            status, _, _ = server.post("/v1/policies/upload-quality/decisions", {"decision_id": decision_id},
                                       token=WRITE_TOKEN)
            with lock:
                statuses.append(status)

    try:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        _, _, metrics = server.get("/metrics", token=READ_TOKEN)
    finally:
        server.stop()
    assert sorted(set(statuses)) == [201, 409] and statuses.count(409) == 7 and statuses.count(201) == 193
    logged = DecisionLog(storage_url).joined("upload-quality")["decision_id"]
    assert len(logged) == 193 and len(set(logged)) == 193
    text = metrics.decode()
    groups = float(next(line.split()[-1] for line in text.splitlines() if line.startswith("adaptive_decision_commits_total")))
    assert 0 < groups < 193  # several decisions per transaction under load
