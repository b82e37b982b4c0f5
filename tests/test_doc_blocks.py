"""The docs' non-Python blocks are checked for real: TOML parses into a valid config table,
the systemd units and crontab line parse and name real commands and exit codes, and the
shell commands exist. (Python blocks run in tests/test_docs.py.)"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from adaptive.cli import EXIT_BUSY

ROOT = Path(__file__).parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def blocks(language: str) -> list[tuple[str, str]]:
    out = []
    for path in DOCS:
        for body in re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.S):
            out.append((path.name, body))
    return out


def test_every_fenced_block_has_a_known_language():
    # text: drawings, nothing to run; javascript: the service's client, run by tests/service/test_js_client.py
    known = {"python", "bash", "toml", "ini", "crontab", "text", "javascript"}
    for path in DOCS:
        fences = re.findall(r"^```(\S*)$", path.read_text(), flags=re.M)
        assert len(fences) % 2 == 0, f"{path.name}: unbalanced fences"
        for language in fences[::2]:  # openings; the others close
            assert language in known, f"{path.name}: a ```{language or '(untagged)'} block no test checks"


def adaptive_help(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "adaptive", *args, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def check_adaptive_command(line: str) -> None:
    """``.../adaptive round --config FILE`` -> the subcommand exists and takes those options."""
    words = line.split()
    start = next(i for i, w in enumerate(words) if w.endswith("/adaptive") or w == "adaptive")
    command = [w for w in words[start + 1:] if not w.startswith((">", "2>"))]
    sub, options = command[0], [w for w in command[1:] if w.startswith("--")]
    text = adaptive_help(sub)
    for option in options:
        assert option in text, f"adaptive {sub} has no {option}"


@pytest.mark.parametrize("name,body", blocks("toml"), ids=lambda x: x if isinstance(x, str) and x.endswith(".md") else "")
def test_toml_blocks_are_valid_config_tables(name, body, tmp_path):
    from adaptive.sources.events import parse_events_spec

    data = tomllib.loads(body)
    if "policies" in data:  # `adaptive serve --policies FILE`
        from adaptive.service.policies import load_policies

        path = tmp_path / "policies.toml"
        path.write_text(body)
        assert load_policies(path)
        return
    if data.get("metrics", {}).get("kind") == "events":
        spec = parse_events_spec(data["metrics"])
        assert [m.name for m in spec.metrics]


def test_systemd_units():
    files = {}
    for _, body in blocks("ini"):
        units = re.split(r"^# (/etc/systemd/system/\S+)\n", body, flags=re.M)[1:]
        files.update(zip(units[::2], units[1::2]))
    assert set(files) == {"/etc/systemd/system/adaptive-feed-ranking.service", "/etc/systemd/system/adaptive-feed-ranking.timer",
                          "/etc/systemd/system/adaptive-serve.service"}
    service = configparser.ConfigParser(strict=True)
    service.read_string(files["/etc/systemd/system/adaptive-feed-ranking.service"])
    assert service["Service"]["Type"] == "oneshot"
    assert int(service["Service"]["SuccessExitStatus"]) == EXIT_BUSY
    check_adaptive_command(service["Service"]["ExecStart"])
    timer = configparser.ConfigParser(strict=True)
    timer.read_string(files["/etc/systemd/system/adaptive-feed-ranking.timer"])
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert re.fullmatch(r"\*-\*-\* \*:\d\d:\d\d", timer["Timer"]["OnCalendar"])
    # The long-running service: restarted on failure, tokens from a file, not the command line.
    serve = configparser.ConfigParser(strict=True)
    serve.read_string(files["/etc/systemd/system/adaptive-serve.service"])
    assert serve["Service"]["Type"] == "exec" and serve["Service"]["Restart"] == "on-failure"
    assert serve["Service"]["EnvironmentFile"].startswith("/etc/") and "TOKEN" not in serve["Service"]["ExecStart"]
    assert serve["Install"]["WantedBy"] == "multi-user.target"
    assert serve["Service"]["ExecStart"].split()[1] == "serve"
    check_adaptive_command(serve["Service"]["ExecStart"])


def test_crontab_lines_run(tmp_path):
    (name, body), = blocks("crontab")
    entries = [line for line in body.splitlines() if line.strip() and not line.startswith("#")]
    assert len(entries) == 2  # one experiment, the fleet
    for i, entry in enumerate(entries):
        fields = entry.split()
        minute, hour, day, month, weekday = fields[:5]
        assert re.fullmatch(r"\d+|\*/\d+", minute) and hour == day == month == weekday == "*"
        command = " ".join(fields[5:]).split("&&")[-1]
        check_adaptive_command(command)
        # Run it, with this checkout's paths for the install and /etc (the example configs for
        # the experiments' folder), and a database of the test's own.
        words = command.split(">>")[0].split()
        words[0] = "adaptive"
        words = [w if not w.startswith("/etc/adaptive/") else
                 str(ROOT / "configs" / Path(w).name) if w.endswith(".toml") else str(ROOT / "configs") for w in words]
        env = {**os.environ, "ADAPTIVE_DATABASE_URL": f"sqlite:///{tmp_path / f'cron{i}.db'}"}
        result = subprocess.run([sys.executable, "-m", *words], capture_output=True, text=True, timeout=300, env=env,
                                cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "round 1 done" in result.stdout


def test_shell_blocks_name_real_commands():
    dev = (ROOT / "dev").read_text()
    subcommands = set(re.findall(r"^\s+(\w+)\)", dev, flags=re.M))
    for name, body in blocks("bash"):
        for line in body.splitlines():
            command = line.split("#")[0].split()
            if not command:
                continue
            if command[0] == "curl" and "$ADAPTIVE_URL" in body:
                continue  # run against a live service by test_curl_examples_run_against_the_service
            if command[0] == "./dev":
                assert command[1] in subcommands, f"{name}: ./dev has no {command[1]!r}"
            elif command[0] == "adaptive":
                check_adaptive_command(" ".join(command))
            else:
                pytest.fail(f"{name}: no check for shell command {command[0]!r}")


def test_curl_examples_run_against_the_service(tmp_path):
    from tests.service.test_http import READ_TOKEN, WRITE_TOKEN, Server, _experiment
    from tests.service.test_js_client import need

    need("curl")
    (curl_block,) = [body for _, body in blocks("bash") if "$ADAPTIVE_URL" in body]
    (policies,) = [body for _, body in blocks("toml") if "[policies.upload-quality]" in body]
    (tmp_path / "policies.toml").write_text(policies)
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    _experiment(url, "feed-ranking")
    server = Server(url, "--policies", str(tmp_path / "policies.toml"))
    env = {**os.environ, "ADAPTIVE_URL": server.base, "TOKEN": READ_TOKEN, "WRITE_TOKEN": WRITE_TOKEN}
    outputs = []
    try:
        for line in curl_block.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            result = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60, env=env)
            assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
            outputs.append(result.stdout)
    finally:
        server.stop()
    import json

    assignment, batch, distribution, decision, reward, health = outputs
    assert json.loads(assignment)["experiment"] == "feed-ranking" and "arm" in json.loads(assignment)
    assert len(json.loads(batch)["arms"]) == 3
    headers, _, body = distribution.partition("\n\n")  # text mode reads CRLF as LF
    assert re.search(r"(?im)^etag: \"\d+\"", headers) and json.loads(body)["arms"]
    assert json.loads(decision)["decision_id"] == "upload-7f3a"
    assert json.loads(reward) == {"recorded": 1, "metric": "reward"}
    assert json.loads(health) == {"status": "ok"}
