"""The setup doctor: asks Sinch whether a messaging service is connected, and fixes its webhook.

The checks, in the order seed 001 sets a service up: the webhook URL is public HTTPS
(`PUBLIC_BASE_URL`); each outbound access key gets an OAuth2 token; each app exists in the
project, is in Dispatch mode and has credentials for every channel its queues are addressed to;
each app has a webhook targeting this service's URL, with the inbound entry's triggers and
secret; and when the last callback from Sinch arrived. With `fix`, an app's webhook that is not
right is created or updated (URL, triggers, the current secret, so a rotation reaches Sinch).

Every check's failure says what to do next. An answer Sinch refused (401, 403, 404, 5xx) or no
answer at all is an `error` with Sinch's words, never an exception: the doctor is how an
administrator finds out what is wrong, so it must answer whatever Sinch does. Sinch is asked
outside any transaction, within DOCTOR_SECONDS in all; once it cannot be reached, it is not
asked again in the run. The run is stored (`DoctorRun`); its `webhook_ok` feeds the home page.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import socket
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from configurator import audit
from configurator.choices import AuditOperation
from configurator.http import non_public_address
from configurator.outbound import call_deadline
from messaging import selectors, services
from messaging.choices import ApiAuthMethod, AuthenticationDirection, DoctorStatus, VerifiedWith
from messaging.models import Callback, DoctorRun, MessagingService, ServiceAuthentication
from messaging.sinch.client import AccessKey, SinchError, access_token_check
from messaging.sinch.management import (
    MAX_WEBHOOKS_PER_APP,
    TARGET_TYPE_HTTP,
    ConversationApi,
    SinchWebhook,
)
from queues.selectors import app_channels

logger = logging.getLogger(__name__)

# The whole run's time with Sinch (every call, token fetches included), below a web server's
# request timeout: a slow Sinch makes the remaining checks errors, not the request a 502.
DOCTOR_SECONDS = 25.0
DASHBOARD_WEBHOOKS = "Sinch's dashboard (Conversation API > Apps > the app > Webhooks)"
# Host names that never reach a public network.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".test")


@dataclass
class Check:
    """One finding: `code` is the kind (stable, for programs), `name` and `detail` for people."""

    code: str
    name: str
    status: str
    detail: str
    app_id: str = ""
    # The Sinch channels an app has credentials for (channel_credentials checks): the home
    # page's checklist asks for a queue on each.
    channels: list[str] | None = None

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"code": self.code, "name": self.name, "status": self.status}
        shown["detail"] = self.detail
        if self.app_id:
            shown["app_id"] = self.app_id
        if self.channels is not None:
            shown["channels"] = self.channels
        return shown


@dataclass
class Examination:
    """What a run found and changed, before it is stored."""

    checks: list[Check] = field(default_factory=list)
    fixed: list[dict[str, str]] = field(default_factory=list)
    # Per app: its webhook points here (True), does not (False), could not be asked (None).
    webhooks: list[bool | None] = field(default_factory=list)

    @property
    def webhook_ok(self) -> bool | None:
        if False in self.webhooks:
            return False
        if not self.webhooks or None in self.webhooks:
            return None
        return True


def doctor_run(
    *,
    service: MessagingService,
    fix: bool,
    ran_by: str = "",
    request: HttpRequest | None = None,
) -> DoctorRun:
    """Examine the service against Sinch (fixing its webhooks with `fix`) and store the run.

    `request` gives the webhook URL's address when PUBLIC_BASE_URL is not set (and the doctor
    then says that Sinch cannot use it).
    """
    found = _Doctor(service, fix=fix, request=request).examine()
    run = DoctorRun.objects.create(
        service=service,
        ran_by=ran_by,
        fix=fix,
        checks=[c.as_json() for c in found.checks],
        fixed=found.fixed,
        webhook_ok=found.webhook_ok,
    )
    counts = outcome_counts(run.checks)
    if fix:
        audit.record(
            operation=AuditOperation.DOCTOR_FIX,
            instance=service,
            detail={"doctor_run": run.pk, "fixed": list(found.fixed), **dict(counts)},
        )
    logger.info(
        "Setup doctor on messaging service %r%s: %d ok, %d problem(s), %d error(s), %d fixed",
        service.name,
        " with fix" if fix else "",
        counts[DoctorStatus.OK],
        counts[DoctorStatus.PROBLEM],
        counts[DoctorStatus.ERROR],
        len(found.fixed),
    )
    return run


def outcome_counts(checks: Iterable[dict[str, Any]]) -> Counter[str]:
    """How many stored checks ended in each status."""
    return Counter(str(c.get("status")) for c in checks)


# Host names made of numbers (decimal, octal, hex) and dots only: IPv4 in a short or odd form.
_IPV4_SHORTHAND = re.compile(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}")


def webhook_url_problem(url: str) -> str | None:
    """Why Sinch cannot call this webhook URL (it needs public HTTPS); None when it can.

    Names are not resolved (the doctor must answer without DNS): an IP address is checked with
    the outbound rule (`non_public_address`), a name only for being a local one.
    """
    if not settings.PUBLIC_BASE_URL:
        return f"PUBLIC_BASE_URL is not set, so it is the address this was opened at ({url})"
    if any(character.isspace() for character in url):
        return f"{url!r} holds a space or a line break: check PUBLIC_BASE_URL"
    parts = urlsplit(url)
    if parts.scheme != "https":
        return f"{url} is not HTTPS"
    if parts.username is not None or parts.password is not None:
        return f"{url} holds a user name or password: PUBLIC_BASE_URL is only scheme and host"
    if parts.query or parts.fragment:
        return f"{url} holds a query or fragment: PUBLIC_BASE_URL is only scheme and host"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return f"{url} has no valid port"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return f"{url} has no host"
    if _IPV4_SHORTHAND.fullmatch(host):
        # "127.1", "0x7f.1": what the network stack reads as an IPv4 address.
        try:
            host = socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return f"{host} is not a valid address"
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        if host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
            return f"{host} is a local host name"
        return None
    return non_public_address(host)


class _Doctor:
    """One run: the checks in order, each appended as it is decided."""

    def __init__(self, service: MessagingService, *, fix: bool, request: HttpRequest | None):
        self.service = service
        self.fix = fix
        self.url = selectors.webhook_url(service.pk, request)
        self.url_problem = webhook_url_problem(self.url)
        self.found = Examination()
        entries = list(service.authentications.all())
        self.inbound = next(
            (e for e in entries if e.direction == AuthenticationDirection.INBOUND), None
        )
        self.outbound = [e for e in entries if e.direction == AuthenticationDirection.OUTBOUND]
        # Why Sinch is no longer asked in this run (it could not be reached), once it is so.
        self.unreachable: str | None = None
        # Why the fix may not touch Sinch's webhooks, and what to do first, if it may not.
        self.fix_refusal: str | None = None

    def examine(self) -> Examination:
        self._check_setup()
        self._check_webhook_url()
        self._check_fix_allowed()
        with call_deadline(DOCTOR_SECONDS):
            refused_keys = self._check_access_keys()
            for entry in self.outbound:
                self._check_app(entry, refused_keys.get(entry.key_id))
        self._check_last_callback()
        return self.found

    def _add(
        self,
        code: str,
        name: str,
        status: str,
        detail: str,
        app_id: str = "",
        channels: list[str] | None = None,
    ) -> Check:
        check = Check(code, name, status, detail, app_id=app_id, channels=channels)
        self.found.checks.append(check)
        return check

    # -- the service itself (no network)

    def _check_setup(self) -> None:
        if not self.outbound:
            self._add(
                "outbound_entries",
                "Outbound entries",
                DoctorStatus.PROBLEM,
                "The service has no outbound entry, so no app to check: add one KEYID@APPID entry "
                "per Sinch app in the service's Authentication block (Key ID from Sinch's "
                "Settings > Access keys, app ID from Conversation API > Apps).",
            )
        if self.inbound is None or self.inbound.secret is None:
            self._add(
                "inbound_entry",
                "Inbound (webhook) entry",
                DoctorStatus.PROBLEM,
                "The service has no inbound entry with the webhook secret: add the entry "
                "`webhook` with a secret and the triggers MESSAGE_INBOUND and MESSAGE_DELIVERY.",
            )
            self.fix_refusal = (
                "the service has no webhook secret to give Sinch. Add the inbound entry first"
            )

    def _check_webhook_url(self) -> None:
        problem = self.url_problem
        if problem is None:
            self._add(
                "webhook_url",
                "Webhook URL",
                DoctorStatus.OK,
                f"The webhook URL {self.url} is a public HTTPS address (PUBLIC_BASE_URL).",
            )
            return
        self._add(
            "webhook_url",
            "Webhook URL",
            DoctorStatus.PROBLEM,
            f"Sinch only calls public HTTPS addresses, and {problem}. Set PUBLIC_BASE_URL to "
            "the https:// address Sinch reaches this server at (your TLS proxy or tunnel) and "
            "restart the server; see docs/deployment.md.",
        )
        self.fix_refusal = (
            "the webhook URL is not public HTTPS, and Sinch would refuse it. Set "
            "PUBLIC_BASE_URL first"
        )

    def _check_fix_allowed(self) -> None:
        """A fix that may not touch Sinch says so once, with what to do first."""
        if self.fix and self.fix_refusal is not None:
            self._add(
                "fix",
                "Fix the webhook",
                DoctorStatus.PROBLEM,
                f"Nothing was changed in Sinch: {self.fix_refusal}, then fix the webhook again.",
            )

    # -- Sinch

    def _check_access_keys(self) -> dict[str, str]:
        """Each key gets a token (OAuth2 services); the keys Sinch refused, with why."""
        refused: dict[str, str] = {}
        if self.service.auth_method == ApiAuthMethod.BASIC:
            return refused
        seen: set[str] = set()
        for entry in self.outbound:
            if entry.key_id in seen or entry.secret is None:
                continue
            seen.add(entry.key_id)
            name = f"Access key {entry.key_id}"
            if self.unreachable is not None:
                refused[entry.key_id] = self.unreachable
                self._add("access_key", name, DoctorStatus.ERROR, self._not_asked())
                continue
            try:
                fresh = access_token_check(AccessKey(entry.key_id, entry.secret.reveal()))
            except SinchError as exc:
                refused[entry.key_id] = str(exc)
                self._add("access_key", name, DoctorStatus.ERROR, self._refusal(exc, entry))
                continue
            self._add(
                "access_key",
                name,
                DoctorStatus.OK,
                f"Sinch issued an OAuth2 access token for key {entry.key_id}."
                if fresh
                else f"Key {entry.key_id} holds an access token Sinch issued within the hour.",
            )
        return refused

    def _check_app(self, entry: ServiceAuthentication, key_refused: str | None) -> None:
        app_id = entry.app_id
        name = f"App {app_id}"
        if key_refused is not None or entry.secret is None or self.unreachable is not None:
            detail = (
                self._not_asked()
                if self.unreachable is not None
                else f"Not checked: Sinch issued no access token for key {entry.key_id} (above)."
            )
            self._add("app", name, DoctorStatus.ERROR, detail, app_id)
            self.found.webhooks.append(None)
            return
        api = ConversationApi(
            self.service, AccessKey(entry.key_id, entry.secret.reveal()), hidden=self._secrets()
        )
        try:
            app = api.app(app_id)
        except SinchError as exc:
            self._add("app", name, DoctorStatus.ERROR, self._refusal(exc, entry), app_id)
            self.found.webhooks.append(None)
            return
        shown = f"App {app_id}" + (f" ({app.display_name})" if app.display_name else "")
        self._add(
            "app",
            name,
            DoctorStatus.OK,
            f"{shown} exists in project {self.service.project_id}.",
            app_id,
        )
        self._check_processing_mode(app_id, app.processing_mode)
        self._check_channels(app_id, app.channels)
        self._check_webhook(api, entry)

    def _check_processing_mode(self, app_id: str, mode: str) -> None:
        name = f"Processing mode of app {app_id}"
        if mode == "DISPATCH":
            self._add(
                "processing_mode",
                name,
                DoctorStatus.OK,
                f"App {app_id} is in Dispatch mode.",
                app_id,
            )
            return
        said = (
            f"App {app_id} is in {mode.capitalize()} mode"
            if mode
            else f"Sinch did not say the processing mode of app {app_id}"
        )
        self._add(
            "processing_mode",
            name,
            DoctorStatus.PROBLEM,
            f"{said}: in Sinch's dashboard (Conversation API > Apps > the app), set its "
            "processing mode to Dispatch, as a contact center's apps are set up: this server "
            "keeps the contacts and conversations, Sinch need not.",
            app_id,
        )

    def _check_channels(self, app_id: str, channels: frozenset[str]) -> None:
        name = f"Channels of app {app_id}"
        needed = app_channels([app_id]).get(app_id, {})
        has = ", ".join(sorted(channels)) or "none"
        if not needed:
            self._add(
                "channel_credentials",
                name,
                DoctorStatus.OK,
                f"No queue is addressed to app {app_id} yet (its channels with credentials in "
                f"Sinch: {has}). Add a chat queue with the address {app_id}@<subchannel>.",
                app_id,
                sorted(channels),
            )
            return
        missing = {c: q for c, q in sorted(needed.items()) if c not in channels}
        if not missing:
            listed = "; ".join(f"{c} ({', '.join(q)})" for c, q in sorted(needed.items()))
            self._add(
                "channel_credentials",
                name,
                DoctorStatus.OK,
                f"App {app_id} has credentials for every channel its queues are addressed to: "
                f"{listed}.",
                app_id,
                sorted(channels),
            )
            return
        listed = "; ".join(f"{c} (queue {', '.join(q)})" for c, q in missing.items())
        self._add(
            "channel_credentials",
            name,
            DoctorStatus.PROBLEM,
            f"App {app_id} has no channel credentials for {listed}, so customers on "
            f"{'that channel' if len(missing) == 1 else 'those channels'} cannot reach it: in "
            "Sinch's dashboard (Conversation API > Apps > the app), set up the channel, or "
            f"remove the address from the queue. Channels it has: {has}.",
            app_id,
            sorted(channels),
        )

    def _check_webhook(self, api: ConversationApi, entry: ServiceAuthentication) -> None:
        app_id = entry.app_id
        name = f"Webhook of app {app_id}"
        try:
            hooks = api.webhooks(app_id)
        except SinchError as exc:
            self._add("webhook", name, DoctorStatus.ERROR, self._refusal(exc, entry), app_id)
            self.found.webhooks.append(None)
            return
        mine = [h for h in hooks if _same_target(h.target, self.url)]
        judged = sorted(((self._webhook_faults(h, app_id), h) for h in mine), key=_fewest)
        if judged and not judged[0][0]:
            hook = judged[0][1]
            extra = f" {len(mine) - 1} more target it too: delete them." if len(mine) > 1 else ""
            self._add(
                "webhook",
                name,
                DoctorStatus.OK,
                f"Webhook {hook.id} of app {app_id} targets {self.url} with the service's "
                f"triggers; {self._secret_note(hook, app_id)}.{extra}",
                app_id,
            )
            self.found.webhooks.append(True)
            return
        if not judged and len(hooks) >= MAX_WEBHOOKS_PER_APP:
            self._add(
                "webhook",
                name,
                DoctorStatus.PROBLEM,
                f"App {app_id} has no webhook targeting {self.url}{_elsewhere(hooks, self.url)}, "
                f"and it has {len(hooks)} webhooks, Sinch's limit: delete one it no longer needs "
                f"in {DASHBOARD_WEBHOOKS}, then fix the webhook here.",
                app_id,
            )
            self.found.webhooks.append(False)
            return
        found = (
            f"Webhook {judged[0][1].id} of app {app_id} targets {self.url}, but "
            f"{'; '.join(judged[0][0])}."
            if judged
            else f"App {app_id} has no webhook targeting {self.url}{_elsewhere(hooks, self.url)}."
        )
        first = "Once PUBLIC_BASE_URL is set, fix" if self.url_problem else "Fix"
        check = self._add(
            "webhook",
            name,
            DoctorStatus.PROBLEM,
            f"{found} {first} the webhook here, or set it in {DASHBOARD_WEBHOOKS}: target "
            f"{self.url}, triggers {', '.join(self._triggers()) or '(none)'}, and the webhook "
            "secret of the inbound entry.",
            app_id,
        )
        # The secret Sinch must be given: the current one (after a rotation, the new one).
        secret = (
            services.webhook_secret_to_push(service=self.service)
            if self.fix and self.fix_refusal is None
            else None
        )
        if secret is None:
            self.found.webhooks.append(False)
            return
        self._fix_webhook(api, check, app_id, judged[0][1] if judged else None, secret)

    def _fix_webhook(
        self,
        api: ConversationApi,
        check: Check,
        app_id: str,
        hook: SinchWebhook | None,
        secret: str,
    ) -> None:
        """Create or update the app's webhook; the check then says what was done."""
        triggers = self._triggers()
        try:
            if hook is None:
                made = api.webhook_create(
                    app_id=app_id, target=self.url, triggers=triggers, secret=secret
                )
                action = "created"
                what = (
                    f"created webhook {made.id or '(no ID)'} of app {app_id}: target "
                    f"{self.url}, triggers {', '.join(triggers)}, the webhook secret set"
                )
            else:
                made = api.webhook_update(
                    webhook_id=hook.id,
                    app_id=app_id,
                    target=self.url,
                    triggers=triggers,
                    secret=secret,
                )
                action = "updated"
                changes = "; ".join(self._changes(hook, triggers, secret))
                what = f"updated webhook {hook.id} of app {app_id}: {changes}"
        except SinchError as exc:
            check.status = DoctorStatus.ERROR
            check.detail += f" The fix failed: {_sentence(exc)}{_advice(exc)}"
            self.found.webhooks.append(False)
            return
        check.status = DoctorStatus.OK
        check.detail = f"Fixed: {what}."
        self.found.fixed.append(
            {
                "code": f"webhook_{action}",
                "app_id": app_id,
                "webhook_id": made.id or (hook.id if hook else ""),
                "detail": what[:1].upper() + what[1:] + ".",
            }
        )
        self.found.webhooks.append(True)

    def _changes(self, hook: SinchWebhook, triggers: list[str], secret: str) -> list[str]:
        """What an update changes, in words (the secret only as "replaced")."""
        changes = []
        if hook.target != self.url:
            changes.append(f"target {hook.target} → {self.url}")
        if hook.target_type != TARGET_TYPE_HTTP:
            changes.append(f"target type {hook.target_type or '(none)'} → {TARGET_TYPE_HTTP}")
        added = [t for t in triggers if t not in hook.triggers]
        removed = [t for t in hook.triggers if t not in triggers]
        if added:
            changes.append(f"triggers added: {', '.join(added)}")
        if removed:
            changes.append(
                f"triggers removed (this service does not take them): {', '.join(removed)}"
            )
        if hook.secret is not None and hmac.compare_digest(hook.secret, secret):
            changes.append("secret unchanged")
        else:
            changes.append("secret replaced")
        return changes

    def _webhook_faults(self, hook: SinchWebhook, app_id: str) -> list[str]:
        """What is wrong with a webhook that targets this service (nothing: it is right)."""
        faults = []
        if hook.target_type != TARGET_TYPE_HTTP:
            faults.append(
                f"its target type is {hook.target_type or 'not set'}, so Sinch sends nothing "
                f"(it must be {TARGET_TYPE_HTTP})"
            )
        missing = [t for t in self._triggers() if t not in hook.triggers]
        if missing:
            faults.append(f"its triggers lack {', '.join(missing)}")
        secret_fault = self._secret_fault(hook, app_id)
        if secret_fault:
            faults.append(secret_fault)
        return faults

    def _secret_fault(self, hook: SinchWebhook, app_id: str) -> str | None:
        """Why Sinch signs with another secret than the stored one, as far as can be told."""
        if self.inbound is None or self.inbound.secret is None:
            return "this service has no webhook secret to compare it with (no inbound entry)"
        current = self.inbound.secret.reveal()
        until = self.inbound.previous_secret_until
        previous = self.inbound.previous_secret
        if hook.secret is not None and _shown(hook.secret):
            if hmac.compare_digest(hook.secret, current):
                return None
            if (
                until is not None
                and previous is not None
                and hmac.compare_digest(hook.secret, previous.reveal())
            ):
                return (
                    "its secret is the one before the last rotation, which stops verifying at "
                    f"{_when(until)}: fix the webhook to give Sinch the new one before then"
                )
            return (
                "its secret differs from the inbound entry's, so its callbacks are refused "
                "(401): fix the webhook to set the stored secret"
            )
        if until is None:
            return None
        last = self._last_callback(app_id)
        if last is not None and last[1] == VerifiedWith.CURRENT:
            return None
        signed = (
            f" (the last callback from this app, at {_when(last[0])}, was signed "
            "with the previous secret)"
            if last is not None
            else ""
        )
        return (
            "Sinch does not show its secret, and the last rotation's overlap runs until "
            f"{_when(until)}{signed}: fix the webhook to give Sinch the new secret before then"
        )

    def _secret_note(self, hook: SinchWebhook, app_id: str) -> str:
        """How the secret was judged right, for an `ok` webhook."""
        if _shown(hook.secret):
            return "its secret is the stored one"
        last = self._last_callback(app_id)
        if last is not None and last[1] == VerifiedWith.CURRENT:
            return (
                "Sinch does not show its secret, but the last callback from this app (at "
                f"{_when(last[0])}) verified with the current one"
            )
        return (
            "Sinch does not show its secret, so it was not compared: if callbacks are refused "
            "(401), fix the webhook to set it again"
        )

    def _check_last_callback(self) -> None:
        last = (
            Callback.objects.filter(service=self.service, simulated=False)
            .order_by("-received_at")
            .values("received_at", "app_id", "trigger")
            .first()
        )
        if last is None:
            self._add(
                "last_callback",
                "Last callback",
                DoctorStatus.PROBLEM,
                "No callback from Sinch has arrived yet (simulated messages do not count): once "
                "the webhooks point here, send a message to one of the apps' channels and run "
                "the doctor again.",
            )
            return
        app = f" from app {last['app_id']}" if last["app_id"] else ""
        self._add(
            "last_callback",
            "Last callback",
            DoctorStatus.OK,
            f"The last callback from Sinch arrived at {_when(last['received_at'])}{app} "
            f"({last['trigger'] or 'unknown trigger'}).",
            last["app_id"] or "",
        )

    def _last_callback(self, app_id: str) -> tuple[datetime, str] | None:
        """The newest callback from Sinch (not simulated) of an app since the service last changed
        (a rotation or a new secret), with the secret that verified it: one from before would
        tell of a secret no longer stored."""
        return (
            Callback.objects.filter(
                service=self.service,
                app_id=app_id,
                simulated=False,
                received_at__gte=self.service.updated_at,
            )
            .order_by("-received_at")
            .values_list("received_at", "verified_with")
            .first()
        )

    def _secrets(self) -> list[str]:
        """The service's webhook secrets, masked should Sinch ever echo one in an error."""
        if self.inbound is None:
            return []
        stored = [self.inbound.secret, self.inbound.previous_secret]
        return [s.reveal() for s in stored if s is not None]

    # -- wording

    def _triggers(self) -> list[str]:
        if self.inbound is None:
            return []
        return sorted(str(t) for t in self.inbound.triggers)

    def _not_asked(self) -> str:
        return f"Not asked: Sinch could not be reached earlier in this run ({self.unreachable})."

    def _refusal(self, exc: SinchError, entry: ServiceAuthentication) -> str:
        """Sinch's words and what to do about them; an unreachable Sinch is not asked again."""
        if exc.status is None:
            self.unreachable = str(exc)
        return f"{_sentence(exc)}{_advice(exc, entry, self.service)}"


