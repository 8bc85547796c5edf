"""Random identifiers that fit the ``Id`` pattern and cannot be guessed."""

import secrets


def new_id(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(9)
