"""Review closes the link checker's HTTP client it made when its lifespan ends."""

from __future__ import annotations

from asgi_lifespan import LifespanManager

from services.review.app import create_app
from services.review.clients.links import LinkChecker
from services.review.settings import ReviewSettings


async def test_the_link_checkers_client_is_closed_at_shutdown(database_url: str) -> None:
    app = create_app(ReviewSettings(database_url=database_url, process_role="api"))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        checker = app.state.deps.checks.links
        assert isinstance(checker, LinkChecker) and not checker.client.is_closed
    assert checker.client.is_closed
    assert app.state.deps.checks.links is None
