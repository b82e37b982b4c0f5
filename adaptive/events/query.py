"""The attribution as SQL, one text for every engine.

Engines differ only in how a timestamp becomes integer microseconds and how a
non-finite float is spotted (:class:`Dialect`); everything else is the SQL both
DuckDB and Spark SQL accept, so the two engines run the same computation.
Times are compared as integer microseconds since the epoch (UTC).

Relations, in order (``raw_<table>`` are the engine's registered logs; ``stg_`` are
views, the ``v_`` ones are materialized once because several queries read them):

- ``stg_<table>``: typed columns, ``ts_us`` and ``ing_us`` (ingestion, defaulting to ``ts``);
- ``v_<table>``: rows ingested by the watermark, duplicates (same id) dropped;
- ``v_matched``: each treatment joined to the latest intent of its member, experiment and
  arm made within the exposure window before it; ``v_orphans``: treatments with none;
- ``v_decisions``: intents with their first exposure (``exposed_us``, null if never shown);
- ``v_attr_itt``/``v_attr_treated``: each activity event given to at most one decision per
  experiment (first or last touch) within the attribution window of the decision's anchor;
- ``v_values_<view>``: per decision, each event metric's attributed value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from adaptive.events.schema import TABLES, EventMetric, RatioMetric


@dataclass(frozen=True)
class Dialect:
    micros: str  # format string: '{0}' -> integer microseconds since the epoch of timestamp {0}
    not_finite: str  # format string: '{0}' -> true when float {0} is NaN or infinite
    string_type: str = "STRING"
    int_div: str = "({0} div {1})"  # format string: integer division (floor, for non-negative numbers)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def staging_views(dialect: Dialect, columns: dict[str, list[str]], *, prefix: str = "stg_", where: str | None = None) -> list[str]:
    """``stg_<table>`` (``<prefix><table>``) views with typed columns; ``columns`` lists each raw
    table's columns; ``where`` filters the raw rows (a condition on ``ts``, see :func:`ts_within`)."""
    out = []
    for table, spec in TABLES.items():
        cols = []
        for name in spec:
            if name == "ts":
                continue
            if name in ("propensity", "value"):
                cols.append(f"CAST({name} AS DOUBLE) AS {name}")
            else:
                cols.append(f"CAST({name} AS {dialect.string_type}) AS {name}")
        ts = dialect.micros.format("CAST(ts AS TIMESTAMP)")
        ingested = (
            dialect.micros.format("CAST(ingested_at AS TIMESTAMP)") if "ingested_at" in columns[table] else ts
        )
        cols += [f"{ts} AS ts_us", f"COALESCE({ingested}, {ts}) AS ing_us"]
        condition = f" WHERE {where}" if where else ""
        out.append(f"CREATE OR REPLACE TEMPORARY VIEW {prefix}{table} AS SELECT {', '.join(cols)} FROM raw_{table}{condition}")
    return out


DAY_US = 86_400_000_000


def _timestamp(us: int) -> str:
    at = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=us)
    return f"TIMESTAMP '{at:%Y-%m-%d %H:%M:%S.%f}'"


def ts_within(intervals: list[tuple[int, int]]) -> str:
    """A condition on a raw log's ``ts``: within one of the ``[start, end)`` intervals (integer
    microseconds). Written on the column itself so Parquet readers skip files and row groups
    outside them."""
    parts = [f"(CAST(ts AS TIMESTAMP) >= {_timestamp(a)} AND CAST(ts AS TIMESTAMP) < {_timestamp(b)})" for a, b in intervals]
    return " OR ".join(parts) if parts else "FALSE"


def micros_within(column: str, intervals: list[tuple[int, int]]) -> str:
    """A condition: integer microseconds ``column`` within one of the ``[start, end)`` intervals."""
    parts = [f"({column} >= {a} AND {column} < {b})" for a, b in intervals]
    return " OR ".join(parts) if parts else "FALSE"


def day_of(dialect: Dialect, column: str) -> str:
    """The UTC day number (days since 1970-01-01) of integer microseconds ``column``."""
    return dialect.int_div.format(column, DAY_US)


def touched_days_query(dialect: Dialect, table: str, since_us: int | None, watermark_us: int) -> str:
    """The days (of ``ts``) holding rows of ``table`` ingested after ``since`` and by the
    watermark (every day by the watermark without ``since``); a null day means a row without a time."""
    after = f"ing_us > {since_us} AND " if since_us is not None else ""
    return f"SELECT DISTINCT {day_of(dialect, 'ts_us')} AS day FROM stg_all_{table} WHERE {after}ing_us <= {watermark_us}"


