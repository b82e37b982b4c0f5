"""The JavaScript client in docs/serving.md, run by Node against a live service, assigns as adaptive.serving does."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import adaptive as ad
from tests.service.test_http import READ_TOKEN, Server, _experiment

DOC = Path(__file__).parent.parent.parent / "docs" / "serving.md"

DRIVER = """
import { AdaptiveClient } from "./adaptive-client.mjs";
const [base, experiment, at, idsFile] = process.argv.slice(2);
const ids = JSON.parse((await import("node:fs")).readFileSync(idsFile, "utf8"));
const client = new AdaptiveClient(base, process.env.ADAPTIVE_TOKEN);
const when = new Date(at);
const out = [];
for (const id of ids) out.push(await client.assign(experiment, id, when));
console.log(JSON.stringify({ assignments: out, notModified: client.notModified }));
"""


def need(program: str) -> str:
    """The program's path; without it the test skips locally and fails under CI (.ci/run installs it)."""
    found = shutil.which(program)
    if found:
        return found
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"no {program}; CI must run the docs' {program} examples (.ci/run installs it)")
    pytest.skip(f"{program} is not installed")


def test_the_documented_javascript_client_assigns_as_python_does(tmp_path):
    node = need("node")
    (code,) = re.findall(r"```javascript\n(.*?)```", DOC.read_text(), flags=re.S)
    (tmp_path / "adaptive-client.mjs").write_text(code)
    (tmp_path / "driver.mjs").write_text(DRIVER)
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    exp = _experiment(url, "feed-ranking")
    dist = exp.export_distribution(n_draws=300, model_candidates=4)  # a second version, the one served
    assert len(dist.arms) >= 2
    ids = [f"m-{i}" for i in range(300)] + list(range(150)) + ["ünïcode-🙂", "", -7]
    (tmp_path / "ids.json").write_text(json.dumps(ids))
    at = datetime(2026, 12, 3, 10, 15, tzinfo=timezone.utc)
    server = Server(url)
    try:
        for when in (at, at + timedelta(hours=5)):
            result = subprocess.run(
                [node, "driver.mjs", server.base, "feed-ranking", when.isoformat(), "ids.json"], cwd=tmp_path,
                capture_output=True, text=True, timeout=120, env={**os.environ, "ADAPTIVE_TOKEN": READ_TOKEN},
            )
            assert result.returncode == 0, result.stderr
            answer = json.loads(result.stdout)
            expected = [ad.serving.assign(dist, member, when).name for member in ids]
            assert [a["arm"] for a in answer["assignments"]] == expected
            assert {a["version"] for a in answer["assignments"]} == {dist.version}
            # One download, then the ETag answers 304 for every later member.
            assert answer["notModified"] == len(ids) - 1
    finally:
        server.stop()

