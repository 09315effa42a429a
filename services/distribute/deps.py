"""Distribute's long-lived collaborators, built once by `create_app` (`app.state.deps`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from common.doorbell import Doorbell
from common.idempotency import IdempotencyStore
from common.outbound import OutboundPolicy
from common.secretbox import SecretBox
from services.distribute.channels.adapters import AdapterFactory, ChannelAdapters
from services.distribute.library import VersionSource
from services.distribute.models import idempotency_records
from services.distribute.settings import DistributeSettings


@dataclass
class Deps:
    """`fetcher` reads versions from ingest when an approval overtakes them; `doorbell` is rung
    once a transaction that queued webhook deliveries commits; `box` seals webhook secrets and
    account credentials; `outbound` checks receiver URLs at registration; `channels` holds the
    platform adapters, made from `channel_factories`."""

    settings: DistributeSettings
    fetcher: VersionSource
    doorbell: Doorbell = field(default_factory=Doorbell)
    channel_factories: Mapping[str, AdapterFactory] = field(default_factory=dict)
    box: SecretBox = field(init=False)
    channels: ChannelAdapters = field(init=False)
    outbound: OutboundPolicy = field(init=False)
    idempotency: IdempotencyStore = field(
        default_factory=lambda: IdempotencyStore(idempotency_records)
    )

    def __post_init__(self) -> None:
        self.box = SecretBox.from_settings(self.settings)
        self.outbound = OutboundPolicy.from_settings(self.settings)
        self.channels = ChannelAdapters(self.settings, self.channel_factories)
