"""Eight processes asking and telling on one experiment at once, on SQLite and PostgreSQL."""

import multiprocessing as mp

import adaptive as ad

WORKERS = 8
CALLS_PER_WORKER = 5


def _worker(url: str, barrier, worker: int, results) -> None:
    try:
        exp = ad.load_experiment("shared", storage=url)
        barrier.wait(timeout=120)
        mine = []
        for k in range(CALLS_PER_WORKER):
            (trial,) = exp.suggest(1)
            exp.complete(trial.id, {"y": float(worker * 100 + k)})
            mine.append(trial.id)
        results.put((worker, mine, None))
    except BaseException as exc:  # report everything, including "database is locked"
        results.put((worker, [], f"{type(exc).__name__}: {exc}"))


def test_parallel_suggest_and_complete(storage_url):
    exp = ad.create_experiment(
        "shared", storage=storage_url, parameters={"x": ad.Float(0, 1), "n": ad.Int(0, 3)}, objectives=ad.Maximize("y"),
        generation=ad.GenerationSettings(initial_trials=1000),  # storage is under test here, not BO
    )
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(storage_url, barrier, w, results)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    reports = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    errors = [r[2] for r in reports if r[2]]
    assert errors == []

    trials = exp.trials()
    total = WORKERS * CALLS_PER_WORKER
    assert [t.id for t in trials] == list(range(total))  # dense, unique, none lost
    assert sorted(i for _, ids, _ in reports for i in ids) == list(range(total))
    assert all(t.status == ad.TrialStatus.COMPLETED and "y" in t.observations for t in trials)
    ys = sorted(t.observations["y"].mean for t in trials)
    assert ys == sorted(float(w * 100 + k) for w in range(WORKERS) for k in range(CALLS_PER_WORKER))
    # one shared Sobol sequence: no point proposed twice
    assert len({(t.params["x"], t.params["n"]) for t in trials}) == total


def test_a_suggest_holds_no_write_lock_while_it_proposes(storage_url, monkeypatch):
    """Model fits and acquisition run outside any write transaction: on SQLite one would lock
    the whole file, and a fleet's other rounds (other experiments) would queue behind it."""
    import threading

    from adaptive import generation

    proposing, go, waited = threading.Event(), threading.Event(), []
    real = generation.propose

    def slow_propose(*args, **kwargs):
        proposing.set()
        waited.append(go.wait(timeout=15))
        return real(*args, **kwargs)

    exp = ad.create_experiment("slow", storage=storage_url, parameters={"x": ad.Float(0, 1)}, objectives=ad.Maximize("y"))
    other = ad.create_experiment("other", storage=storage_url, parameters={"x": ad.Float(0, 1)}, objectives=ad.Maximize("y"))
    monkeypatch.setattr(generation, "propose", slow_propose)
    made, wrote = [], []
    thread = threading.Thread(target=lambda: made.extend(exp.suggest(1)), daemon=True)
    thread.start()
    try:
        assert proposing.wait(timeout=30)

        def writes():
            other.attach({"x": 0.5}, {"y": 1.0})  # a write while the proposal is being made
            exp.attach({"x": 0.25}, {"y": 2.0})  # even on the same experiment
            wrote.append(True)

        writer = threading.Thread(target=writes, daemon=True)
        writer.start()
        writer.join(timeout=10)  # a proposal under a write lock would keep these waiting
        assert wrote == [True]
    finally:
        go.set()
        thread.join(timeout=60)
    assert waited == [True, True]  # the writes did not wait for the proposal; it was made again
    assert [t.id for t in made] == [1]  # after the attach: the proposal saw trial 0
    assert [t.id for t in exp.trials()] == [0, 1]


def test_a_proposal_made_stale_by_another_call_is_made_again(storage_url, monkeypatch):
    """Two calls proposing at once never both write what each proposed from the same trials:
    the one that finds the trials changed proposes again, seeing the other's as pending."""
    import threading

    from adaptive import generation

    exp = ad.create_experiment("race", storage=storage_url, parameters={"x": ad.Float(0, 1)}, objectives=ad.Maximize("y"))
    rival = ad.load_experiment("race", storage=storage_url)
    real, seen = generation.propose, []

    rival_done = []

    def racing_propose(space, config, trials, n, **kwargs):
        seen.append([t.id for t in trials])
        if len(seen) == 1:  # another call lands while this one proposes
            other = threading.Thread(target=lambda: rival_done.extend(rival.suggest(1)), daemon=True)
            other.start()
            other.join(timeout=10)  # a proposal under the experiment's lock would keep it waiting
        return real(space, config, trials, n, **kwargs)

    monkeypatch.setattr(generation, "propose", racing_propose)
    (mine,) = exp.suggest(1)
    assert len(rival_done) == 1
    assert seen == [[], [], [0]]  # ours from no trials, the rival's, ours again seeing the rival's
    trials = exp.trials()
    assert [t.id for t in trials] == [0, 1] and mine.id == 1
    assert trials[0].params != trials[1].params  # one Sobol sequence: the second point, not the first again
