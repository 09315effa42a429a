"""Secrets kept at rest (webhook signing keys, channel credentials) encrypted with one data key.

The key comes from `KITCHEN_DATA_KEY`; production refuses the development default. A stored
value is `fernet:<token>`, so a row written before encryption was enabled still reads back.
Rotation: put the old key in `KITCHEN_DATA_KEY_PREVIOUS` (a JSON list) and set the new one;
values open with either, and each service re-seals its rows with the new key at start.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from common.settings import ServiceSettings

PREFIX = "fernet:"


def _fernet(data_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(data_key.encode()).digest()))


class SecretBox:
    """Encrypts and decrypts short secrets (authenticated encryption, Fernet)."""

    def __init__(self, data_key: str, previous_keys: list[str] | tuple[str, ...] = ()) -> None:
        self._current = _fernet(data_key)
        self._any = MultiFernet([self._current, *(_fernet(k) for k in previous_keys)])

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> SecretBox:
        return cls(settings.data_key, settings.data_key_previous)

    def seal(self, secret: str) -> str:
        return PREFIX + self._current.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The plain secret; a value stored before encryption is returned as it is."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._any.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as error:
            raise ValueError("secret sealed with another data key") from error

    def reseal(self, stored: str) -> str | None:
        """The value sealed with the current key, or None when it already is.

        Plain legacy values are sealed; values sealed with a previous key are re-encrypted.
        A value no known key opens raises ValueError.
        """
        if not stored.startswith(PREFIX):
            return self.seal(stored)
        token = stored[len(PREFIX) :].encode()
        try:
            self._current.decrypt(token)
            return None
        except InvalidToken:
            pass
        try:
            return PREFIX + self._any.rotate(token).decode()
        except InvalidToken as error:
            raise ValueError("secret sealed with another data key") from error

    def reseal_rows(self, rows: Iterable[Any], field: str = "secret") -> list[Any]:
        """Re-seal `field` of each row in place; returns the rows that changed.

        A value no known key opens is left as it is (its users skip it and log why)."""
        changed = []
        for row in rows:
            try:
                fresh = self.reseal(getattr(row, field))
            except ValueError:
                continue
            if fresh is not None:
                setattr(row, field, fresh)
                changed.append(row)
        return changed
