"""The Conversation API's app and webhook endpoints, as the setup doctor reads and writes them.

`GET /v1/projects/{project}/apps/{app}` (processing mode, channel credentials),
`GET …/apps/{app}/webhooks` (`{"webhooks": [...]}`), `POST /v1/projects/{project}/webhooks`
and `PATCH …/webhooks/{id}`. The PATCH carries every field the doctor manages (app, target,
target type, triggers, secret) and no `update_mask`, as Sinch's own SDKs send it. Calls go
through `client.api_request` with one of the service's outbound keys: its auth method, its
origin (SINCH_API_ORIGIN in tests), and its scrubbing of secrets from what Sinch answers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from messaging.models import MessagingService
from messaging.sinch.client import AccessKey, SinchError, api_request

logger = logging.getLogger(__name__)

# "Events will be sent to an HTTP target"; DISMISS (Sinch's default) sends none.
TARGET_TYPE_HTTP = "HTTP"
# Sinch keeps at most this many webhooks per app.
MAX_WEBHOOKS_PER_APP = 5


@dataclass(frozen=True)
class SinchAppSettings:
    """What the doctor reads of an app: its processing mode and its channels with credentials."""

    app_id: str
    display_name: str
    processing_mode: str  # "DISPATCH", "CONVERSATION", or "" when Sinch does not say
    channels: frozenset[str]


@dataclass(frozen=True)
class SinchWebhook:
    """A webhook of an app as Sinch lists it; `secret` is None when Sinch does not show it."""

    id: str
    app_id: str
    target: str
    target_type: str
    triggers: tuple[str, ...]
    secret: str | None = field(default=None, repr=False)


class ConversationApi:
    """A messaging service's project, reached with one of its outbound access keys."""

    def __init__(
        self, service: MessagingService, key: AccessKey, *, hidden: Sequence[str] = ()
    ) -> None:
        self.service = service
        self.key = key
        # Values masked in every error besides the key's (the service's webhook secrets).
        self.hidden = list(hidden)

    def app(self, app_id: str) -> SinchAppSettings:
        """The app's settings (SinchError when Sinch refuses or cannot be reached)."""
        payload = self._call("GET", f"/apps/{quote(app_id, safe='')}")
        channels = payload.get("channel_credentials")
        return SinchAppSettings(
            app_id=str(payload.get("id") or app_id),
            display_name=str(payload.get("display_name") or ""),
            processing_mode=str(payload.get("processing_mode") or "").upper(),
            channels=frozenset(
                str(entry["channel"]).upper()
                for entry in (channels if isinstance(channels, list) else [])
                if isinstance(entry, dict) and entry.get("channel")
            ),
        )

    def webhooks(self, app_id: str) -> list[SinchWebhook]:
        """The app's webhooks."""
        payload = self._call("GET", f"/apps/{quote(app_id, safe='')}/webhooks")
        listed = payload.get("webhooks")
        return [
            _webhook(entry, app_id)
            for entry in (listed if isinstance(listed, list) else [])
            if isinstance(entry, dict)
        ]

    def webhook_create(
        self, *, app_id: str, target: str, triggers: list[str], secret: str
    ) -> SinchWebhook:
        """A new HTTP webhook of the app, signed with `secret`."""
        body = _webhook_body(app_id, target, triggers, secret)
        return _webhook(self._call("POST", "/webhooks", body, hidden=[secret]), app_id)

    def webhook_update(
        self, *, webhook_id: str, app_id: str, target: str, triggers: list[str], secret: str
    ) -> SinchWebhook:
        """Point an existing webhook here: target, HTTP, triggers and secret."""
        body = _webhook_body(app_id, target, triggers, secret)
        path = f"/webhooks/{quote(webhook_id, safe='')}"
        return _webhook(self._call("PATCH", path, body, hidden=[secret]), app_id)

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        hidden: list[str] | None = None,
    ) -> dict[str, Any]:
        project = quote(self.service.project_id, safe="")
        logger.info("Setup doctor: %s %s of messaging service %r", method, path, self.service.name)
        answer = api_request(
            service_connection=self.service.service_connection,
            auth_method=self.service.auth_method,
            key=self.key,
            method=method,
            path=f"/v1/projects/{project}{path}",
            body=body,
            hidden=[*self.hidden, *(hidden or [])],
        )
        if not isinstance(answer.body, dict):
            raise SinchError(
                f"Sinch answered {answer.status} without the expected JSON object.",
                status=answer.status,
            )
        return answer.body


def _webhook_body(app_id: str, target: str, triggers: list[str], secret: str) -> dict[str, Any]:
    return {
        "app_id": app_id,
        "target": target,
        "target_type": TARGET_TYPE_HTTP,
        "triggers": list(triggers),
        "secret": secret,
    }


def _webhook(entry: dict[str, Any], app_id: str) -> SinchWebhook:
    triggers = entry.get("triggers")
    secret = entry.get("secret")
    return SinchWebhook(
        id=str(entry.get("id") or ""),
        app_id=str(entry.get("app_id") or app_id),
        target=str(entry.get("target") or ""),
        target_type=str(entry.get("target_type") or "").upper(),
        triggers=tuple(str(t) for t in (triggers if isinstance(triggers, list) else [])),
        secret=secret if isinstance(secret, str) and secret else None,
    )