def after_watermark_query(watermark_us: int) -> str:
    return " + ".join(f"(SELECT COUNT(*) FROM stg_all_{t} WHERE ing_us > {watermark_us})" for t in TABLES) + " AS after_watermark"


def decisions_query(dialect: Dialect, metrics: list[EventMetric], days: list[tuple[int, int]]) -> str:
    """Per decision made within ``days`` (intervals of microseconds): the decision, its exposure
    and each event metric's attributed value in both views (0 where nothing was attributed)."""
    values = [f"CAST(COALESCE(i.m{k}, 0) AS DOUBLE) AS itt_m{k}" for k in range(len(metrics))]
    values += [f"CAST(COALESCE(t.m{k}, 0) AS DOUBLE) AS treated_m{k}" for k in range(len(metrics))]
    return (
        "SELECT d.decision_id, d.member_id, d.experiment, d.arm, d.policy_version, d.propensity, d.ts_us, "
        f"d.exposed_us, d.n_shown, {', '.join(values)} FROM v_decisions d "
        "LEFT JOIN v_values_itt i ON d.decision_id = i.decision_id "
        "LEFT JOIN v_values_treated t ON d.decision_id = t.decision_id "
        f"WHERE {micros_within('d.ts_us', days)}"
    )


def stored_decision_views(metrics: list[EventMetric]) -> list[tuple[str, str]]:
    """``v_decisions`` and ``v_values_<view>`` rebuilt from stored per-decision rows
    (``state_decisions``, as :func:`decisions_query` made them), for the same statistics SQL."""
    views = [("v_decisions", "SELECT decision_id, member_id, experiment, arm, policy_version, propensity, ts_us, "
                             "exposed_us, n_shown FROM state_decisions")]
    for view in ("itt", "treated"):
        cols = ", ".join(f"{view}_m{k} AS m{k}" for k in range(len(metrics)))
        views.append((f"v_values_{view}", f"SELECT decision_id, {cols} FROM state_decisions"))
    return views


def daily_counts_query(dialect: Dialect, watermark_us: int, days: list[tuple[int, int]]) -> str:
    """Per day (of each row's own ``ts``) within ``days``: rows used, duplicates dropped,
    treatments without intent and unattributed activity, the additive parts of the counts."""
    day = day_of(dialect, "ts_us")
    where = micros_within("ts_us", days)
    parts = []
    for table in TABLES:
        parts.append(f"SELECT {day} AS day, '{table}' AS name, COUNT(*) AS n FROM v_{table} WHERE {where} GROUP BY {day}")
        parts.append(
            f"SELECT {day} AS day, 'staged_{table}' AS name, COUNT(*) AS n FROM stg_{table} "
            f"WHERE ing_us <= {watermark_us} AND ({where}) GROUP BY {day}"
        )
    parts.append(f"SELECT {day} AS day, 'treatments_without_intent' AS name, COUNT(*) AS n FROM v_orphans WHERE {where} GROUP BY {day}")
    parts.append(
        f"SELECT {day_of(dialect, 'a.ts_us')} AS day, 'unattributed_activity' AS name, COUNT(*) AS n FROM v_activity a "
        "LEFT JOIN (SELECT DISTINCT event_id FROM v_attr_itt) t ON a.event_id = t.event_id "
        f"WHERE t.event_id IS NULL AND ({micros_within('a.ts_us', days)}) GROUP BY {day_of(dialect, 'a.ts_us')}"
    )
    return " UNION ALL ".join(parts)


def late_events_query(since_us: int | None) -> str:
    if since_us is None:
        return "SELECT 0 AS late_events"
    return (
        f"SELECT (SELECT COUNT(*) FROM v_activity WHERE ts_us <= {since_us} AND ing_us > {since_us}) + "
        f"(SELECT COUNT(*) FROM v_treatments WHERE ts_us <= {since_us} AND ing_us > {since_us}) AS late_events"
    )


