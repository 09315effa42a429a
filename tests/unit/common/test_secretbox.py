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


def test_rotation_opens_old_values_and_reseals_them_with_the_new_key() -> None:
    old = SecretBox("old-key")
    sealed_with_old = old.seal("whsec_rotate")
    rotated = SecretBox("new-key", previous_keys=["old-key"])
    assert rotated.open(sealed_with_old) == "whsec_rotate"
    fresh = rotated.reseal(sealed_with_old)
    assert fresh is not None and SecretBox("new-key").open(fresh) == "whsec_rotate"
    assert rotated.reseal(fresh) is None  # already under the current key
    assert rotated.reseal("plain") is not None
    with pytest.raises(ValueError):
        rotated.reseal(SecretBox("unknown").seal("x"))
