"""Secrets at rest: Fernet encryption with a key derived from SECRET_KEY.

Credentials we must send on (a CleverTap passcode) are stored encrypted, so a database dump
or a backup alone does not give them away. The key is derived from SECRET_KEY (HKDF with a
purpose of its own, so it is never the key Django signs with); values encrypted under a key
in SECRET_KEY_FALLBACKS still decrypt, which lets SECRET_KEY be rotated.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# The purpose stays as it was when this module lived in postbacks (stored values must decrypt).
_PURPOSE = b"partnerdesk.postbacks.secret-at-rest"


class UndecryptableSecret(ValueError):
    """A stored secret no current or fallback SECRET_KEY decrypts; it must be entered again."""


def _fernet_for(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


@lru_cache(maxsize=4)
def _keyring(secret_key: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet_for(key) for key in (secret_key, *fallbacks)])


def _current() -> MultiFernet:
    return _keyring(settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def encrypt(plain: str) -> str:
    """The value encrypted under the current SECRET_KEY (empty stays empty)."""
    return _current().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The plain value of `encrypt`'s output; `UndecryptableSecret` when no key opens it."""
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret(
            "The stored secret cannot be decrypted (SECRET_KEY changed without a fallback): enter it again."
        ) from None
