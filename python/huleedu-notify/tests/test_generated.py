"""The files taken from the TypeScript packages are current, and the typing catches misspellings."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import PACKAGE, REPOSITORY

DATA = PACKAGE / "src" / "huleedu_notify" / "_data"


def test_the_generated_files_are_up_to_date() -> None:
    run = subprocess.run(
        ["node", "scripts/generate.mjs", "--check"], cwd=PACKAGE, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr


def test_the_lua_scripts_and_the_schema_are_the_typescript_packages_files() -> None:
    for name in ("publish.lua", "disconnect.lua"):
        assert (DATA / name).read_bytes() == (REPOSITORY / "packages" / "notify" / "lua" / name).read_bytes()
    schema = REPOSITORY / "packages" / "protocol" / "schema" / "notifications.schema.json"
    assert (DATA / "notifications.schema.json").read_bytes() == schema.read_bytes()


def test_mypy_catches_a_misspelt_field_a_wrong_type_and_an_unknown_notification_type(tmp_path: Path) -> None:
    backend = tmp_path / "backend.py"
    backend.write_text(
        textwrap.dedent(
            """\
            from huleedu_notify import Notifier
            from huleedu_notify.catalog import BatchResultsReadyPayload

            notifier = Notifier("redis://localhost:6379")
            notifier.publish_user_notification(
                "t1", "batch_results_ready", {"batch_id": "b1", "results_count": 3, "message": "m", "clas_id": "c"}
            )
            notifier.publish_user_notification(
                "t1", "batch_results_ready", {"batch_id": "b1", "results_count": "three", "message": "m"}
            )
            notifier.publish_user_notification("t1", "batch_result_ready", {"batch_id": "b1"})
            payload: BatchResultsReadyPayload = {"batch_id": "b1", "results_count": 3, "message": "m", "clas_id": "c"}
            notifier.publish_user_notification(
                "t1", "batch_results_ready", {"batch_id": "b1", "results_count": 3, "message": "m"}
            )
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
         "--ignore-missing-imports", str(backend)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"MYPYPATH": str(PACKAGE / "src"), "PATH": "/usr/bin:/bin"},
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("backend.py") and ": error:" in line]
    assert run.returncode == 1, run.stdout + run.stderr
    # Each bad call is an error at its line; a payload annotated with its TypedDict names the field.
    assert [line.split(":")[1] for line in lines] == ["5", "8", "11", "12"], run.stdout
    assert all("No overload variant" in line for line in lines[:3])
    assert 'Extra key "clas_id" for TypedDict "BatchResultsReadyPayload"' in lines[3]