def validation_query(dialect: Dialect, table: str) -> tuple[str, list[tuple[str, str]]]:
    """SQL counting the rows of ``table`` that break each rule (with one offending value per
    rule), and the rules as ``(description, column)`` in the order of the counts."""
    checks = []
    for name, required in TABLES[table].items():
        if required:
            column = "ts_us" if name == "ts" else name
            checks.append((f"{name} is null or not a time" if name == "ts" else f"{name} is null", f"{column} IS NULL", name))
    if table == "intents":
        checks.append(("propensity outside (0, 1]", f"NOT (propensity > 0 AND propensity <= 1) OR {dialect.not_finite.format('propensity')}", "propensity"))
    if table == "activity":
        checks.append(("value is NaN or infinite", dialect.not_finite.format("value"), "value"))
    parts = []
    for i, (_, condition, column) in enumerate(checks):
        parts.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS bad_{i}")
        shown = "ts_us" if column == "ts" else column
        parts.append(f"MIN(CASE WHEN {condition} THEN CAST({shown} AS {dialect.string_type}) END) AS sample_{i}")
    return f"SELECT COUNT(*) AS n, {', '.join(parts)} FROM stg_{table}", [(label, column) for label, _, column in checks]


def attribution_views(*, watermark_us: int, exposure_us: int, attribution_us: int, touch: str) -> list[tuple[str, str]]:
    """``(name, SELECT)`` pairs, in dependency order, for the engine to materialize."""
    order = "ASC" if touch == "first" else "DESC"
    views = []
    for table, id_column in (("intents", "decision_id"), ("treatments", "event_id"), ("activity", "event_id")):
        views.append((
            f"v_{table}", "SELECT * FROM ("
            f"SELECT s.*, ROW_NUMBER() OVER (PARTITION BY {id_column} ORDER BY ing_us, ts_us) AS dup_rank "
            f"FROM stg_{table} s WHERE ing_us <= {watermark_us}) d WHERE dup_rank = 1",
        ))
    views.append((
        "v_matched", "SELECT * FROM ("
        "SELECT t.event_id, t.member_id, t.experiment, t.arm, t.ts_us, t.device, i.decision_id, "
        "ROW_NUMBER() OVER (PARTITION BY t.event_id ORDER BY i.ts_us DESC, i.decision_id) AS match_rank "
        "FROM v_treatments t JOIN v_intents i ON t.member_id = i.member_id AND t.experiment = i.experiment "
        f"AND t.arm = i.arm AND t.ts_us >= i.ts_us AND t.ts_us < i.ts_us + {exposure_us}) m WHERE match_rank = 1",
    ))
    views.append((
        "v_orphans", "SELECT t.event_id, t.member_id, t.experiment, t.arm, t.ts_us, "
        "t.device FROM v_treatments t LEFT JOIN v_matched m ON t.event_id = m.event_id WHERE m.event_id IS NULL",
    ))
    views.append((
        "v_decisions", "SELECT i.decision_id, i.member_id, i.experiment, i.arm, "
        "i.policy_version, i.propensity, i.ts_us, e.exposed_us, COALESCE(e.n_shown, 0) AS n_shown FROM v_intents i "
        "LEFT JOIN (SELECT decision_id, MIN(ts_us) AS exposed_us, COUNT(*) AS n_shown FROM v_matched "
        "GROUP BY decision_id) e ON i.decision_id = e.decision_id",
    ))
    for view, anchor, where in (("itt", "ts_us", ""), ("treated", "exposed_us", " WHERE exposed_us IS NOT NULL")):
        views.append((
            f"v_attr_{view}", "SELECT * FROM ("
            "SELECT a.event_id, a.event_type, a.value, d.decision_id, d.experiment, "
            f"ROW_NUMBER() OVER (PARTITION BY a.event_id, d.experiment ORDER BY d.anchor_us {order}, d.decision_id) "
            "AS touch_rank FROM v_activity a JOIN ("
            f"SELECT decision_id, member_id, experiment, {anchor} AS anchor_us FROM v_decisions{where}) d "
            f"ON a.member_id = d.member_id AND a.ts_us >= d.anchor_us AND a.ts_us < d.anchor_us + {attribution_us}"
            ") r WHERE touch_rank = 1",
        ))
    return views


def value_views(metrics: list[EventMetric]) -> list[tuple[str, str]]:
    """``v_values_<view>``: one row per attributed decision, column ``m<i>`` per event metric."""
    views = []
    for view in ("itt", "treated"):
        cols = []
        for i, m in enumerate(metrics):
            hit = f"event_type = {_quote(m.event_type)}"
            if m.aggregate == "sum":
                cols.append(f"SUM(CASE WHEN {hit} THEN value ELSE 0 END) AS m{i}")
            else:
                cols.append(f"SUM(CASE WHEN {hit} THEN 1 ELSE 0 END) AS m{i}")
        views.append((f"v_values_{view}", f"SELECT decision_id, {', '.join(cols)} FROM v_attr_{view} GROUP BY decision_id"))
    return views


