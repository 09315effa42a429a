"""The production edge proxy (`deploy/nginx.conf`) in front of a test's gateway.

`running_nginx(upstream_port, directory)` runs the repository's own nginx configuration, changed
only where a test must differ from the container:

- the upstream `gateway:8000` becomes `127.0.0.1:<upstream_port>` (a `server` line per port
  when several gateway replicas are given), and `listen 80` a free port
  on 127.0.0.1 (yielded);
- logs, pid and the temp directories nginx writes to go under `directory`;
- one process (`master_process off`, `daemon off`), so the child dies with the test as every
  child of `kitchen.broker.start_child` does, and no `user` to drop to (nothing to drop to
  without a master; as root the workers could not reach pytest's private temp directory).

Connections from the proxy to the gateway come from 127.0.0.1, so a hub behind it trusts
`KITCHEN_TRUSTED_PROXIES=127.0.0.1`. Mind uvicorn: by default it rewrites the client of a request
from 127.0.0.1 with `X-Forwarded-For` itself (`FORWARDED_ALLOW_IPS`, default `127.0.0.1,::1`),
before the application's own rule runs; a test of `KITCHEN_TRUSTED_PROXIES` sets
`FORWARDED_ALLOW_IPS=""` so that only the hub decides, as in docker-compose.yml, where the proxy
is not 127.0.0.1.

nginx comes from the system (`make tools` installs Debian's package); without it the test is
skipped, or fails under CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from common.testing import free_port
from kitchen.broker import start_child, stop_process

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "nginx.conf"
UPSTREAM = "gateway:8000"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str:
    """The system's nginx; skips the test (fails it under CI) when there is none."""
    binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("nginx missing in CI (make tools installs it)")
        pytest.skip("nginx not installed; `make tools` installs it")
    return binary


def _built_without(binary: str) -> set[str]:
    """The temp paths of modules this nginx was built without (their directives are unknown)."""
    built = subprocess.run([binary, "-V"], capture_output=True, text=True, check=True).stderr
    return {name for name in TEMP_PATHS if f"--without-http_{name}_module" in built}


def config_for_test(
    upstream_ports: Sequence[int], listen_port: int, directory: Path, binary: str
) -> str:
    """`deploy/nginx.conf` as it runs in a test (see the module's docstring)."""
    text = CONFIG.read_text()
    server_line = re.compile(rf"server {re.escape(UPSTREAM)}([^;]*);")
    for literal, pattern in ((UPSTREAM, server_line.pattern), ("listen 80", r"\blisten 80\b")):
        if not re.search(pattern, text):
            raise AssertionError(f"{CONFIG} no longer has `{literal}` to substitute")
    # one `server` line per gateway replica, each with the parameters the deployed line has
    text = server_line.sub(
        lambda line: "\n        ".join(
            f"server 127.0.0.1:{port}{line.group(1)};" for port in upstream_ports
        ),
        text,
    )
    text = re.sub(r"\blisten 80\b", f"listen 127.0.0.1:{listen_port}", text)
    text = re.sub(r"(?m)^\s*user\s[^;]*;", "", text)
    text = text.replace("/dev/stderr", str(directory / "error.log"))
    text = text.replace("/dev/stdout", str(directory / "access.log"))
    skipped = _built_without(binary)
    temp = "".join(
        f"\n    {name}_temp_path {directory / 'temp' / name};"
        for name in TEMP_PATHS
        if name not in skipped
    )
    return re.sub(r"(?m)^http \{", lambda match: match.group(0) + temp, text, count=1)


@contextmanager
def running_nginx(
    upstream_port: int | Sequence[int], directory: Path, within_seconds: float = 10.0
) -> Iterator[int]:
    """nginx with `deploy/nginx.conf` in front of `127.0.0.1:<upstream_port>` (or of several
    gateway replicas, one port each); yields the port it listens on (127.0.0.1) once it answers,
    and stops it afterwards. Its configuration, logs and temp files are under `directory`, which
    it creates."""
    ports = [upstream_port] if isinstance(upstream_port, int) else list(upstream_port)
    binary = nginx_binary()
    (directory / "temp").mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "nginx.conf"
    config.write_text(config_for_test(ports, port, directory, binary))
    command = [
        binary,
        "-p",
        str(directory),
        "-c",
        str(config),
        "-e",
        str(directory / "error.log"),
        "-g",
        f"daemon off; master_process off; pid {directory / 'nginx.pid'};",
    ]
    with open(directory / "output.log", "ab") as output:
        child = start_child(command, output)
    try:
        _wait_answering(child, port, directory, within_seconds)
        yield port
    finally:
        stop_process(child)


def _wait_answering(
    child: subprocess.Popen[bytes], port: int, directory: Path, within_seconds: float
) -> None:
    """Any HTTP answer counts (the upstream need not be up); fail early if nginx exited."""
    deadline = time.monotonic() + within_seconds
    while True:
        if child.poll() is not None:
            errors = (directory / "error.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"nginx exited with {child.returncode}: {errors}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1.0)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
