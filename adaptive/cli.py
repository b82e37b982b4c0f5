"""The ``adaptive`` command. Each subcommand parses, opens the database, calls the
public API and returns an exit code; bad input ends in one line on stderr."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from adaptive.errors import AdaptiveError, ValidationError

if TYPE_CHECKING:  # pandas is imported by the commands that print tables: --help stays fast
    import pandas as pd

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BUSY = 3  # another round of the experiment holds the lock; nothing was done
EXIT_DEGRADED = 4  # the round ran, but its metric source failed or sent refused rows
PROGRESS_COMMANDS = {"demo", "report", "export"}


def _storage_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage", default=None, metavar="URL",
        help="database URL (default: $ADAPTIVE_DATABASE_URL, else sqlite:///adaptive.db)",
    )


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from adaptive.storage import Database, migrate

    db = Database(args.storage, check_schema=False)
    try:
        revision = migrate.upgrade(db.engine, args.revision)
    finally:
        db.close()
    print(f"{db.masked_url}: schema at revision {revision}")
    return EXIT_OK


def cmd_db_current(args: argparse.Namespace) -> int:
    from adaptive.storage import Database, migrate

    db = Database(args.storage, check_schema=False, create=False)
    try:
        with db.engine.connect() as conn:
            current = migrate.current_revision(conn)
            has_tables = migrate.has_any_table(conn)
    finally:
        db.close()
    head = migrate.head_revision()
    if current == head:
        state = "up to date"
    elif current is None and has_tables:
        state = "tables but no adaptive schema version: not an adaptive database; point adaptive at its own database"
    elif current is None:
        state = f"no adaptive schema yet; 'adaptive db upgrade' creates it at {head}"
    elif current not in migrate.known_revisions():
        state = f"written by a newer adaptive (this one knows up to {head}); upgrade the package, not the database"
    else:
        state = f"head is {head}; run: adaptive db upgrade --storage '{db.masked_url}'"
    print(f"{db.masked_url}: revision {current or 'none'} ({state})")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    import pandas as pd

    from adaptive.demo.experiments import run_demo, run_online_offline_demo

    if args.online_offline:
        exp, results = run_online_offline_demo(args.storage, rounds=args.rounds)
    else:
        exp, results = run_demo(args.storage, rounds=args.rounds, batch=args.batch)
    for r in results:
        print(f"round {r.round_number}: {r.status.lower()}, completed {r.counts.get('completed', 0)}, "
              f"proposed {sum(r.counts.get('proposed', {}).values())}")
    frame = exp.trials_frame()
    print(f"experiment {exp.name!r} in {exp.database.masked_url}: {len(frame)} trials")
    if args.online_offline:
        with pd.option_context("display.width", 160, "display.precision", 3):
            print(exp.source_report().drop(columns=["reason"]).to_string(index=False))
        return EXIT_OK
    front = exp.pareto_frontier()
    columns = ["trial_id", "viral_weight", "posts_to_load", "ranker", "engagement", "cpu_ms"]
    with pd.option_context("display.width", 120, "display.precision", 3):
        print("observed Pareto frontier (maximize engagement, minimize cpu_ms):")
        print(front[columns].to_string(index=False))
    return EXIT_OK


def _weights(items: list[str] | None) -> dict[str, float] | None:
    if not items:
        return None
    out = {}
    for item in items:
        metric, _, value = item.partition("=")
        try:
            out[metric] = float(value)
        except ValueError:
            raise ValidationError("--weight", item, "expected METRIC=NUMBER") from None
    return out


def cmd_export(args: argparse.Namespace) -> int:
    from adaptive.experiment import load_experiment

    exp = load_experiment(args.name, storage=args.storage)
    dist = exp.export_distribution(
        prefer=args.prefer, constraints=args.constraint or [], weights=_weights(args.weight),
        top_k=args.top_k, min_weight=args.min_weight, n_draws=args.draws, path=args.output,
    )
    print(f"{args.output}: {exp.name!r} export version {dist.version}, {len(dist.arms)} arms")
    for arm in dist.arms:
        print(f"  {arm.weight:6.3f}  {arm.name}  {arm.params}")
    return EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    from adaptive.cron.apply_config import apply_config
    from adaptive.cron.config import load_config

    config = load_config(args.config)
    if args.command == "create":
        from adaptive.experiment import list_experiments

        if config.name in list_experiments(storage=args.storage):
            raise ValidationError("name", config.name, "exists already; use 'adaptive apply' to update it")
    exp, outcome = apply_config(config, storage=args.storage)
    print(f"{exp.name}: {outcome} ({exp.database.masked_url})")
    return EXIT_OK


def cmd_round(args: argparse.Namespace) -> int:
    if args.all or args.config_dir:
        return _fleet_round(args)
    from adaptive.cron.rounds import run_round

    name = args.name
    if args.config:
        from adaptive.cron.apply_config import apply_config
        from adaptive.cron.config import load_config

        config = load_config(args.config)
        name = apply_config(config, storage=args.storage)[0].name
    if not name:
        raise ValidationError("name", None, "give an experiment name or --config FILE")
    result = run_round(name, storage=args.storage)
    if result.status == "BUSY":
        print(f"{name}: another round is running; nothing done", file=sys.stderr)
        return EXIT_BUSY
    for error in result.errors:
        print(f"adaptive: warning: {error}", file=sys.stderr)
    print(f"{name}: round {result.round_number} {result.status.lower()} in {result.seconds:.1f}s: "
          + ", ".join(f"{k}={v}" for k, v in result.counts.items()))
    return {"DONE": EXIT_OK, "DEGRADED": EXIT_DEGRADED}.get(result.status, EXIT_ERROR)


def _fleet_round(args: argparse.Namespace) -> int:
    from adaptive.cron.fleet import run_due_rounds

    fleet = run_due_rounds(args.storage, config_dir=args.config_dir, workers=args.workers)
    for r in fleet.rounds:
        if r.status in ("BUSY", "SKIPPED"):
            print(f"{r.experiment}: {'held' if r.status == 'BUSY' else 'run'} by another host or process; skipped")
            continue
        for error in r.errors:
            print(f"adaptive: warning: {r.experiment}: {error}", file=sys.stderr)
        print(f"{r.experiment}: round {r.round_number} {r.status.lower()} in {r.seconds:.1f}s: "
              + ", ".join(f"{k}={v}" for k, v in r.counts.items()))
    for name, error in fleet.failed.items():
        print(f"adaptive: error: {name}: {error}", file=sys.stderr)
    errors = fleet.failures
    print(f"fleet: {len(fleet.rounds)} due ({fleet.count('DONE')} done, {fleet.count('DEGRADED')} degraded, "
          f"{errors} failed, {fleet.count('BUSY') + fleet.count('SKIPPED')} run elsewhere), {len(fleet.not_due)} not due, "
          f"in {fleet.seconds:.1f}s")
    return EXIT_ERROR if errors else EXIT_DEGRADED if fleet.count("DEGRADED") else EXIT_OK


def _table(frame: pd.DataFrame, output: str) -> None:
    """Print ``frame`` as a table, CSV or JSON (a list of records; NaN as null, times in ISO 8601)."""
    import pandas as pd

    if output == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif output == "json":
        print(frame.to_json(orient="records", date_format="iso", double_precision=15, indent=1))
    else:
        with pd.option_context("display.width", 160, "display.max_columns", 50, "display.precision", 4):
            print(frame.to_string(index=False) if len(frame) else "(none)")


def _records(rows: list[dict[str, Any]], output: str) -> None:
    """Print plain rows as :func:`_table` prints a frame, without importing pandas (status and
    rounds are what an operator runs most, so they start fast)."""
    import csv
    import json
    from datetime import datetime

    columns = list(dict.fromkeys(key for row in rows for key in row))
    if output == "json":
        def default(value: object) -> str:
            if isinstance(value, datetime):
                return value.isoformat()
            raise TypeError(f"{type(value).__name__} is not JSON serializable")

        print(json.dumps([{c: row.get(c) for c in columns} for row in rows], indent=1, default=default))
    elif output == "csv":
        writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: "" if row.get(c) is None else row[c] for c in columns} for row in rows)
    elif not rows:
        print("(none)")
    else:
        cells = [[str(c) for c in columns]] + [["" if row.get(c) is None else str(row[c]) for c in columns] for row in rows]
        widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
        for line in cells:  # right-aligned like pandas' tables
            print(" ".join(cell.rjust(width) for cell, width in zip(line, widths)).rstrip())


def _output_args(parser: argparse.ArgumentParser) -> None:
    formats = parser.add_mutually_exclusive_group()
    formats.add_argument("--csv", dest="output", action="store_const", const="csv", default="table",
                         help="CSV instead of a table")
    formats.add_argument("--json", dest="output", action="store_const", const="json",
                         help="JSON (a list of records) instead of a table")


def cmd_status(args: argparse.Namespace) -> int:
    from collections import Counter
    from datetime import datetime, timezone

    from adaptive._paths import bypasses
    from adaptive.spec import SPEC_VERSION, read_spec
    from adaptive.storage import Database
    from adaptive.storage import repository as repo

    db = Database(args.storage, create=False)
    now = datetime.now(timezone.utc)
    names = [args.name] if args.name else db.run(repo.experiment_names, readonly=True)
    rows = []
    for name in names:
        def read(session, n=name):  # noqa: ANN001, ANN202 - one read transaction per experiment
            stored = repo.get_experiment(session, n)
            return (stored, repo.load_trials(session, stored), repo.rounds(session, stored, limit=1),
                    repo.export_versions(session, stored))

        stored, trials, last, exports = db.run(read, readonly=True)
        try:
            read_spec(stored.spec, SPEC_VERSION)  # validated without loading the modelling stack
        except AdaptiveError as exc:
            if args.name:
                raise
            # one unreadable experiment must not hide the others
            rows.append({"experiment": name, "error": str(exc).splitlines()[0]})
            continue
        counts = Counter(t.status.value for t in trials)
        row = {
            "experiment": name, "trials": len(trials), "running": counts.get("RUNNING", 0),
            "completed": counts.get("COMPLETED", 0), "failed": counts.get("FAILED", 0),
            "last_round": f"{last[0]['status']} {last[0]['started_at']:%Y-%m-%d %H:%M}" if last else "-",
            "next_round": _next_round(stored.spec, last[0]["started_at"] if last else None, now, args.output),
            "exports": len(exports),
            # the last round's quasi-random fallbacks and fits or posteriors off the fast paths
            "fallbacks": (last[0]["counts"] or {}).get("fallbacks", 0) if last else 0,
            "slow_paths": bypasses((last[0]["counts"] or {}).get("paths") or {}) if last else 0,
            "last_error": _short(last[0]["error"]) if last else "",
        }
        if args.output != "table":  # machine-readable: fields apart, errors in full
            row.update(
                abandoned=counts.get("ABANDONED", 0), last_round=last[0]["number"] if last else None,
                last_round_status=last[0]["status"] if last else None,
                last_round_started=last[0]["started_at"] if last else None,
                last_error=last[0]["error"] if last else None,
            )
        rows.append(row)
    _records(rows, args.output)
    broken = [row["experiment"] for row in rows if row.get("error")]
    for name in broken:
        print(f"adaptive: error: experiment {name!r} cannot be loaded (see the error column)", file=sys.stderr)
    return EXIT_ERROR if broken else EXIT_OK


def _next_round(spec: dict[str, Any], last_start: Any, now: Any, output: str) -> Any:
    """When ``adaptive round --all`` runs the experiment next: ``due``, ``overdue`` (a whole
    period late: no host ran it), or the time; ``-`` without a schedule (every ``--all``)."""
    from adaptive.cron.config import RoundPolicy, Schedule

    schedule = Schedule("", RoundPolicy.from_dict(spec.get("rounds")).every, last_start)
    if schedule.every is None:
        return None if output != "table" else "-"
    if schedule.is_overdue(now):
        return "overdue"
    if schedule.is_due(now):
        return "due"
    return schedule.next_due if output != "table" else f"{schedule.next_due:%Y-%m-%d %H:%M}"


def _short(text: str | None, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cmd_rounds(args: argparse.Namespace) -> int:
    from adaptive.storage import Database
    from adaptive.storage import repository as repo

    db = Database(args.storage, create=False)
    rounds = db.run(lambda s: repo.rounds(s, repo.get_experiment(s, args.name), limit=args.limit), readonly=True)
    table = args.output == "table"
    rows = []
    for r in rounds:
        counts = r["counts"] or {}
        seconds = (counts.get("seconds") or {}).get("total")
        proposed = sum((counts.get("proposed") or {}).values()) if "proposed" in counts else None
        rows.append({
            "round": r["number"], "started": f"{r['started_at']:%Y-%m-%d %H:%M:%S}" if table else r["started_at"],
            "host": r["host"], "status": r["status"],
            "seconds": (f"{seconds:.1f}" if table else round(seconds, 3)) if seconds is not None else None,
            "completed": counts.get("completed"), "failed_stale": counts.get("failed_stale"), "proposed": proposed,
            "fallbacks": counts.get("fallbacks"),
            "paths": " ".join(f"{k}={v}" for k, v in (counts.get("paths") or {}).items()) if table else counts.get("paths"),
            "errors": len(counts.get("errors") or ([r["error"]] if r["error"] else [])),
            "error": _short(r["error"]) if table else r["error"],
        })
    _records(rows, args.output)
    return EXIT_OK


def cmd_trials(args: argparse.Namespace) -> int:
    from adaptive.experiment import load_experiment

    _table(load_experiment(args.name, storage=args.storage).trials_frame(), args.output)
    return EXIT_OK


def cmd_pareto(args: argparse.Namespace) -> int:
    from adaptive.experiment import load_experiment

    _table(load_experiment(args.name, storage=args.storage).pareto_frontier(model=args.model), args.output)
    return EXIT_OK


def cmd_trial(args: argparse.Namespace) -> int:
    from adaptive.experiment import load_experiment

    metrics = _metrics(args.metric) if args.trial_command == "complete" else None
    exp = load_experiment(args.name, storage=args.storage)
    if metrics is not None:
        try:
            trial = exp.complete(args.trial_id, metrics)
        except ValidationError as exc:  # the library's advice names a Python method; here the command
            raise ValidationError(exc.field, exc.value, exc.problem.replace(
                "exp.fail(trial_id, reason)", f"'adaptive trial fail {exp.name} {args.trial_id} --reason ...'"
            )) from None
    elif args.trial_command == "fail":
        trial = exp.fail(args.trial_id, args.reason)
    else:
        trial = exp.abandon(args.trial_id, args.reason)
    print(f"{exp.name}: trial {trial.id} {trial.status.value}")
    return EXIT_OK


def _metrics(items: list[str]) -> dict[str, float | tuple[float, float]]:
    """``METRIC=MEAN`` or ``METRIC=MEAN:SEM`` items as ``Experiment.complete`` takes them."""
    out: dict[str, float | tuple[float, float]] = {}
    for item in items:
        metric, sep, value = item.partition("=")
        mean, _, sem = value.partition(":")
        try:
            out[metric] = (float(mean), float(sem)) if sem else float(mean)
        except ValueError:
            raise ValidationError("--metric", item, "expected METRIC=MEAN or METRIC=MEAN:SEM") from None
        if not sep or not metric:
            raise ValidationError("--metric", item, "expected METRIC=MEAN or METRIC=MEAN:SEM")
    return out


def cmd_delete(args: argparse.Namespace) -> int:
    from adaptive.experiment import delete_experiment, list_experiments

    if not args.yes:
        if args.name not in list_experiments(storage=args.storage):
            raise ValidationError("name", args.name, "no such experiment; 'adaptive status' lists them")
        print(f"adaptive: error: deleting {args.name!r} removes its trials, rounds and exports for good; "
              "add --yes to do it", file=sys.stderr)
        return EXIT_USAGE
    counts = delete_experiment(args.name, storage=args.storage)
    print(f"{args.name}: deleted with " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from adaptive.service import ServiceSettings, create_app
        from adaptive.service.auth import Tokens
    except ImportError as exc:
        print(f"adaptive: error: 'adaptive serve' needs the serve extra ({exc.name} is missing): "
              "pip install 'adaptive-experiments[serve]'", file=sys.stderr)
        return EXIT_USAGE
    try:
        tokens = Tokens.from_environment(allow_open=args.insecure_no_auth)
    except ValueError as exc:
        print(f"adaptive: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for name in ("reload_interval", "max_batch", "max_body_bytes"):
        if not getattr(args, name) > 0:
            print(f"adaptive: error: --{name.replace('_', '-')}={getattr(args, name)!r}: must be positive", file=sys.stderr)
            return EXIT_USAGE
    policies = {}
    if args.policies:
        from adaptive.service.policies import load_policies

        policies = load_policies(args.policies)  # a ValidationError names the field: one line, exit 1
    settings = ServiceSettings(
        storage=args.storage, tokens=tokens, reload_interval=args.reload_interval, max_batch=args.max_batch,
        max_body_bytes=args.max_body_bytes, policies=policies,
    )
    app = create_app(settings)
    if tokens.open:
        logging.getLogger("adaptive.cli").warning("serving without authentication (--insecure-no-auth)")
    logging.getLogger("adaptive").setLevel(logging.INFO)
    logging.getLogger("adaptive.cli").info("serving %s on http://%s:%d", app.state.service.database.masked_url,
                                           args.host, args.port)
    # uvicorn's own access log would print every request; the service counts them in /metrics.
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_config=None, timeout_graceful_shutdown=10)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from adaptive.experiment import load_experiment
    from adaptive.review.report import write_report

    path = write_report(load_experiment(args.name, storage=args.storage), args.output)
    print(f"{path}: report for {args.name!r}")
    return EXIT_OK


def _version() -> str:
    from adaptive import __version__

    return __version__


class _VerboseEverywhere(argparse.ArgumentParser):
    """Subcommand parsers that also take ``-v`` (``adaptive round NAME -v`` as well as ``adaptive -v round NAME``)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - argparse's own signature
        super().__init__(*args, **kwargs)
        if kwargs.get("add_help", True):
            self.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                              help="log progress to stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adaptive", description="Adaptive experimentation: Bayesian optimization in SQL.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument("--version", action="version", version=f"adaptive {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_VerboseEverywhere)

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True, parser_class=_VerboseEverywhere
    )
    up = db.add_parser("upgrade", help="bring the database schema to the newest revision")
    _storage_arg(up)
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(func=cmd_db_upgrade)
    cur = db.add_parser("current", help="show the database's schema revision")
    _storage_arg(cur)
    cur.set_defaults(func=cmd_db_current)

    for command, help_text in (("create", "create an experiment from a TOML config"),
                               ("apply", "create or update an experiment from a TOML config (no-op when unchanged)")):
        p = sub.add_parser(command, help=help_text)
        p.add_argument("config", help="TOML file, e.g. configs/feed_ranking.toml")
        _storage_arg(p)
        p.set_defaults(func=cmd_apply)

    rnd = sub.add_parser(
        "round", help="run one round: fetch metrics, complete, fail stale, propose, export",
        description="Exit codes: 0 done, 1 error, 2 usage, 3 another round of the experiment is running, "
                    "4 done but the metric source failed or sent refused rows (see 'adaptive rounds NAME'). "
                    "With --all or --config-dir: 1 if any experiment's round failed, else 4 if any was "
                    "degraded, else 0 (experiments another host holds are skipped).",
    )
    rnd.add_argument("name", nargs="?", help="experiment name")
    rnd.add_argument("--config", help="apply this TOML config first, then run its experiment's round")
    rnd.add_argument("--all", action="store_true",
                     help="run the round of every experiment that is due by its [rounds] every schedule")
    rnd.add_argument("--config-dir", metavar="DIR",
                     help="apply every *.toml in DIR, then run the due rounds of those experiments")
    rnd.add_argument("--workers", type=int, default=1, help="rounds run at once with --all (default 1)")
    _storage_arg(rnd)
    rnd.set_defaults(func=cmd_round)

    status = sub.add_parser("status", help="one line per experiment: trials by status, last round, exports")
    status.add_argument("name", nargs="?", help="one experiment (default: all)")
    _output_args(status)
    _storage_arg(status)
    status.set_defaults(func=cmd_status)

    rounds = sub.add_parser("rounds", help="the latest rounds of an experiment: status, counts, errors")
    rounds.add_argument("name", help="experiment name")
    rounds.add_argument("--limit", type=int, default=20, help="how many rounds, newest first (default 20)")
    _output_args(rounds)
    _storage_arg(rounds)
    rounds.set_defaults(func=cmd_rounds)

    for command, func, help_text in (("trials", cmd_trials, "the trials of an experiment"),
                                     ("pareto", cmd_pareto, "the Pareto frontier of an experiment")):
        p = sub.add_parser(command, help=help_text)
        p.add_argument("name", help="experiment name")
        _output_args(p)
        if command == "pareto":
            p.add_argument("--model", action="store_true", help="frontier by model predictions, with sems")
        _storage_arg(p)
        p.set_defaults(func=func)

    trial = sub.add_parser("trial", help="complete, fail or abandon a RUNNING trial by hand").add_subparsers(
        dest="trial_command", required=True, parser_class=_VerboseEverywhere
    )
    for command, help_text in (("complete", "record the trial's metrics and mark it COMPLETED"),
                               ("fail", "mark the trial FAILED (it ran but produced no usable data)"),
                               ("abandon", "mark the trial ABANDONED (never deployed; no longer pending)")):
        p = trial.add_parser(command, help=help_text)
        p.add_argument("name", help="experiment name")
        p.add_argument("trial_id", type=int, metavar="ID", help="trial id (see 'adaptive trials NAME')")
        if command == "complete":
            p.add_argument("--metric", action="append", required=True, metavar="METRIC=MEAN[:SEM]",
                           help="an observed metric, in its units (repeat for each; every objective is needed)")
        else:
            p.add_argument("--reason", help="why, kept with the trial")
        _storage_arg(p)
        p.set_defaults(func=cmd_trial)

    delete = sub.add_parser("delete", help="delete an experiment with its trials, rounds and exports")
    delete.add_argument("name", help="experiment name")
    delete.add_argument("--yes", action="store_true", help="really delete (without it nothing is deleted)")
    _storage_arg(delete)
    delete.set_defaults(func=cmd_delete)

    report = sub.add_parser("report", help="write a self-contained HTML report (figures and trials)")
    report.add_argument("name", help="experiment name")
    report.add_argument("-o", "--output", required=True, help="HTML file to write")
    _storage_arg(report)
    report.set_defaults(func=cmd_report)

    export = sub.add_parser("export", help="export the winning-config distribution as a new version and write it as JSON")
    export.add_argument("name", help="experiment name")
    export.add_argument("-o", "--output", required=True, help="JSON file to write")
    export.add_argument("--prefer", help="objective to optimize; other objectives' thresholds become constraints")
    export.add_argument("--weight", action="append", metavar="METRIC=W", help="weight on an objective (instead of --prefer)")
    export.add_argument("--constraint", action="append", metavar="'METRIC <= X'", help="extra metric bound (repeatable)")
    export.add_argument("--top-k", type=int, default=None, help="keep at most this many arms (default: all)")
    export.add_argument("--min-weight", type=float, default=0.0, help="drop arms below this weight (default 0)")
    export.add_argument("--draws", type=int, default=1000, help="posterior draws (default 1000)")
    _storage_arg(export)
    export.set_defaults(func=cmd_export)

    serve = sub.add_parser(
        "serve", help="serve assignments and exported distributions over HTTP/JSON",
        description="Bearer tokens: $ADAPTIVE_SERVE_READ_TOKENS and $ADAPTIVE_SERVE_WRITE_TOKENS (comma-separated). "
                    "Routes: GET /v1/experiments/NAME/assignment, POST /v1/experiments/NAME/assignments, "
                    "GET /v1/experiments/NAME/distribution, POST /v1/policies/NAME/decisions, POST /v1/rewards, "
                    "GET /healthz, GET /metrics (docs/serving.md).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--reload-interval", type=float, default=10.0, metavar="SECONDS",
                       help="how often to look for a new export version (default 10)")
    serve.add_argument("--max-batch", type=int, default=10_000, help="most member ids per batch request (default 10000)")
    serve.add_argument("--max-body-bytes", type=int, default=2 << 20, help="largest request body (default 2 MiB)")
    serve.add_argument("--policies", metavar="FILE",
                       help="TOML file of bandit policies to serve at /v1/policies/NAME/decisions (docs/serving.md)")
    serve.add_argument("--insecure-no-auth", action="store_true",
                       help="serve without tokens (only on a machine nobody else reaches)")
    _storage_arg(serve)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="run a few rounds of a built-in simulated experiment")
    _storage_arg(demo)
    demo.add_argument("--rounds", type=int, default=3, help="rounds to run (default 3)")
    demo.add_argument("--batch", type=int, default=4, help="trials proposed per round (default 4)")
    demo.add_argument("--online-offline", action="store_true",
                      help="the online/offline demo: offline replay trials plus a few online ones, multi-task model")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "round":
        fleet = args.all or args.config_dir
        if fleet and (args.name or args.config):
            parser.error("round: --all and --config-dir run many experiments; give no name or --config with them")
        if not fleet and not args.name and not args.config:
            parser.error("round: give an experiment name, --config FILE, --all or --config-dir DIR")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",  # cron logs need the time of each line
    )
    if args.command in PROGRESS_COMMANDS:  # long work a person waits for shows its steps (rounds stay quiet for cron)
        logging.getLogger("adaptive").setLevel(logging.INFO)
    try:
        return args.func(args)
    except AdaptiveError as exc:
        from adaptive.errors import NotFoundError

        if isinstance(exc, NotFoundError) and exc.field == "name" and "no such experiment;" in str(exc):
            # the library's advice names a Python function; here the command that lists them
            print(f"adaptive: error: no experiment {exc.value!r} in this database; 'adaptive status' lists them",
                  file=sys.stderr)
            return EXIT_ERROR
        print(f"adaptive: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback; -v logs it
        from adaptive.storage import default_url, mask

        logging.getLogger("adaptive.cli").debug("unexpected error", exc_info=True)
        url = mask(getattr(args, "storage", None) or default_url())
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"adaptive: error: {type(exc).__name__}: {message} (storage {url})", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
