"""The limit windows and the planner's simulation (pure): fixed windows, Beijing days, pauses,
and a shared app window that pushes every account of the app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.distribute.channels.contract import Outcome
from services.distribute.channels.outcomes import (
    OPEN_CHANNEL_STATES,
    publish_state,
    retract_state,
    retry_delay,
)
from services.distribute.channels.quota import Limit, Usage, window_end, window_start

NOW = datetime(2026, 3, 2, 15, 59, 30, tzinfo=UTC)  # 23:59:30 in Beijing


def test_a_day_is_a_beijing_calendar_day() -> None:
    start = window_start("day", NOW)
    assert start == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 00:00 Beijing
    assert window_end("day", start) == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert window_start("minute", NOW) == datetime(2026, 3, 2, 15, 59, tzinfo=UTC)
    assert window_start("hour", NOW) == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_full_windows_push_posts_to_the_next_window_in_order() -> None:
    usage = Usage({}, {})
    limits = [Limit("account:a", "minute", 2), Limit("account:a", "day", 3)]
    placed = []
    for _ in range(5):
        moment, reason = usage.earliest(limits, ["account:a"], NOW)
        usage.count(limits, moment)
        placed.append((moment, reason))
    assert [m for m, _ in placed[:2]] == [NOW, NOW]
    assert placed[2][0] == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # the next minute ...
    assert "每分钟" in placed[2][1]
    # ... which is also the next Beijing day: the day cap of 3 is then filled by posts 3-5
    assert placed[3][0] == placed[2][0] and placed[4][0] == placed[2][0] + timedelta(minutes=1)


def test_a_pause_holds_every_post_until_it_ends() -> None:
    pause = NOW + timedelta(hours=2)
    usage = Usage({}, {"account:a": pause})
    moment, reason = usage.earliest([Limit("account:a", "hour", 30)], ["account:a"], NOW)
    assert moment == pause and "平台限流" in reason


def test_accounts_of_one_app_share_its_window() -> None:
    usage = Usage({}, {})
    app = Limit("app:weibo:k", "day", 2)
    first = [Limit("account:a", "hour", 30), app]
    second = [Limit("account:b", "hour", 30), app]
    for limits in (first, second):
        usage.count(limits, usage.earliest(limits, [], NOW)[0])
    moment, reason = usage.earliest(first, [], NOW)
    assert moment == window_end("day", window_start("day", NOW)) and "每日" in reason


def test_outcome_rules() -> None:
    assert publish_state(Outcome.UNKNOWN) == publish_state(Outcome.DUPLICATE) == "unknown"
    assert publish_state(Outcome.PARK) == "parked" and publish_state(Outcome.EDIT) == "needs_edit"
    assert retract_state(Outcome.REMOVED) == "delivered" and retract_state(Outcome.EDIT) == "failed"
    assert "needs_edit" not in OPEN_CHANNEL_STATES and "parked" in OPEN_CHANNEL_STATES
    delays = [retry_delay(n) for n in range(1, 12)]
    assert all(0 < d <= 600 for d in delays) and retry_delay(1) <= 2.0
