"""ICE servers handed to browsers for peer-to-peer calls.

STUN URLs go out as configured. TURN URLs go out with credentials minted per person
with coturn's shared-secret scheme (``use-auth-secret`` + ``static-auth-secret``):
``username = "<expiry unix time>:<person id>"`` and
``credential = base64(HMAC-SHA1(secret, username))``. coturn recomputes the HMAC and
refuses a username whose expiry has passed, so no static password ever reaches a
browser. Offline (the default) the list is empty: browsers then use host candidates
only, and nothing calls a public STUN server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass


def turn_credential(secret: str, person_id: str, expires: int) -> tuple[str, str]:
    """(username, credential) valid until ``expires`` (Unix seconds)."""
    username = f"{expires}:{person_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class IceConfig:
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None  # the coturn static-auth-secret; TURN is off without it
    turn_ttl: float = 6 * 3600  # seconds a minted TURN credential stays valid

    def servers_for(self, person_id: str, now: float | None = None) -> dict:
        """``{"ice_servers": [RTCIceServer...], "expires_at": epoch or None}``."""
        servers: list[dict] = []
        expires_at = None
        if self.stun_urls:
            servers.append({"urls": list(self.stun_urls)})
        if self.turn_urls and self.turn_secret:
            expires_at = int((time.time() if now is None else now) + self.turn_ttl)
            username, credential = turn_credential(self.turn_secret, person_id, expires_at)
            servers.append(
                {"urls": list(self.turn_urls), "username": username, "credential": credential}
            )
        return {"ice_servers": servers, "expires_at": expires_at}
