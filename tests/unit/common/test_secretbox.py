"""Secrets at rest are sealed, open again with the same key, and only with it."""

from __future__ import annotations

import pytest

from common.secretbox import SecretBox
from common.settings import ServiceSettings


def test_sealed_secret_opens_with_the_same_key_only() -> None:
    box = SecretBox("key-one")
    sealed = box.seal("whsec_签名密钥")
    assert sealed.startswith("fernet:") and "签名" not in sealed
    assert box.open(sealed) == "whsec_签名密钥"
    with pytest.raises(ValueError, match="another data key"):
        SecretBox("key-two").open(sealed)


def test_values_stored_before_encryption_still_read() -> None:
    assert SecretBox("k").open("plain-old-secret") == "plain-old-secret"


def test_production_refuses_the_default_data_key() -> None:
    with pytest.raises(ValueError, match="KITCHEN_DATA_KEY"):
        ServiceSettings(environment="production", internal_secret="x" * 40)
    ServiceSettings(environment="production", internal_secret="x" * 40, data_key="d" * 40)
