"""``user_id`` as a keyed hash of the IP or user field, so no raw IP ever reaches disk.

FastChat stored unsalted ``md5(ip)``, which brute force over the IPv4 space reverses in minutes.
chatsift uses HMAC-SHA256 with a secret: the same secret links users across releases, and without
it the ids cannot be reversed or joined to IPs. The raw value (``_raw_user``) is dropped here.
"""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa

from chatsift.pipeline.stage import BatchStage, set_column

RAW_USER = "_raw_user"


def keyed_user_id(secret: bytes, value: str) -> str:
    return hmac.new(secret, value.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()[:32]


class UserIdStage(BatchStage):
    name = "user_id"
    inputs = (RAW_USER,)
    outputs = ("user_id",)

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("UserIdStage needs a non-empty secret")
        self._secret = secret

    def describe(self) -> str:
        return "HMAC-SHA256 of the IP / user field with a secret key; the raw value is dropped"

    def process_batch(self, batch: pa.Table) -> pa.Table:
        raw = batch.column(RAW_USER).to_pylist()
        ids = [None if v is None else keyed_user_id(self._secret, v) for v in raw]
        batch = set_column(batch, "user_id", pa.array(ids, pa.string()))
        return batch.drop_columns([RAW_USER])
