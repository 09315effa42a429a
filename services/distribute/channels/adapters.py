"""The platform adapters of one process, made on first use.

Adapters hold HTTP clients, which belong to the event loop that uses them: the API's loop for
credential checks at registration, the worker's for deliveries. So each is created lazily,
once per process, from a factory per platform (`services.distribute.clients.wechat`/`weibo`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from common.errors import Unprocessable
from services.distribute.channels.contract import PLATFORMS, ChannelAdapter
from services.distribute.settings import DistributeSettings

AdapterFactory = Callable[[DistributeSettings], ChannelAdapter]


class ChannelAdapters:
    """`get(platform)` returns the process's adapter for a platform, creating it first."""

    def __init__(
        self, settings: DistributeSettings, factories: Mapping[str, AdapterFactory]
    ) -> None:
        self.settings = settings
        self.factories = dict(factories)
        self.made: dict[str, ChannelAdapter] = {}

    def get(self, platform: str) -> ChannelAdapter:
        if platform not in PLATFORMS or platform not in self.factories:
            raise Unprocessable(f"unknown platform {platform!r}", field="platform")
        if platform not in self.made:
            self.made[platform] = self.factories[platform](self.settings)
        return self.made[platform]

    async def aclose(self) -> None:
        """Close every adapter made (at shutdown)."""
        made, self.made = self.made, {}
        for adapter in made.values():
            await adapter.aclose()
