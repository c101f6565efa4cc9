"""Each process's cache of the webhook secrets, and which of them verifies a callback.

A service's inbound entry holds the current secret and, for the overlap after a rotation, the
previous one with its expiry (services.webhook_secret_rotate). Each web process keeps them in
memory so that a callback costs no query. How a change reaches every process:

- a new secret: a signature that matches no cached secret reloads the entry (at most every
  `refresh_interval` seconds per service, so that a flood of bad signatures costs at most ten
  indexed reads a second), so the new one verifies at once everywhere (unless a bad signature
  for the same service came in less than a tenth of a second before);
- a secret rotated out with no overlap, or cut off by replacing the secret in the service's
  authentications: every entry is read again after `ttl` seconds, so it stops verifying within
  that bound everywhere (the process that made the change forgets its entry at commit, so
  there at once);
- a previous secret's expiry: checked against the clock on every callback, so exact.
"""

from __future__ import annotations

import threading
import time
from typing import NamedTuple

from messaging.choices import VerifiedWith
from messaging.selectors import inbound_authentication
from messaging.webhooks.signature import SignedHeaders, signature_matches


class InboundSecrets(NamedTuple):
    """A service's webhook secrets as one process holds them."""

    current: bytes
    previous: bytes | None = None
    # Epoch seconds until which `previous` verifies.
    previous_until: float = 0.0
    # A disabled service (MessagingService.enabled) refuses every callback.
    enabled: bool = True

    def verifying(self, body: bytes, headers: SignedHeaders, *, now: float) -> VerifiedWith | None:
        """Which secret signed the callback (the current one is tried first), or None."""
        if signature_matches(self.current, body, headers):
            return VerifiedWith.CURRENT
        if (
            self.previous is not None
            and now < self.previous_until
            and signature_matches(self.previous, body, headers)
        ):
            return VerifiedWith.PREVIOUS
        return None


class WebhookSecretCache:
    """Per-process cache of each service's webhook secrets (see the module's docstring)."""

    # Seconds an entry is used before it is read again: the bound within which a secret
    # removed elsewhere stops verifying here (one indexed query per service per bound).
    ttl = 5.0
    missing_ttl = 1.0
    # A flood of bad signatures costs at most ten indexed reads a second per service; a
    # secret rotated in another process is picked up by the first callback after this long.
    refresh_interval = 0.1

    def __init__(self) -> None:
        self._entries: dict[int, tuple[InboundSecrets | None, float]] = {}
        # When a mismatch last made each service's entry be read again.
        self._reloaded_at: dict[int, float] = {}
        self._lock = threading.Lock()

    def get(self, service_id: int) -> InboundSecrets | None:
        """The service's secrets, or None when the service or its inbound entry is unknown."""
        entry = self._entries.get(service_id)
        now = time.monotonic()
        if entry is not None:
            secrets, loaded_at = entry
            if now - loaded_at < (self.ttl if secrets is not None else self.missing_ttl):
                return secrets
        return self._load(service_id, now)

    def reload_after_mismatch(
        self, service_id: int, stale: InboundSecrets
    ) -> InboundSecrets | None:
        """Fresher secrets than `stale`, or None when there are none to try."""
        now = time.monotonic()
        last = self._reloaded_at.get(service_id)
        if last is not None and now - last < self.refresh_interval:
            return None
        self._reloaded_at[service_id] = now
        secrets = self._load(service_id, now)
        return secrets if secrets is not None and secrets != stale else None

    def forget(self, service_id: int) -> None:
        with self._lock:
            self._entries.pop(service_id, None)
            self._reloaded_at.pop(service_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._reloaded_at.clear()

    def _load(self, service_id: int, now: float) -> InboundSecrets | None:
        authentication = inbound_authentication(service_id)
        secrets = None
        if authentication is not None and not authentication.service.enabled:
            secrets = InboundSecrets(current=b"", enabled=False)
        elif authentication is not None and authentication.secret is not None:
            previous = authentication.previous_secret
            until = authentication.previous_secret_expires_at
            secrets = InboundSecrets(
                current=authentication.secret.reveal().encode(),
                previous=(
                    previous.reveal().encode()
                    if previous is not None and until is not None
                    else None
                ),
                previous_until=until.timestamp() if until is not None else 0.0,
            )
        with self._lock:
            self._entries[service_id] = (secrets, now)
        return secrets


webhook_secrets = WebhookSecretCache()
