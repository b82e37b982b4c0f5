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
