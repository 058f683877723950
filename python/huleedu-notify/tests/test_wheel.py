"""A wheel built from the repository installs into a fresh virtualenv without network and publishes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import PACKAGE, RedisServer

OFFLINE = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PATH": "/usr/bin:/bin"}


def run(*command: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300, env=OFFLINE
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_installs_offline_and_publishes(tmp_path: Path, redis_server: RedisServer) -> None:
    # Built from a copy, so the build leaves nothing behind in the repository.
    source = tmp_path / "source"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("node_modules", "tests", "__pycache__", "build", "*.egg-info"))
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index", "-w", wheels, source, cwd=tmp_path)
    [wheel] = list(wheels.glob("huleedu_notify-*.whl"))

    venv = tmp_path / "venv"
    # Debian's python3-redis and python3-jsonschema come from the system site-packages.
    run(sys.executable, "-m", "venv", "--system-site-packages", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--no-index", "--no-deps", wheel, cwd=tmp_path)

    script = (
        "import dataclasses, json, sys, huleedu_notify\n"
        "from huleedu_notify import Notifier\n"
        "with Notifier(sys.argv[1]) as n:\n"
        "    r = n.publish_user_notification('wheel-user', 'batch_results_ready',"
        " {'batch_id': 'b1', 'results_count': 3, 'message': 'ready'})\n"
        "print(json.dumps({'file': huleedu_notify.__file__, **dataclasses.asdict(r)}))\n"
    )
    result = json.loads(run(python, "-c", script, redis_server.url, cwd=tmp_path))
    assert result["file"].startswith(str(venv))
    assert (result["position"], result["duplicate"]) == (1, False)
    installed = Path(result["file"]).parent
    assert {path.name for path in (installed / "_data").iterdir()} >= {"notifications.schema.json", "publish.lua", "disconnect.lua"}
    assert (installed / "py.typed").exists()
