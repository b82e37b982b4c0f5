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
    known = {"python", "bash", "toml", "ini", "crontab", "text"}  # text: drawings, nothing to run
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
    (name, body), = blocks("ini")
    units = re.split(r"^# (/etc/systemd/system/\S+)\n", body, flags=re.M)[1:]
    files = dict(zip(units[::2], units[1::2]))
    assert set(files) == {"/etc/systemd/system/adaptive-feed-ranking.service", "/etc/systemd/system/adaptive-feed-ranking.timer"}
    service = configparser.ConfigParser(strict=True)
    service.read_string(files["/etc/systemd/system/adaptive-feed-ranking.service"])
    assert service["Service"]["Type"] == "oneshot"
    assert int(service["Service"]["SuccessExitStatus"]) == EXIT_BUSY
    check_adaptive_command(service["Service"]["ExecStart"])
    timer = configparser.ConfigParser(strict=True)
    timer.read_string(files["/etc/systemd/system/adaptive-feed-ranking.timer"])
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert re.fullmatch(r"\*-\*-\* \*:\d\d:\d\d", timer["Timer"]["OnCalendar"])


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
            if command[0] == "./dev":
                assert command[1] in subcommands, f"{name}: ./dev has no {command[1]!r}"
            elif command[0] == "adaptive":
                check_adaptive_command(" ".join(command))
            else:
                pytest.fail(f"{name}: no check for shell command {command[0]!r}")
