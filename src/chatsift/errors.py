"""Exceptions raised by chatsift.

The tree tells a caller (and the executor) what to do with a failure::

    ChatsiftError
    ├── ConfigError        bad configuration; raised before any work starts
    ├── InputError         an input cannot be opened, resolved or detected as a whole
    ├── ReleaseError       the output folder is in a state the run cannot continue from
    ├── PrivacyError       a private value (raw IP, secret) would reach disk; always fatal
    └── AdaptError         one record cannot be adapted to the schema; it goes to quarantine
"""

from __future__ import annotations


class ChatsiftError(Exception):
    """Base class of every error chatsift raises on purpose."""


class ConfigError(ChatsiftError):
    """A configuration value is wrong; the message names the key and the fix."""


class InputError(ChatsiftError):
    """An input path, URL or file cannot be used."""


class ReleaseError(ChatsiftError):
    """The output folder holds something the run must not overwrite or cannot resume from."""


class PrivacyError(ChatsiftError):
    """A private value would have been written; the run stops rather than leak it."""


class AdaptError(ChatsiftError):
    """A single record cannot be turned into a conversation.

    Args:
        reason: a short machine-readable code (``unknown_role``, ``missing_key``, ...), used to
            count quarantined records by reason.
        detail: a human-readable explanation.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
