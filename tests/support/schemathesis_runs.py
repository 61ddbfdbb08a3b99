"""``make schemathesis``: schemathesis against a real ``zoo serve``, as a user runs it.

Three runs, each with every check: the OpenAPI document anonymously, the same logged in
(an ADMIN's bearer token), and ``/graphql`` in schemathesis' GraphQL mode. Exits
non-zero if any finds a failure (a 5xx, a status or body the document does not allow).
``--examples`` bounds the cases per operation; ``.ci/run`` runs a short pass.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.support.servers import zoo, zoo_serve

ADMIN = ("schemathesis@example.com", "schemathesis-password-1")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.schemathesis_runs")
    parser.add_argument("--examples", type=int, default=100, help="cases per operation")
    parser.add_argument("--only", choices=["anonymous", "admin", "graphql"], action="append")
    args = parser.parse_args()
    runs = args.only or ["anonymous", "admin", "graphql"]
    with tempfile.TemporaryDirectory(prefix="zoo-schemathesis-") as scratch:
        database = f"sqlite:///{Path(scratch) / 'zoo.db'}"
        env = {
            "ZOO_DATABASE_URL": database,
            "ZOO_API_DOCS": "true",
            "ZOO_LOG_LEVEL": "warning",
            "ZOO_MAIL_DIR": str(Path(scratch) / "mail"),
        }
        for command in (["migrate"], ["seed"]):
            assert zoo(*command, env=env).returncode == 0
        email, password = ADMIN
        created = zoo(
            "users", "create", "--email", email, "--password", password, "--superuser", env=env
        )
        assert created.returncode == 0, created.stderr
        with zoo_serve(database, env=env) as (base, _process):
            login = httpx.post(
                f"{base}/auth/jwt/login", data={"username": email, "password": password}
            )
            token = login.json()["access_token"]
            failed = 0
            for run in runs:
                command = [
                    sys.executable,
                    "-m",
                    "schemathesis.cli",
                    "run",
                    f"{base}/graphql" if run == "graphql" else f"{base}/openapi.json",
                    "--checks",
                    "all",
                    "--max-examples",
                    str(args.examples),
                ]
                if run == "admin":
                    command += ["--header", f"Authorization: Bearer {token}"]
                print(f"\nschemathesis: {run}", flush=True)
                result = subprocess.run(command, env={**os.environ, "NO_COLOR": "1"}, check=False)
                failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
