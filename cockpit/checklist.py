"""The setup checklist of the home page: seed 001's steps, each ticked from the data.

The order is the order of the documented setup: a messaging service with its keys and webhook
entry, Sinch's webhook pointing here (what the setup doctor found when it last asked Sinch), a
queue for each app, an agent, the first callback, an integration. Each step is one small
function in `STEPS` answering whether it is done and, if not, what is missing in the
administrator's words with a link to where it is done; a step is shown only to users who may
view the model it is about. Each reads a few rows through indexes (existence tests, counts over
the services and their apps, which an administrator creates by hand).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, JSONField, OuterRef, Q, QuerySet, Subquery, Window
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from conversations.models import Agent
from integrations.models import Integration
from messaging.choices import AuthenticationDirection
from messaging.models import Callback, DoctorRun, MessagingService, ServiceAuthentication
from queues import selectors as queue_selectors
from queues.choices import SUBCHANNEL_BY_SINCH_CHANNEL
from queues.models import QueueAddress

# Services or apps named in a step that is not done; the rest are counted.
NAMED_UP_TO = 3


@dataclass(frozen=True)
class Link:
    """Where something is done: a page of the admin and what the link says."""

    url: str
    label: str


@dataclass(frozen=True)
class Missing:
    """One thing a step still lacks, said to the administrator, with where to fix it."""

    text: str
    link: Link | None = None


@dataclass
class Step:
    """One step of the checklist, as the page shows it (`key` names it for tests and the page)."""

    key: str
    title: str
    done: bool
    summary: str = ""
    missing: list[Missing] = field(default_factory=list)
    link: Link | None = None
    optional: bool = False


def _admin_url(name: str, *args: Any, query: dict[str, str] | None = None) -> str:
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


def _can(user: Any, action: str, app_label: str, model: str) -> bool:
    return bool(user.has_perm(f"{app_label}.{action}_{model}"))


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _service_link(user: Any, service_id: int, label: str) -> Link | None:
    if not _can(user, "view", "messaging", "messagingservice"):
        return None
    return Link(_admin_url("messaging_messagingservice_change", service_id), label)


def _outbound() -> Q:
    return Q(direction=AuthenticationDirection.OUTBOUND)


# Messaging services read for the checklist: they are made by hand (a hundred is a large
# contact center); the steps' counts cover these.
SERVICES_READ = 1000


@dataclass(frozen=True)
class ServiceState:
    """A messaging service as the first two steps see it."""

    pk: int
    name: str
    has_outbound: bool
    has_inbound: bool
    # What the setup doctor's last run found of Sinch's webhooks (None: never run, or Sinch
    # could not be asked; see `last_run_at`).
    last_run_at: datetime | None
    webhook_ok: bool | None
    # The doctor's last checks: those of channel credentials name each app's Sinch channels.
    last_checks: list[dict[str, Any]] | None = None

    def app_channels(self) -> dict[str, list[str]]:
        """The Sinch channels each app had credentials for when the doctor last asked."""
        return {
            str(check["app_id"]): [str(channel) for channel in check["channels"]]
            for check in self.last_checks or []
            if isinstance(check, dict)
            and check.get("code") == "channel_credentials"
            and isinstance(check.get("channels"), list)
            and check.get("app_id")
        }

    @property
    def ready(self) -> bool:
        """Outbound keys to reply with, and the webhook entry to verify callbacks."""
        return self.has_outbound and self.has_inbound


def service_states() -> list[ServiceState]:
    """Every messaging service (up to SERVICES_READ) with its entries and the doctor's last
    finding, in one query (the subqueries run per service, on the services' own indexes)."""
    entries = ServiceAuthentication.objects.filter(service=OuterRef("pk"))
    last_run = DoctorRun.objects.filter(service=OuterRef("pk")).order_by("-ran_at", "-id")
    rows = (
        MessagingService.objects.annotate(
            has_outbound=Exists(entries.filter(_outbound())),
            has_inbound=Exists(entries.filter(direction=AuthenticationDirection.INBOUND)),
            last_run_at=Subquery(last_run.values("ran_at")[:1]),
            webhook_ok=Subquery(last_run.values("webhook_ok")[:1]),
            last_checks=Subquery(last_run.values("checks")[:1], output_field=JSONField()),
        )
        .order_by("name")
        .values_list(
            "pk", "name", "has_outbound", "has_inbound", "last_run_at", "webhook_ok", "last_checks"
        )
    )
    return [ServiceState(*row) for row in rows[:SERVICES_READ]]


def tables_have_rows(tables: dict[str, QuerySet[Any]]) -> dict[str, bool]:
    """Whether each queryset has a row, in one round trip (`SELECT EXISTS (...), ...`): the
    existence steps are each one index probe, and a page pays per query it sends."""
    if not tables:
        return {}
    parts: list[str] = []
    params: list[Any] = []
    for rows in tables.values():
        sql, row_params = rows.order_by().values("pk")[:1].query.sql_with_params()
        parts.append(f"EXISTS ({sql})")
        params.extend(row_params)
    with connection.cursor() as cursor:
        # Only the ORM's own compiled SQL is joined in; its parameters stay parameters.
        cursor.execute("SELECT " + ", ".join(parts), params)
        found = cursor.fetchone()
    return {name: bool(value) for name, value in zip(tables, found or (), strict=True)}


class Facts:
    """What the steps read, read once for the page (and only what a visible step asks)."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def services(self) -> list[ServiceState]:
        return service_states()

    @cached_property
    def exists(self) -> dict[str, bool]:
        """Whether there is an agent, a callback, an integration: those the user may view."""
        tables: dict[str, QuerySet[Any]] = {
            "agent": Agent.objects.all(),
            "callback": Callback.objects.all(),
            "integration": Integration.objects.all(),
        }
        models = {"agent": "conversations.view_agent", "callback": "messaging.view_callback"}
        models["integration"] = "integrations.view_integration"
        return tables_have_rows(
            {key: rows for key, rows in tables.items() if self.user.has_perm(models[key])}
        )


def step_service(user: Any, facts: Facts) -> Step:
    """A messaging service with its outbound key(s) and the inbound (webhook) entry."""
    services = facts.services
    ready = [service for service in services if service.ready]
    step = Step(
        key="service",
        title=_("Add a messaging service with its keys and webhook entry"),
        done=bool(ready),
    )
    if _can(user, "add", "messaging", "messagingservice"):
        step.link = Link(_admin_url("messaging_messagingservice_add"), _("Add a messaging service"))
    if step.done:
        step.summary = ngettext(
            "%(count)d messaging service is ready.",
            "%(count)d messaging services are ready.",
            len(ready),
        ) % {"count": len(ready)}
        return step
    if not services:
        step.missing.append(
            Missing(
                _(
                    "No messaging service yet. Add one with the service connection of your Sinch "
                    "project, an outbound entry KEYID@APPID with the access key's secret for "
                    "each app, and the inbound entry “webhook” with the webhook's secret."
                ),
                step.link,
            )
        )
        return step
    for service in services[:NAMED_UP_TO]:
        text = (
            _("“%(name)s” has no outbound entry (KEYID@APPID): it cannot send replies.")
            if not service.has_outbound
            else _("“%(name)s” has no inbound entry “webhook”: callbacks cannot be verified.")
        ) % {"name": service.name}
        step.missing.append(Missing(text, _service_link(user, service.pk, _("Complete it"))))
    return step


def _doctor_link(user: Any, service_id: int) -> Link | None:
    """The setup doctor's page of the service, which runs it and fixes the webhook."""
    if not _can(user, "view", "messaging", "messagingservice"):
        return None
    return Link(
        _admin_url("messaging_messagingservice_doctor", service_id), _("Run the setup doctor")
    )


def step_webhook(user: Any, facts: Facts) -> Step:
    """Every ready service's apps have their webhook here, as the doctor last found."""
    ready = [service for service in facts.services if service.ready]
    # Never checked (no run) or not found right (False, or None: Sinch not asked).
    unconfirmed = [service for service in ready if service.webhook_ok is not True]
    step = Step(
        key="webhook",
        title=_("Point Sinch's webhook here"),
        done=bool(ready) and not unconfirmed,
    )
    if step.done:
        step.summary = ngettext(
            "The setup doctor found the webhook pointing here for %(count)d messaging service.",
            "The setup doctor found the webhooks pointing here for all %(count)d messaging "
            "services.",
            len(ready),
        ) % {"count": len(ready)}
        return step
    if not ready:
        step.missing.append(Missing(_("Add a messaging service first (the step above).")))
        return step
    for service in unconfirmed[:NAMED_UP_TO]:
        name, ran_at = service.name, service.last_run_at
        if ran_at is None:
            text = _(
                "“%(name)s”: not checked yet. The setup doctor asks Sinch where each app's "
                "webhook points, and can set it to this service's URL, triggers and secret."
            ) % {"name": name}
        elif service.webhook_ok is None:
            text = _(
                "“%(name)s”: the setup doctor could not ask Sinch on %(when)s; see its report "
                "and run it again."
            ) % {"name": name, "when": _when(ran_at)}
        else:
            text = _(
                "“%(name)s”: on %(when)s the setup doctor found an app whose webhook does not "
                "point here, or lacks a trigger or the secret; run it with Fix."
            ) % {"name": name, "when": _when(ran_at)}
        step.missing.append(Missing(text, _doctor_link(user, service.pk)))
    more = len(unconfirmed) - NAMED_UP_TO
    if more > 0:
        step.missing.append(
            Missing(
                ngettext(
                    "and %(count)d more messaging service.",
                    "and %(count)d more messaging services.",
                    more,
                )
                % {"count": more}
            )
        )
    return step


def step_queues(user: Any, facts: Facts) -> Step:
    """Every app of a messaging service is the app of at least one queue address."""
    apps = ServiceAuthentication.objects.filter(_outbound()).annotate(
        has_queue=Exists(QueueAddress.objects.filter(app_id=OuterRef("app_id")))
    )
    # One read: the apps without a queue first, each row carrying the totals over all apps
    # (window counts), so the first rows name the missing apps and say how many there are.
    first = list(
        apps.annotate(
            total=Window(Count("*")), without=Window(Count("pk", filter=Q(has_queue=False)))
        )
        .order_by("has_queue", "app_id")
        .values_list("app_id", "service__name", "has_queue", "total", "without")[:NAMED_UP_TO]
    )
    figures = (
        {"total": first[0][3], "without": first[0][4]} if first else {"total": 0, "without": 0}
    )
    without_queue = [(app_id, service) for app_id, service, has_queue, *_ in first if not has_queue]
    gaps = channel_gaps(facts.services)
    step = Step(
        key="queues",
        title=_("Add a queue for each app's channels"),
        done=figures["total"] > 0 and figures["without"] == 0 and not gaps,
    )
    can_add = _can(user, "add", "queues", "queue")
    if can_add:
        step.link = Link(
            _admin_url("queues_queue_add", query={"channel_type": "chat"}), _("Add a queue")
        )
    if step.done:
        step.summary = ngettext(
            "The app has a queue.", "All %(count)d apps have a queue.", figures["total"]
        ) % {"count": figures["total"]}
        return step
    if not figures["total"]:
        step.missing.append(
            Missing(_("Add a messaging service first: queues are addressed to its apps."))
        )
        return step
    for app_id, service in without_queue:
        link = None
        if can_add:
            # The app ID typed as Sinch writes it; the administrator adds the subchannel.
            link = Link(
                _admin_url(
                    "queues_queue_add", query={"channel_type": "chat", "addresses": f"{app_id}@"}
                ),
                _("Add its queue"),
            )
        step.missing.append(
            Missing(
                _(
                    "App %(app)s of “%(service)s” has no queue: its customers' messages reach "
                    "no one. Add a chat queue with the address %(app)s@<subchannel> for each "
                    "channel the app uses (whatsapp, telegram, sms ...)."
                )
                % {"app": app_id, "service": service},
                link,
            )
        )
    more = figures["without"] - len(without_queue)
    for app_id, channel in gaps[:NAMED_UP_TO]:
        subchannel = SUBCHANNEL_BY_SINCH_CHANNEL.get(channel)
        address = f"{app_id}@{subchannel.name}" if subchannel else f"{app_id}@"
        step.missing.append(
            Missing(
                _(
                    "App %(app)s has %(channel)s set up in Sinch (as the setup doctor found) but "
                    "no queue receives it: add a chat queue with the address %(address)s."
                )
                % {"app": app_id, "channel": channel, "address": address},
                Link(
                    _admin_url(
                        "queues_queue_add", query={"channel_type": "chat", "addresses": address}
                    ),
                    _("Add its queue"),
                )
                if can_add
                else None,
            )
        )
    if more > 0:
        step.missing.append(
            Missing(
                ngettext(
                    "and %(count)d more app without a queue.",
                    "and %(count)d more apps without a queue.",
                    more,
                )
                % {"count": more}
            )
        )
    return step


def channel_gaps(services: list[ServiceState]) -> list[tuple[str, str]]:
    """(app ID, Sinch channel) that an app has credentials for, as the doctor last found, but
    that no queue address receives. One query whatever the services (an app list of none asks
    for the app "")."""
    found = {
        app: channels for service in services for app, channels in service.app_channels().items()
    }
    addressed = queue_selectors.app_channels(list(found) or [""])
    return [
        (app, channel)
        for app, channels in sorted(found.items())
        for channel in channels
        # A channel no subchannel receives (none a queue could be addressed to) is no gap.
        if channel in SUBCHANNEL_BY_SINCH_CHANNEL and channel not in addressed.get(app, {})
    ]


def step_agent(user: Any, facts: Facts) -> Step:
    """At least one agent."""
    step = Step(key="agent", title=_("Add an agent"), done=facts.exists["agent"])
    if _can(user, "add", "conversations", "agent"):
        step.link = Link(_admin_url("conversations_agent_add"), _("Add an agent"))
    if step.done:
        step.summary = _("Agents are set up.")
    else:
        step.missing.append(
            Missing(
                _("No agent yet: add the people who answer, with the queues they serve."),
                step.link,
            )
        )
    return step


def step_callback(user: Any, facts: Facts) -> Step:
    """At least one callback received from Sinch (or the simulator)."""
    step = Step(key="callback", title=_("Receive a first message"), done=facts.exists["callback"])
    step.link = Link(_admin_url("messaging_callback_changelist"), _("See the callbacks received"))
    if step.done:
        step.summary = _("Callbacks are arriving.")
    else:
        step.missing.append(
            Missing(
                _(
                    "Nothing has arrived from Sinch yet. Send a message to one of your apps' "
                    "channels (or simulate one from the messaging service's page) and watch it "
                    "arrive here."
                ),
                step.link,
            )
        )
    return step


def step_integration(user: Any, facts: Facts) -> Step:
    """At least one event-driven integration (optional: many contact centers need none)."""
    step = Step(
        key="integration",
        title=_("Add an integration"),
        done=facts.exists["integration"],
        optional=True,
    )
    if _can(user, "add", "integrations", "integration"):
        step.link = Link(_admin_url("integrations_integration_add"), _("Add an integration"))
    if step.done:
        step.summary = _("Integrations are set up.")
    else:
        step.missing.append(
            Missing(
                _(
                    "Optional: call your CRM or bot when conversations arrive, are queued or "
                    "end, and let it choose the queue or attach data."
                ),
                step.link,
            )
        )
    return step


# (the model whose view permission shows the step, the step), in seed 001's order.
STEPS: list[tuple[tuple[str, str], Callable[[Any, Facts], Step]]] = [
    (("messaging", "messagingservice"), step_service),
    (("messaging", "messagingservice"), step_webhook),
    (("queues", "queue"), step_queues),
    (("conversations", "agent"), step_agent),
    (("messaging", "callback"), step_callback),
    (("integrations", "integration"), step_integration),
]


def setup_checklist(user: Any) -> list[Step]:
    """The steps `user` may see, each ticked from the data."""
    facts = Facts(user)
    return [step(user, facts) for (app, model), step in STEPS if _can(user, "view", app, model)]
