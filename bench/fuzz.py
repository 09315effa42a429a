"""Stateful fuzzing of a whole hub (not run in CI; `make fuzz`).

Starts a hub on free ports (throwaway SQLite databases), logs in as the demo admin and runs
schemathesis' stateful phase over the gateway's merged `/openapi.json`: sequences of calls that
feed what a create operation answered (ids, `Location`) into the reads and edits of the same
resource, links inferred by schemathesis, plus the fuzzing phase. Checks: no 5xx, no
undocumented status code. Prints schemathesis' own summary; exit status is schemathesis'.

Excluded as in `tests/e2e/test_fuzz.py`: the login and password-change operations, so failed
logins cannot lock the admin out.

    .venv/bin/python bench/fuzz.py [--examples 50] [--seed 1] [--phases stateful,fuzzing]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.hub import DEMO_PASSWORD, running_hub  # noqa: E402

EXCLUDED_PATHS = ("/api/v1/auth/token", "/api/v1/auth/password")


async def main(examples: int, seed: int, phases: str) -> int:
    with tempfile.TemporaryDirectory() as directory:
        async with running_hub(Path(directory), "sqlite") as stack:
            base_url = stack.config.url("gateway")
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
                login = await http.post(
                    "/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD}
                )
                login.raise_for_status()
            token = login.json()["access_token"]
            command = [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{base_url}/openapi.json",
                "--url",
                base_url,
                "--phases",
                phases,
                "--checks",
                "not_a_server_error,status_code_conformance",
                "--max-examples",
                str(examples),
                "--seed",
                str(seed),
                "--header",
                f"Authorization: Bearer {token}",
                *(arg for path in EXCLUDED_PATHS for arg in ("--exclude-path", path)),
            ]
            # run in the throwaway directory: schemathesis writes its state under `.schemathesis/`
            completed = await asyncio.to_thread(subprocess.run, command, check=False, cwd=directory)
            return completed.returncode


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--examples", type=int, default=50, help="examples per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default="stateful,fuzzing")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.examples, arguments.seed, arguments.phases)))
