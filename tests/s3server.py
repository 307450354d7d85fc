"""A real S3-compatible server for the tests: moto's server mode in a subprocess on 127.0.0.1.

`S3Server` starts ``python -m moto.server`` on a free port and gives the environment a client needs
(``AWS_ENDPOINT_URL`` and test credentials: what botocore's own configuration chain reads).
`FaultProxy` sits between a client and the server and breaks the first connections it is given, as
a store does under load: ``"drop"`` closes the connection once the request arrived (no response),
``"slowdown"`` answers S3's throttling error (HTTP 503 ``SlowDown``); later connections are passed
through unchanged. moto itself has no fault injection.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
_SLOWDOWN = (b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
             b"Connection: close\r\n\r\n%s")
_SLOWDOWN_BODY = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
                  b"<Message>Please reduce your request rate.</Message></Error>")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """``python -m moto.server`` on 127.0.0.1 (a context manager)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> S3Server:
        env = {**os.environ, **CREDENTIALS}
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def env(self, endpoint: str | None = None, **extra: str) -> dict[str, str]:
        """The environment of a client of this server (or of `endpoint`, a proxy in front of it)."""
        return {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": endpoint or self.endpoint, **extra}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
                            aws_secret_access_key="testing", region_name="us-east-1")

    def upload(self, folder: Path, bucket: str, prefix: str) -> int:
        """Every file under `folder` to ``s3://bucket/prefix/...`` (the bucket is created); how many."""
        s3 = self.client()
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        count = 0
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")
                count += 1
        return count

    def set_auth(self, enforced: bool) -> None:
        """Make the server check credentials and IAM policies from now on (or stop checking)."""
        body = b"0" if enforced else b"inf"
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=body,
                                         headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(request, timeout=10).close()


class FaultProxy:
    """A TCP proxy to `upstream` that breaks its first connections (`faults`, in order); see the module doc."""

    def __init__(self, upstream: int, faults: list[str]) -> None:
        self.upstream = upstream
        self.faults = list(faults)
        self.applied: list[str] = []
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                fault = self.faults.pop(0) if self.faults else None
                if fault:
                    self.applied.append(fault)
            threading.Thread(target=self._serve, args=(conn, fault), daemon=True).start()

    def _serve(self, conn: socket.socket, fault: str | None) -> None:
        if fault is not None:
            with conn:
                _read_request_head(conn)
                if fault == "slowdown":
                    conn.sendall(_SLOWDOWN % (len(_SLOWDOWN_BODY), _SLOWDOWN_BODY))
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream))
        threading.Thread(target=_pipe, args=(upstream, conn), daemon=True).start()
        _pipe(conn, upstream)
        conn.close()
        upstream.close()


def _read_request_head(conn: socket.socket) -> None:
    data = b""
    conn.settimeout(10)
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
