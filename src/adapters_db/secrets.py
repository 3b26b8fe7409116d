"""Agent secrets at rest: Fernet tokens, with key rotation."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from wfcore.domain.errors import ServiceUnavailable

_UNREADABLE = (
    "a stored secret cannot be decrypted with the configured keys (WF_SECRET_KEY); "
    "keep an old key in the list until every secret was rotated"
)


class FernetSecretBox:
    """Encrypts with the first (newest) key and decrypts with any of them, so keys can be rotated:
    put a new key first, keep the old ones until every token was `rotate`d, then drop them.

    Implements the `SecretBox` port. Refuses to exist without a key: secrets are never stored in clear.
    """

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ValueError("FernetSecretBox needs at least one key; secrets are never stored in clear")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @staticmethod
    def new_key() -> str:
        """A fresh random key, in the form `keys` takes."""
        return Fernet.generate_key().decode("ascii")

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plaintext; `ServiceUnavailable` when none of the keys opens the token."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ServiceUnavailable(_UNREADABLE) from None

    def rotate(self, token: str) -> str:
        """`token` re-encrypted with the newest key (unchanged plaintext)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ServiceUnavailable(_UNREADABLE) from None
