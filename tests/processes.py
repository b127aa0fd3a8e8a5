"""A real `incident-bot serve` process for the tests where a process must really start, stop or die."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The line serve logs once it listens, over HTTP and in Socket Mode alike.
LISTENING = re.compile(r"(?:serving Slack|serving /healthz .*) on http://127\.0\.0\.1:(\d+)")


class Serve:
    """`python -m bot serve --host 127.0.0.1 --port 0 [args]`; `port` is the one it reports.
    Its standard error is read all along (kept in `stderr`), so it never blocks on a full pipe."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0", *args],
            env=env,
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started_at = time.time()
        self.stderr: list[str] = []
        self.port = self._read_port()
        self._reader = threading.Thread(target=self._keep, daemon=True)
        self._reader.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _read_port(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            self.stderr.append(line)
            if not line and self.process.poll() is not None:
                raise AssertionError("serve exited early:\n" + "".join(self.stderr))
            match = LISTENING.search(line)
            if match:
                return int(match.group(1))
        raise AssertionError("serve did not report its port:\n" + "".join(self.stderr))

    def _keep(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, then its exit status once it has stopped (all its output read)."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """For teardown: SIGTERM if still running, SIGKILL if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
