"""File hashing."""

import hashlib


def sha256_file(path, chunk_size=1 << 20):
    """Returns the hex sha256 digest of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
