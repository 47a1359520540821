"""Throw-away PostgreSQL and Redis servers, and gunicorn services, for the benchmark (loopback only)."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def pinned(cpus: str | None, cmd: list[str]) -> list[str]:
    """``cmd`` restricted to ``cpus`` (taskset's list syntax; children inherit it), or as is."""
    return ["taskset", "-c", cpus, *cmd] if cpus is not None else cmd


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Postgres:
    """``durable=False`` (the benchmark): no fsync, asynchronous commit, fast and crash-unsafe.
    ``durable=True`` (the fault runs, which stop it with ``-m immediate``): every commit is in
    the WAL before it is acknowledged, as in production."""

    def __init__(self, work: Path, *, durable: bool = False, cpus: str | None = None) -> None:
        self.durable = durable
        self.cpus = cpus  # taskset's list: the server and every backend it forks run only there
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed (apt-get install -y postgresql)")
        self.bin = Path(bins[-1])
        self.dir = work / "pg"
        self.port = free_port()

    def start(self) -> str:
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir.parent, "postgres")
            shutil.chown(self.dir, "postgres")
        subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.dir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.start_server()
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-qc",
                "CREATE DATABASE enterprise",
            ],
            check=True,
        )
        return f"postgres://postgres@127.0.0.1:{self.port}/enterprise"

    def start_server(self) -> None:
        """Start the initialised cluster (again, after ``stop()``: fault tests restart it)."""
        options = (
            f"-p {self.port} -k {self.dir.parent} -c listen_addresses=127.0.0.1 "
            "-c shared_buffers=256MB -c max_connections=200"
        )
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off"
        subprocess.run(
            pinned(
                self.cpus,
                _as_postgres(
                    [
                        str(self.bin / "pg_ctl"),
                        "-D",
                        str(self.dir),
                        "-l",
                        str(self.dir / "log"),
                        "-w",
                        "start",
                        "-o",
                        options,
                    ]
                ),
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.dir.exists():
            subprocess.run(
                _as_postgres(
                    [str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "immediate", "stop"]
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )


class Redis:
    def __init__(self, work: Path, *, cpus: str | None = None) -> None:
        self.port = free_port()
        self.work = work
        self.cpus = cpus
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        self.process = subprocess.Popen(
            pinned(
                self.cpus,
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.work),
                ],
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)


class Service:
    """A gunicorn process tree pinned to ``cpu`` (same settings for every build)."""

    def __init__(
        self,
        name: str,
        app: str,
        env: dict[str, str],
        *,
        cpu: str,
        workers: int,
        threads: int,
        cwd: Path = ROOT,
    ) -> None:
        self.name, self.app, self.env, self.cpu, self.cwd = name, app, env, cpu, cwd
        self.workers, self.threads = workers, threads
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = [
            str(ROOT / ".venv/bin/gunicorn"),
            self.app,
            "-w",
            str(self.workers),
            "--threads",
            str(self.threads),
            "-k",
            "gthread" if self.threads > 1 else "sync",
            "-b",
            f"127.0.0.1:{self.port}",
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            "-",
            "--timeout",
            "120",
            "--keep-alive",
            "30",
            "--backlog",
            "2048",
        ]
        self.log = open(self.env.get("BENCH_LOG_DIR", "/tmp") + f"/{self.name}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            pinned(self.cpu, cmd),
            cwd=self.cwd,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        wait_for_port(self.port, timeout=60)
        time.sleep(0.5)

    def worker_pids(self) -> list[int]:
        if not self.process:
            return []
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def peak_rss_mb(self) -> list[float]:
        peaks = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
            except FileNotFoundError:
                continue
        return peaks

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
