"""Secrets the product keeps for itself (HMAC key of the access log, the sample salt, the demo session
key): from an environment variable (hex) when set, else a random file under ``$NSER_DATA_DIR/secrets``
created once, atomically and readable by the owner only. Several gunicorn workers may start together:
exactly one creates the file (O_EXCL) and every worker reads the same bytes."""

from __future__ import annotations

import functools
import os
import secrets

from data.snapshots import data_dir


def kept_secret(name: str, env: str | None = None, nbytes: int = 32) -> bytes:
    value = os.environ.get(env) if env else None
    if value:
        return bytes.fromhex(value)
    return _read_or_create(str(data_dir() / "secrets" / name), nbytes)


@functools.cache
def _read_or_create(path: str, nbytes: int) -> bytes:
    """The file's bytes, creating it first if nobody has (read once per process: it never changes)."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(nbytes))
    with open(path, "rb") as fh:
        return fh.read()
