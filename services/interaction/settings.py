"""Interaction settings: every duration is a setting per case kind (working days)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from common.settings import ServiceSettings


class KindDurations(BaseModel):
    """Working days allowed for one kind of case."""

    reply: int = 7
    extended_reply: int = 15  # counted from acceptance when an extension is approved
    forward: int | None = None  # 纠错 only: forward to the site owner


DEFAULT_DURATIONS: dict[str, KindDurations] = {
    "message": KindDurations(),
    "mailbox": KindDurations(),
    "consultation": KindDurations(),
    "complaint": KindDurations(),
    "suggestion": KindDurations(),
    "correction": KindDurations(reply=2, extended_reply=2, forward=1),
}


class InteractionSettings(ServiceSettings):
    durations: dict[str, KindDurations] = DEFAULT_DURATIONS
    # 纠错: the reply clock starts when the report is forwarded (default) or when it is received.
    correction_reply_anchor: Literal["forwarded", "received"] = "forwarded"
    return_window_working_days: int = 2  # a department may return a case within this window
    max_returns: int = 2  # after this many returns the office designates the handler
    max_suspension_working_days: int = 10  # total pause while waiting for the citizen
    warning_working_days: tuple[int, ...] = (2, 1)
    scheduler_interval_seconds: float = 60.0
    calendar_refresh_seconds: float = 60.0
    # official data from chinesecalendar up to its last year; provisional years after that
    provisional_until_year: int = 2030
    # abuse controls
    min_form_seconds: float = 5.0
    max_form_age_seconds: float = 4 * 3600
    rate_limit_per_ip: int = 10  # submissions per IP per hour
    rate_limit_per_phone: int = 5  # submissions per phone per day
    duplicate_window_hours: int = 24
    public_base_url: str = "http://127.0.0.1:8000"
