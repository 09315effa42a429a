"""Secrets kept at rest (webhook signing keys, channel credentials) encrypted with one data key.

The key comes from `KITCHEN_DATA_KEY`; production refuses the development default. A stored
value is `fernet:<token>`, so a row written before encryption was enabled still reads back.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "fernet:"


class SecretBox:
    """Encrypts and decrypts short secrets (authenticated encryption, Fernet)."""

    def __init__(self, data_key: str) -> None:
        digest = hashlib.sha256(data_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The plain secret; a value stored before encryption is returned as it is."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as error:
            raise ValueError("secret sealed with another data key") from error
