"""Secrets the product keeps for itself (HMAC key of the access log, the sample salt, the demo session
key): from an environment variable (hex) when set, else a random file under ``$NSER_DATA_DIR/secrets``
created once, atomically and readable by the owner only.

Several gunicorn workers may start together. The file is written in full under a private temporary name
and then hard-linked to its final name, which fails if another worker got there first: nobody can ever
read a file that exists but is not yet written (an earlier O_EXCL-then-write version let a second worker
read zero bytes — an empty session key and an empty access-log key)."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets


class SecretError(RuntimeError):
    """A kept secret is unusable (wrong length or not hex); the message names the file or variable."""


def kept_secret(name: str, env: str | None = None, nbytes: int = 32) -> bytes:
    value = os.environ.get(env) if env else None
    if value:
        try:
            key = bytes.fromhex(value)
        except ValueError as exc:
            raise SecretError(f"{env} must be hex ({nbytes * 2} hex digits)") from exc
        if len(key) < 16:
            raise SecretError(f"{env} is too short: {len(key)} bytes, at least 16 are needed")
        return key
    from data.snapshots import data_dir  # data.snapshots keeps its own secret through this module

    return read_or_create(str(data_dir() / "secrets" / name), nbytes)


@functools.cache
def read_or_create(path: str, nbytes: int = 32) -> bytes:
    """The file's bytes, creating it first if nobody has (read once per process: it never changes)."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o700)
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(nbytes))
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another worker's complete file won
                os.link(tmp, path)  # atomic: exactly one worker's complete file gets the name
        finally:
            os.unlink(tmp)
    with open(path, "rb") as fh:
        key = fh.read()
    if len(key) != nbytes:
        raise SecretError(
            f"{path} holds {len(key)} bytes, {nbytes} expected: it is damaged; restore it from backup "
            "(deleting it makes a new secret, which breaks what the old one signed)"
        )
    return key
