"""API tokens: created by `propscope tokens create`, stored as SHA-256 hashes, checked per request.

A token is 32 random bytes, so a plain SHA-256 is enough to make a stolen database useless for
logging in (no salt or slow hash needed: there is nothing to brute-force). The secret itself is
printed once, at creation, and never stored or logged.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from propscope.store.schema import api_tokens  # created by migration 0003_api_tokens

ROLES = ("reader", "analyst", "admin")
TOKEN_PREFIX = "psk_"
CACHE_SECONDS = 10.0  # how long a revoked token may still work in a running server

@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What `propscope tokens list` shows: never the secret, only its first characters."""

    id: int
    name: str | None
    role: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id, "name": self.name, "role": self.role, "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def role_rank(role: str) -> int:
    """reader < analyst < admin; unknown roles rank below reader."""
    return ROLES.index(role) if role in ROLES else -1


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_token(engine: Engine, role: str, name: str | None = None) -> str:
    """Store the hash of a new random token and return the token itself (shown once).

    Args:
        engine: the store's engine (migrated, so `api_tokens` exists).
        role: reader, analyst or admin.
        name: a note saying who or what the token is for.

    Returns:
        The secret token, e.g. "psk_…". Raises ValueError for an unknown role.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = {
        "name": name, "role": role, "token_hash": hash_token(token),
        "prefix": token[:10], "created_at": _now(),
    }
    with engine.begin() as conn:
        conn.execute(insert(api_tokens).values(**row))
    return token


def list_tokens(engine: Engine) -> list[TokenInfo]:
    with engine.connect() as conn:
        rows = conn.execute(select(api_tokens).order_by(api_tokens.c.id)).all()
    return [
        TokenInfo(r.id, r.name, r.role, r.prefix, r.created_at, r.revoked_at) for r in rows
    ]


def revoke_token(engine: Engine, token_id: int) -> bool:
    """Mark a token revoked; False when there is no such live token."""
    statement = (
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount > 0


class TokenChecker:
    """Looks up a presented token's role, caching answers briefly so reads cost no query."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def role_of(self, token: str) -> str | None:
        """The role of a live token, or None when it is unknown or revoked."""
        digest = hash_token(token)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        role = self._lookup(digest)
        with self._lock:
            if len(self._cache) > 10_000:  # bound memory against floods of random tokens
                self._cache.clear()
            self._cache[digest] = (now, role)
        return role

    def _lookup(self, digest: str) -> str | None:
        statement = select(api_tokens.c.role).where(
            api_tokens.c.token_hash == digest, api_tokens.c.revoked_at.is_(None)
        )
        with self._engine.connect() as conn:
            role = conn.execute(statement).scalar()
        return str(role) if role is not None else None
