"""Fault injection shared by the platform sandboxes: a plan of armed faults per endpoint.

A test (or a person at `make run`) arms a fault for an endpoint name — "the next 2 calls of
`freepublish/submit` answer busy" — and the sandbox's handler takes the next armed fault for
its endpoint before doing its work. What a fault means (an errcode, an HTTP 500, a delay) is up
to the sandbox; this module only keeps the plan. Platform-neutral: the WeChat and Weibo
sandboxes both use it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field


@dataclass
class Fault:
    """One armed fault: `name` (e.g. "busy", "http_500", "timeout_after"), how many more calls
    it hits (`times`), and its parameters (`params`, e.g. {"delay": 5})."""

    endpoint: str
    name: str
    times: int = 1
    params: dict[str, Any] = field(default_factory=dict)

    def param(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "fault": self.name,
            "times": self.times,
            "params": dict(self.params),
        }


class FaultPlan:
    """Armed faults per endpoint, taken first-armed first. Thread-safe (a sandbox may run in a
    background thread while a test arms faults from another)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.fired: list[dict[str, Any]] = []  # every fault taken, in order (for state pages)

    def arm(self, endpoint: str, name: str, times: int = 1, **params: Any) -> Fault:
        """Arm `name` for the next `times` calls of `endpoint` ("*" matches every endpoint)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = Fault(endpoint, name, times, dict(params))
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, endpoint: str) -> Fault | None:
        """The next armed fault for `endpoint` (counting one use of it), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (endpoint, "*"):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    taken = Fault(endpoint, fault.name, 1, dict(fault.params))
                    self.fired.append(taken.as_dict())
                    return taken
        return None

    def peek(self, endpoint: str) -> Fault | None:
        """The fault `take` would return, without using it."""
        with self._lock:
            return next((f for f in self._faults if f.endpoint in (endpoint, "*")), None)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.fired.clear()

    def disarm(self) -> int:
        """Forget the armed faults, keep the record of fired ones; returns how many went."""
        with self._lock:
            dropped = len(self._faults)
            self._faults.clear()
            return dropped

    def armed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.as_dict() for fault in self._faults]


class FaultRequest(BaseModel):
    """`POST /_sandbox/faults`: extra keys are the fault's parameters (e.g. "delay": 3)."""

    model_config = ConfigDict(extra="allow")

    endpoint: str = Field(min_length=1)
    fault: str = Field(min_length=1)
    times: int = Field(default=1, ge=1)


def control_router(
    plan: FaultPlan,
    reset: Callable[[], None],
    state: Callable[[], dict[str, Any]],
    known_faults: frozenset[str] | None = None,
) -> APIRouter:
    """The JSON control API under `/_sandbox`: POST `faults` arms one, GET `faults` lists the
    armed ones, POST `reset` forgets everything (the sandbox's `reset` plus the plan), GET
    `state` returns `state()`. A fault not in `known_faults` (when given) is refused with 422."""
    router = APIRouter(prefix="/_sandbox")

    @router.post("/faults")
    def arm(request: FaultRequest) -> dict[str, Any]:
        if known_faults is not None and request.fault not in known_faults:
            raise HTTPException(422, f"unknown fault {request.fault!r}")
        params = dict(request.model_extra or {})
        return plan.arm(request.endpoint, request.fault, request.times, **params).as_dict()

    @router.get("/faults")
    def armed() -> list[dict[str, Any]]:
        return plan.armed()

    @router.delete("/faults")
    def disarm() -> dict[str, int]:
        """Drop the faults not yet fired (those fired stay on record)."""
        return {"disarmed": plan.disarm()}

    @router.post("/reset")
    def reset_all() -> dict[str, bool]:
        plan.clear()
        reset()
        return {"ok": True}

    @router.get("/state")
    def read_state() -> dict[str, Any]:
        return state()

    return router
