"""Request counters, a latency histogram and served export versions in Prometheus' text format."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

# Seconds; a single assignment is well under a millisecond, a batch of 10,000 some tens.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Thread-safe counters kept in memory (one service process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self._sums: dict[str, float] = defaultdict(float)
        self._versions: dict[str, int] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, status)] += 1
            self._buckets[route][bisect.bisect_left(BUCKETS, seconds)] += 1
            self._sums[route] += seconds

    def served_version(self, experiment: str, version: int) -> None:
        with self._lock:
            self._versions[experiment] = version

    def render(self, decision_commits: tuple[int, int] | None = None) -> str:
        """The text exposition; ``decision_commits``: (transactions, decisions) the group commit wrote."""
        with self._lock:
            lines = [
                "# HELP adaptive_requests_total HTTP requests by method, route and status.",
                "# TYPE adaptive_requests_total counter",
            ]
            for (method, route, status), n in sorted(self._requests.items()):
                lines.append(f'adaptive_requests_total{{method="{method}",route="{_label(route)}",status="{status}"}} {n}')
            lines += [
                "# HELP adaptive_request_duration_seconds Time to answer a request, by route.",
                "# TYPE adaptive_request_duration_seconds histogram",
            ]
            for route, counts in sorted(self._buckets.items()):
                running = 0
                for bound, n in zip([*BUCKETS, float("inf")], counts):
                    running += n
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    lines.append(f'adaptive_request_duration_seconds_bucket{{route="{_label(route)}",le="{le}"}} {running}')
                lines.append(f'adaptive_request_duration_seconds_sum{{route="{_label(route)}"}} {self._sums[route]!r}')
                lines.append(f'adaptive_request_duration_seconds_count{{route="{_label(route)}"}} {running}')
            lines += [
                "# HELP adaptive_export_version The export version being served, by experiment.",
                "# TYPE adaptive_export_version gauge",
            ]
            for experiment, version in sorted(self._versions.items()):
                lines.append(f'adaptive_export_version{{experiment="{_label(experiment)}"}} {version}')
        if decision_commits is not None:
            lines += [
                "# HELP adaptive_decision_commits_total Transactions that logged decisions (one per group).",
                "# TYPE adaptive_decision_commits_total counter",
                f"adaptive_decision_commits_total {decision_commits[0]}",
                "# HELP adaptive_decisions_logged_total Decisions logged.",
                "# TYPE adaptive_decisions_logged_total counter",
                f"adaptive_decisions_logged_total {decision_commits[1]}",
            ]
        return "\n".join(lines) + "\n"