def _advice(
    exc: SinchError,
    entry: ServiceAuthentication | None = None,
    service: MessagingService | None = None,
) -> str:
    """What an administrator does about an answer Sinch refused."""
    key = f"the access key {entry.key_id}" if entry is not None else "the access key"
    project = f"project {service.project_id}" if service is not None else "the project"
    status = exc.status
    if status is None:
        return (
            " Check that this server can reach Sinch (its outbound internet access, a proxy, "
            "SINCH_API_ORIGIN), then run the doctor again."
        )
    if status in (400, 401, 403):
        return (
            f" Check {key} and its secret in the outbound entry (Sinch's Settings > Access keys): "
            f"the key must belong to {project}."
        )
    if status == 404:
        return (
            " Check the app ID of the outbound entry (KEYID@APPID, Conversation API > Apps) and "
            f"the project ID in the service connection: the app must be in {project}, region "
            f"{service.region if service is not None else ''}."
        )
    if status == 429:
        return " Sinch limits how often it is asked: run the doctor again in a minute."
    if status >= 500:
        return " Sinch had a problem of its own: run the doctor again later."
    return ""


def _sentence(exc: SinchError) -> str:
    """Sinch's words as a sentence (its messages often end without a full stop)."""
    text = str(exc).rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _same_target(target: str, url: str) -> bool:
    """Whether a webhook's target is this URL (scheme and host in any case, final slash or not)."""
    a, b = urlsplit(target.strip()), urlsplit(url)
    return (
        a.scheme.lower() == b.scheme.lower()
        and a.netloc.lower() == b.netloc.lower()
        and a.path.rstrip("/") == b.path.rstrip("/")
        and a.query == b.query
    )


def _elsewhere(hooks: Sequence[SinchWebhook], url: str) -> str:
    """A note on webhooks that target this service's path at another address (an old one)."""
    path = urlsplit(url).path.rstrip("/")
    others = [h.target for h in hooks if path and urlsplit(h.target).path.rstrip("/") == path]
    if not others:
        return ""
    return (
        f" (webhook target {', '.join(others)} has this service's path at another address: "
        "if that was this server's old address, delete it in Sinch's dashboard)"
    )


def _fewest(verdict: tuple[list[str], SinchWebhook]) -> int:
    return len(verdict[0])


def _shown(secret: str | None) -> bool:
    """Whether Sinch showed a webhook's secret (not absent, not masked with stars)."""
    return bool(secret) and bool(set(secret or "") - set("*•·"))


def _when(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")
