"""Signed session tokens: who (person, event) a connection or request speaks for."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from rooms import errors


@dataclass(frozen=True)
class Claims:
    event_id: str
    person_id: str


class Tokens:
    def __init__(self, secret: str, ttl_seconds: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="fairhall.session")
        self.ttl = ttl_seconds

    def mint(self, event_id: str, person_id: str) -> str:
        return self._serializer.dumps({"e": event_id, "p": person_id})

    def verify(self, token: object) -> Claims:
        if not isinstance(token, str) or not token:
            raise errors.AUTH_REQUIRED("a session token is required")
        if len(token) > 2048:
            raise errors.AUTH_INVALID("the session token is not valid")
        try:
            data = self._serializer.loads(token, max_age=self.ttl)
        except SignatureExpired:
            raise errors.AUTH_EXPIRED("the session token has expired") from None
        except BadSignature:
            raise errors.AUTH_INVALID("the session token is not valid") from None
        if not isinstance(data, dict) or not {"e", "p"} <= data.keys():
            raise errors.AUTH_INVALID("the session token is not valid")
        return Claims(event_id=str(data["e"]), person_id=str(data["p"]))
