"""``adaptive serve`` started as a subprocess on a loopback port and spoken to over HTTP."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

import adaptive as ad
from adaptive import serving

READ_TOKEN = "read-token-0123456789abcdef"
WRITE_TOKEN = "write-token-0123456789abcdef"
AT = datetime(2026, 12, 3, 10, 15, tzinfo=timezone.utc)


def _experiment(url: str, name: str = "feed") -> ad.Experiment:
    exp = ad.create_experiment(
        name, storage=url, seed=3,
        parameters={"viral_weight": ad.Float(0.0, 1.0), "posts": ad.Int(5, 50)},
        objectives=[ad.Maximize("engagement")],
    )
    for i in range(10):
        x, n = (i * 0.37) % 1.0, 5 + (i * 7) % 46
        exp.attach({"viral_weight": x, "posts": n}, {"engagement": (x * (1 - x) + n / 200, 0.01)})
    exp.export_distribution(n_draws=200, model_candidates=2)
    return exp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, *extra: str, tokens: bool = True) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ}
        env.pop("ADAPTIVE_SERVE_READ_TOKENS", None)
        env.pop("ADAPTIVE_SERVE_WRITE_TOKENS", None)
        if tokens:
            env.update(ADAPTIVE_SERVE_READ_TOKENS=READ_TOKEN, ADAPTIVE_SERVE_WRITE_TOKENS=WRITE_TOKEN)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adaptive", "serve", "--storage", url, "--port", str(self.port), *extra],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"the service exited: {self.process.stdout.read()}")
            try:
                if self.get("/healthz", token=None)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("the service did not answer /healthz within 60 s")
            time.sleep(0.2)

    def request(self, method: str, path: str, body: bytes | None = None, *, token: str | None = READ_TOKEN,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def get(self, path: str, **kwargs) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, payload, **kwargs) -> tuple[int, dict[str, str], bytes]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.request("POST", path, body, **kwargs)

    def stop(self) -> str:
        self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out


@pytest.fixture
def served(storage_url):
    exp = _experiment(storage_url)
    server = Server(storage_url, "--reload-interval", "0.5")
    try:
        yield server, exp
    finally:
        server.stop()


def test_assignments_equal_the_python_library_and_follow_new_exports(served):
    server, exp = served
    dist = exp.exported()
    hours = [AT + timedelta(hours=h) for h in range(3)]
    for at in hours:
        for i in range(60):
            member = f"m-{i}"
            query = urllib.parse.urlencode({"member_id": member, "at": at.isoformat()})
            status, _, body = server.get(f"/v1/experiments/feed/assignment?{query}")
            answer = json.loads(body)
            arm = serving.assign(dist, member, at)
            assert status == 200 and answer["arm"] == arm.name and answer["params"] == arm.params
            assert answer["version"] == dist.version == 1
    # Integer ids hash as integers, as in Python.
    query = urllib.parse.urlencode({"member_id": 12345, "id_type": "int", "at": AT.isoformat()})
    status, _, body = server.get(f"/v1/experiments/feed/assignment?{query}")
    assert json.loads(body)["arm"] == serving.assign(dist, 12345, AT).name
    # The batch endpoint: thousands of ids, strings and integers mixed.
    ids = [f"m-{i}" if i % 2 else i for i in range(3000)]
    status, _, body = server.post("/v1/experiments/feed/assignments", {"member_ids": ids, "at": AT.isoformat()})
    answer = json.loads(body)
    assert status == 200 and answer["version"] == 1
    assert answer["arms"] == [serving.assign(dist, m, AT).name for m in ids]
    assert answer["params"] == {a.name: a.params for a in dist.arms}
    assert {a.name for a in dist.arms if a.weight >= 0.1} <= set(answer["arms"])  # 3,000 members reach every big arm

    # The distribution with its version as ETag; 304 while unchanged.
    status, headers, body = server.get("/v1/experiments/feed/distribution")
    assert status == 200 and headers["etag"] == '"1"' and json.loads(body) == json.loads(dist.to_json())
    assert server.get("/v1/experiments/feed/distribution", headers={"If-None-Match": '"1"'})[0] == 304

    # A new export is picked up without a restart, within the reload interval.
    exp.export_distribution(n_draws=200, model_candidates=2, top_k=1)
    new = exp.exported()
    assert new.version == 2 and len(new.arms) == 1
    deadline = time.monotonic() + 10
    while json.loads(server.get("/v1/experiments/feed/distribution")[2])["version"] != 2:
        assert time.monotonic() < deadline, "version 2 was not served within 10 s"
        time.sleep(0.1)
    status, headers, _ = server.get("/v1/experiments/feed/distribution", headers={"If-None-Match": '"1"'})
    assert status == 200 and headers["etag"] == '"2"'
    answer = json.loads(server.post("/v1/experiments/feed/assignments", {"member_ids": ids[:500]})[2])
    assert answer["version"] == 2 and set(answer["arms"]) == {new.arms[0].name}
    metrics = server.get("/metrics")[2].decode()
    assert 'adaptive_export_version{experiment="feed"} 2' in metrics
    # 3 hours x 60 members, and one integer id.
    assert 'adaptive_requests_total{method="GET",route="/v1/experiments/{name}/assignment",status="200"} 181' in metrics
    assert 'adaptive_request_duration_seconds_bucket{route="/v1/experiments/{name}/assignments",le="+Inf"} 2' in metrics


def test_tokens_scopes_and_logs_without_secrets(sqlite_url):
    _experiment(sqlite_url)
    server = Server(sqlite_url)
    try:
        path = "/v1/experiments/feed/assignment?member_id=m-1"
        assert server.get(path, token=None)[0] == 401
        assert server.get(path, token="not-a-valid-token-at-all")[0] == 401
        assert server.get(path, token=READ_TOKEN)[0] == 200
        assert server.get(path, token=WRITE_TOKEN)[0] == 200  # write includes read
        assert server.get("/metrics", token=None)[0] == 401
        assert server.get("/healthz", token=None)[0] == 200  # for load balancers
    finally:
        log = server.stop()
    assert "401" in log and "refused" in log
    assert READ_TOKEN not in log and WRITE_TOKEN not in log and "not-a-valid-token-at-all" not in log


def test_no_tokens_refuses_to_start_unless_told(sqlite_url):
    _experiment(sqlite_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAPTIVE_SERVE_")}
    result = subprocess.run([sys.executable, "-m", "adaptive", "serve", "--storage", sqlite_url, "--port", "1"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "ADAPTIVE_SERVE_READ_TOKENS" in result.stderr
    assert "Traceback" not in result.stderr
    env["ADAPTIVE_SERVE_READ_TOKENS"] = "short"
    result = subprocess.run([sys.executable, "-m", "adaptive", "serve", "--storage", sqlite_url, "--port", "1"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "5 characters" in result.stderr and "short" not in result.stderr
    server = Server(sqlite_url, "--insecure-no-auth", tokens=False)
    try:
        assert server.get("/v1/experiments/feed/assignment?member_id=m-1", token=None)[0] == 200
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "field"),
    [
        ("GET", "/v1/experiments/feed/assignment", None, 400, "member_id"),
        ("GET", "/v1/experiments/feed/assignment?member_id=", None, 400, "member_id"),
        ("GET", "/v1/experiments/feed/assignment?member_id=" + "x" * 300, None, 400, "member_id"),
        ("GET", "/v1/experiments/feed/assignment?member_id=m-1&id_type=float", None, 400, "id_type"),
        ("GET", "/v1/experiments/feed/assignment?member_id=abc&id_type=int", None, 400, "member_id"),
        ("GET", "/v1/experiments/feed/assignment?member_id=m-1&at=yesterday", None, 400, "at"),
        ("GET", "/v1/experiments/nope/assignment?member_id=m-1", None, 404, "name"),
        ("GET", "/v1/experiments/nope/distribution", None, 404, "name"),
        ("GET", "/v1/nothing", None, 404, "path"),
        ("POST", "/v1/experiments/feed/assignments", b"{not json", 400, "body"),
        ("POST", "/v1/experiments/feed/assignments", [1, 2], 400, "body"),
        ("POST", "/v1/experiments/feed/assignments", {"member_ids": []}, 400, "member_ids"),
        ("POST", "/v1/experiments/feed/assignments", {"member_ids": ["a", True]}, 400, "member_ids[1]"),
        ("POST", "/v1/experiments/feed/assignments", {"member_ids": ["a", 1.5]}, 400, "member_ids[1]"),
        ("POST", "/v1/experiments/feed/assignments", {"member_ids": ["a"], "when": 1}, 400, "when"),
        ("POST", "/v1/experiments/feed/assignments", {"member_ids": ["a"], "at": 5}, 400, "at"),
        ("POST", "/v1/experiments/feed/assignments", {"member_ids": list(range(10_001))}, 413, "member_ids"),
        ("DELETE", "/v1/experiments/feed/distribution", None, 405, "method"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_field(bad_input_server, method, path, payload, status, field):
    body = None if payload is None else payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    code, headers, answer = bad_input_server.request(method, path, body)
    assert code == status, answer
    error = json.loads(answer)["error"]
    assert error["field"] == field and error["message"]


@pytest.fixture(scope="module")
def bad_input_server(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('serve') / 'serve.db'}"
    _experiment(url)
    server = Server(url)
    yield server
    server.stop()


def test_a_body_over_the_limit_is_refused_before_it_is_read(bad_input_server):
    connection = http.client.HTTPConnection("127.0.0.1", bad_input_server.port, timeout=30)
    connection.putrequest("POST", "/v1/experiments/feed/assignments")
    connection.putheader("Authorization", f"Bearer {READ_TOKEN}")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(3 << 20))
    connection.endheaders()  # no body follows: the answer must not wait for it
    response = connection.getresponse()
    assert response.status == 413 and json.loads(response.read())["error"]["field"] == "body"
    connection.close()


def test_the_service_loads_neither_torch_nor_numpy(sqlite_url):
    _experiment(sqlite_url)
    code = (
        "import sys\n"
        "from adaptive import serving\n"
        "from adaptive.service import ServiceSettings, create_app\n"
        "app = create_app(ServiceSettings(storage=sys.argv[1]))\n"
        "serving.assign(app.state.service.loaded('feed').distribution, 'm-1')\n"
        "print(sorted(m for m in ('torch', 'numpy', 'pandas', 'botorch') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, sqlite_url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_broken_database_answers_503_not_500(postgres_url):
    import sqlalchemy as sa

    _experiment(postgres_url)
    server = Server(postgres_url, "--reload-interval", "0.2")
    try:
        assert server.get("/v1/experiments/feed/assignment?member_id=m-1")[0] == 200
        engine = sa.create_engine(postgres_url)
        with engine.begin() as connection:  # an operator's mistake: the exports are gone
            connection.execute(sa.text("DROP TABLE exports CASCADE"))
        engine.dispose()
        time.sleep(0.3)  # past the reload interval: the next answer needs the database
        status, _, body = server.get("/v1/experiments/feed/assignment?member_id=m-1")
        assert status == 503 and json.loads(body)["error"]["field"] == "storage"
    finally:
        log = server.stop()
    assert "storage unavailable" in log and "Traceback" not in log
