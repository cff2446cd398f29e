"""Real servers for the tests: a throw-away PostgreSQL cluster and a `chroma run` server.

Both are session-scoped fixtures; a test module that needs one imports it
(`from tests.servers import postgres`); `running_postgres()` and `running_chroma(folder)`
start the same servers outside pytest (the load benchmark). PostgreSQL is Debian's: when its binaries are
missing the fixture installs the `postgresql` package (as root, as in CI), then runs
`initdb` and `pg_ctl` as the `postgres` user on a free port in a temporary folder, and
stops the cluster at the end of the session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate, what: str, timeout: float = 60.0, interval: float = 0.1):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f}s for {what}")
        time.sleep(interval)


# -- PostgreSQL --------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The folder of Debian's PostgreSQL server binaries, installing the package if needed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if os.geteuid() != 0:
            pytest.fail("PostgreSQL is not installed: run `apt-get install -y postgresql` as root")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent


@dataclass
class Postgres:
    """A running cluster; `url(database)` is a SQLAlchemy URL for one of its databases."""

    bin: Path
    data: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"argot_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def pg_ctl(self, *args: str) -> None:
        as_postgres(self.bin / "pg_ctl", "-D", str(self.data), "-w", *args)

    def start(self) -> None:
        self.pg_ctl("-l", str(self.data.parent / "server.log"), "-o",
                    f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 "
                    "-c fsync=off -c max_connections=200", "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "stop")

    def accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False


def as_postgres(*command: str | Path) -> None:
    """Run a PostgreSQL tool as the `postgres` user when we are root (initdb refuses root)."""
    argv = [str(part) for part in command]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres]:
    """A throw-away PostgreSQL cluster (trust auth, 127.0.0.1 only), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="argot-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = Postgres(postgres_bin(), folder / "data", free_port())
    as_postgres(cluster.bin / "initdb", "-D", str(cluster.data), "-U", "postgres",
                "--auth=trust", "-E", "UTF8", "--no-sync")
    cluster.start()
    try:
        yield cluster
    finally:
        if cluster.accepts():
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One cluster for the whole test session."""
    with running_postgres() as cluster:
        yield cluster


# -- Chroma --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real Chroma server on a free local port, started by the test set-up."""
    with running_chroma(tmp_path_factory.mktemp("chroma-server")) as address:
        yield address


@contextlib.contextmanager
def running_chroma(data: Path) -> Iterator[tuple[str, int]]:
    """`chroma run` on a free local port with its data in `data`; (host, port)."""
    from engine.errors import IndexUnavailable
    from engine.index import make_client

    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI comes with the chromadb package"
    port = free_port()
    log = open(data / "server.log", "wb")  # noqa: SIM115 - kept open for the server's life
    process = subprocess.Popen([chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1",
                                "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)

    def answers() -> bool:
        try:
            make_client(data, "127.0.0.1", port)
            return True
        except IndexUnavailable:
            assert process.poll() is None, (data / "server.log").read_text()
            return False

    try:
        wait_until(answers, "chroma run to answer", timeout=60, interval=0.3)
    except TimeoutError:
        process.kill()
        raise
    try:
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
