"""`make run`: the whole helpdesk in one terminal.

Starts the embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are
unset, migrates, loads the demo data, then runs daphne, a Celery worker and
Celery Beat. Ctrl-C (or SIGTERM) stops every process it started, then the
embedded servers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _prepare_services() -> None:
    from helpdesk import embedded

    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded.postgres_url()
    else:
        _ensure_database(os.environ["DATABASE_URL"])
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = embedded.redis_url()


def _ensure_database(url: str) -> None:
    """Create the database named in DATABASE_URL on its server when it is missing."""
    import psycopg
    from psycopg import sql

    from helpdesk.embedded import database_config

    config = database_config(url)
    name = config["NAME"]
    params = {
        "dbname": "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    with psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if v}) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR)


def _banner(port: int) -> str:
    from conversations.demo import DEMO_PASSWORD, STAFF

    logins = "\n".join(
        f"    {username:<11} / {DEMO_PASSWORD}   ({display})" for username, display, _, _ in STAFF
    )
    base = f"http://127.0.0.1:{port}"
    return (
        "\nLumen Helpdesk is running.\n"
        f"  Customer chat:   {base}/chat/   (English: {base}/chat/?lang=en)\n"
        f"  Agent desk:      {base}/desk/\n"
        f"  Admin:           {base}/admin/\n"
        f"  Health:          {base}/healthz\n"
        f"  Demo logins (supervisor and three agents):\n{logins}\n"
        "Press Ctrl-C to stop everything.\n"
    )


def main() -> int:
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    port = int(os.environ.get("PORT", "8000"))
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    _prepare_services()
    children: list[tuple[str, subprocess.Popen]] = []
    try:
        _manage("migrate", "--noinput", "-v", "0")
        _manage("load_demo")
        commands = {
            "daphne": [
                sys.executable,
                "-m",
                "helpdesk.server",
                "-b",
                os.environ.get("BIND", "127.0.0.1"),
                "-p",
                str(port),
                "helpdesk.asgi:application",
            ],
            "celery-worker": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "helpdesk",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                os.environ.get("CELERY_CONCURRENCY", "2"),
            ],
            "celery-beat": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "helpdesk",
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--pidfile",
                "",
            ],
        }
        for name, command in commands.items():
            # Own process group: Ctrl-C reaches only this launcher, which then
            # stops the children in order and waits for them.
            children.append((name, subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)))
        print(_banner(port), flush=True)
        while not stopping:
            for name, child in children:
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; stopping.", flush=True)
                    stopping = True
            time.sleep(0.3)
    finally:
        for _, child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        from helpdesk import embedded

        embedded.stop_redis()
        embedded.stop_postgres()
        print("Lumen Helpdesk stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