def _unit_value(i: int, metric: EventMetric) -> str:
    total = f"SUM(COALESCE(v.m{i}, 0))"
    return f"CASE WHEN {total} > 0 THEN 1.0 ELSE 0.0 END" if metric.aggregate == "any" else f"CAST({total} AS DOUBLE)"


def stats_query(view: str, metrics: list[EventMetric], ratios: list[RatioMetric]) -> str:
    """Sufficient statistics per experiment and arm: member count, sums, sums of squares and
    the cross sums ratio metrics need; the unit is a member within an (experiment, arm)."""
    where = "" if view == "itt" else " WHERE d.exposed_us IS NOT NULL"
    unit_cols = ", ".join(f"{_unit_value(i, m)} AS u{i}" for i, m in enumerate(metrics))
    index = {m.name: i for i, m in enumerate(metrics)}
    sums = [f"SUM(u{i}) AS s{i}, SUM(u{i} * u{i}) AS q{i}" for i in range(len(metrics))]
    sums += [f"SUM(u{index[r.numerator]} * u{index[r.denominator]}) AS x{j}" for j, r in enumerate(ratios)]
    return (
        f"SELECT experiment, arm, COUNT(*) AS n, {', '.join(sums)} FROM ("
        f"SELECT d.experiment, d.arm, d.member_id, {unit_cols} FROM v_decisions d "
        f"LEFT JOIN v_values_{view} v ON d.decision_id = v.decision_id{where} "
        "GROUP BY d.experiment, d.arm, d.member_id) u GROUP BY experiment, arm ORDER BY experiment, arm"
    )


def rewards_query(metrics: list[EventMetric]) -> str:
    """One row per decision with its intent-to-treat attributed value of each event metric."""
    cols = []
    for i, m in enumerate(metrics):
        value = f"COALESCE(v.m{i}, 0)"
        cols.append(f"CASE WHEN {value} > 0 THEN 1.0 ELSE 0.0 END AS m{i}" if m.aggregate == "any" else f"CAST({value} AS DOUBLE) AS m{i}")
    return (
        "SELECT d.decision_id, d.member_id, d.experiment, d.arm, d.policy_version, d.propensity, d.ts_us, "
        f"d.exposed_us, d.n_shown, {', '.join(cols)} FROM v_decisions d "
        "LEFT JOIN v_values_itt v ON d.decision_id = v.decision_id ORDER BY d.decision_id"
    )


def counts_query(since_us: int | None, watermark_us: int) -> str:
    """Diagnostic counts in one row."""
    late = (
        f"(SELECT COUNT(*) FROM v_activity WHERE ts_us <= {since_us} AND ing_us > {since_us}) + "
        f"(SELECT COUNT(*) FROM v_treatments WHERE ts_us <= {since_us} AND ing_us > {since_us})"
        if since_us is not None else "0"
    )
    return (
        "SELECT "
        "(SELECT COUNT(*) FROM stg_intents WHERE ing_us <= {w}) - (SELECT COUNT(*) FROM v_intents) AS duplicate_intents, "
        "(SELECT COUNT(*) FROM stg_treatments WHERE ing_us <= {w}) - (SELECT COUNT(*) FROM v_treatments) AS duplicate_treatments, "
        "(SELECT COUNT(*) FROM stg_activity WHERE ing_us <= {w}) - (SELECT COUNT(*) FROM v_activity) AS duplicate_activity, "
        "(SELECT COUNT(*) FROM stg_intents WHERE ing_us > {w}) + (SELECT COUNT(*) FROM stg_treatments WHERE ing_us > {w}) "
        "+ (SELECT COUNT(*) FROM stg_activity WHERE ing_us > {w}) AS after_watermark, "
        "(SELECT COUNT(*) FROM v_intents) AS intents, "
        "(SELECT COUNT(*) FROM v_treatments) AS treatments, "
        "(SELECT COUNT(*) FROM v_activity) AS activity, "
        "(SELECT COUNT(*) FROM v_orphans) AS treatments_without_intent, "
        "(SELECT COUNT(*) FROM v_decisions WHERE exposed_us IS NULL) AS intents_never_treated, "
        "(SELECT COUNT(*) FROM v_activity) - (SELECT COUNT(DISTINCT event_id) FROM v_attr_itt) AS unattributed_activity, "
        f"{late} AS late_events"
    ).format(w=watermark_us)
