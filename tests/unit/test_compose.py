"""docker-compose.yml stays valid and keeps its production shape."""

from __future__ import annotations

import os
import shutil
import subprocess
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
import yaml

from common.draining_http import HTTP_PROTOCOL
from common.replicas import CLIENT_KEEP_ALIVE_SECONDS, SERVER_KEEP_ALIVE_SECONDS
from gateway.settings import GatewaySettings
from kitchen.stack import SCALED

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_ENV = {
    "KITCHEN_INTERNAL_SECRET": "i" * 40,
    "KITCHEN_TOKEN_SECRET": "t" * 40,
    "KITCHEN_DATA_KEY": "d" * 40,
    "POSTGRES_PASSWORD": "p" * 20,
}


def test_compose_file_is_valid() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose missing in CI (make tools installs it)")
        pytest.skip("docker-compose not installed; `make tools` installs it")
    result = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env={**os.environ, **COMPOSE_ENV},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_has_every_service_api_and_worker_with_health_checks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("ingest", "review", "distribute", "interaction"):
        api, worker = services[f"{name}-api"], services[f"{name}-worker"]
        assert api["environment"]["KITCHEN_PROCESS_ROLE"] == "api"
        assert worker["environment"]["KITCHEN_PROCESS_ROLE"] == "worker"
        assert api["environment"]["KITCHEN_DATABASE_URL"].endswith(f"/{name}")
        assert "healthcheck" in api and "healthcheck" in worker
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["gateway"]


def test_only_the_proxy_is_public_and_the_gateway_trusts_exactly_it() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    proxy = services["proxy"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    address = proxy["networks"]["default"]["ipv4_address"]
    assert services["gateway"]["environment"]["KITCHEN_TRUSTED_PROXIES"] == address
    # a fixed address inside the network, outside the range other containers are given
    (pool,) = compose["networks"]["default"]["ipam"]["config"]
    assert ip_address(address) in ip_network(pool["subnet"])
    assert ip_address(address) not in ip_network(pool["ip_range"])
    assert "server gateway:8000 max_fails=0;" in (ROOT / "deploy" / "nginx.conf").read_text()


def test_compose_refuses_to_start_without_secrets() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose not installed")
    env = {**{k: v for k, v in os.environ.items() if k not in COMPOSE_ENV}, **COMPOSE_ENV}
    del env["KITCHEN_INTERNAL_SECRET"]
    result = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode != 0 and "KITCHEN_INTERNAL_SECRET" in result.stderr + result.stdout


def test_the_proxy_refuses_bodies_where_the_gateway_does() -> None:
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    limit = GatewaySettings.model_fields["max_body_bytes"].default
    assert f"client_max_body_size {limit // (1024 * 1024)}m;" in config
    assert limit % (1024 * 1024) == 0
    assert f"body exceeds {limit} bytes" in config  # its own 413 says what the gateway's says


def test_servers_keep_idle_connections_well_past_their_clients() -> None:
    """Every uvicorn compose starts keeps idle connections as long as `kitchen run`'s do, and
    nginx (a client of the gateway) drops its own well before: either side drifting back to
    uvicorn's 5 s default would let a loaded client send POSTs on closing connections."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    servers = [s for s in compose["services"].values() if s.get("command", [""])[0] == "uvicorn"]
    assert len(servers) == 9  # four services × api and worker, and the gateway
    for server in servers:
        command = server["command"]
        keep_alive = command[command.index("--timeout-keep-alive") + 1]
        assert int(keep_alive) == SERVER_KEEP_ALIVE_SECONDS
        assert command[command.index("--http") + 1] == HTTP_PROTOCOL  # drained at SIGTERM
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    upstream = config[config.index("upstream gateway") :]
    nginx_seconds = int(upstream.split("keepalive_timeout ", 1)[1].split("s;", 1)[0])
    assert nginx_seconds == CLIENT_KEEP_ALIVE_SECONDS < SERVER_KEEP_ALIVE_SECONDS / 2


def test_the_cpu_bound_api_servers_and_only_they_run_kitchen_workers() -> None:
    """compose and `kitchen run` scale the same servers by KITCHEN_WORKERS: the API containers
    of kitchen.stack.SCALED run that many uvicorn processes (one by default), nothing else
    does — a worker container's processes would only be more consumers of its group."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    scaled = {}
    for name, service in compose["services"].items():
        command = service.get("command", [""])
        if command[0] == "uvicorn" and "--workers" in command:
            scaled[name] = command[command.index("--workers") + 1]
    wanted = {"gateway" if s == "gateway" else f"{s}-api" for s in SCALED}
    assert scaled == dict.fromkeys(wanted, "${KITCHEN_WORKERS:-1}")
