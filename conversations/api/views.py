"""REST endpoints of the conversations app: thin, they parse, call a service and present."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from configurator.api import drf_errors
from configurator.pagination import cursor_pagination
from configurator.parsers import KeysFilter, UtcDateTimeFilter
from configurator.permissions import ChangeOnPostPermissions
from conversations import messages, outbound, selectors, services
from conversations.api.serializers import (
    AgentSerializer,
    AllocateSerializer,
    ChatStartSerializer,
    ContactEventSerializer,
    ContactSerializer,
    EmptySerializer,
    ForwardSerializer,
    MessageSerializer,
    ReplySerializer,
    StartedChatSerializer,
    TransferSerializer,
)
from conversations.choices import ChannelType, Direction, Event
from conversations.gateways import WhatsAppTemplate
from conversations.lifecycle import LifecycleError
from conversations.models import Agent, Contact
from conversations.permissions import (
    CONTACT_PERSONAL_FIELDS,
    chat_start_check,
    personal_filters_check,
)
from queues.models import Queue


class AgentFilter(django_filters.FilterSet):
    """Filters of the agent list, named after the fields."""

    queues = KeysFilter(queryset=Queue.objects.all())

    class Meta:
        model = Agent
        fields = ["queues", "number", "email"]


class AgentViewSet(viewsets.ModelViewSet[Agent]):
    """Agents and the queues they serve."""

    serializer_class = AgentSerializer
    filterset_class = AgentFilter

    def get_queryset(self) -> QuerySet[Agent]:
        return selectors.agent_list()

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete an agent; 409 while they hold open conversations."""
        try:
            services.agent_delete(agent=self.get_object())
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactFilter(django_filters.FilterSet):
    """Filters of the contact list, named after the fields."""

    # A column of the row: no duplicates to remove, and a DISTINCT would sort every match.
    state = django_filters.MultipleChoiceFilter(choices=Event.choices, distinct=False)
    channel_type = django_filters.ChoiceFilter(choices=ChannelType.choices)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    open = django_filters.BooleanFilter(field_name="ended_at", lookup_expr="isnull")
    created_after = UtcDateTimeFilter(field_name="created", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created", lookup_expr="lt")

    class Meta:
        model = Contact
        fields = [
            "state",
            "queue",
            "agent",
            "channel_type",
            "channel_sub_type",
            "direction",
            "source",
            "sinch_contact_id",
            "sinch_conversation_id",
            "simulated",
        ]


class ContactViewSet(viewsets.ReadOnlyModelViewSet[Contact]):
    """Contacts (conversations), newest first, paged by cursor, with their lifecycle actions.

    An action that does not fit the contact's state answers 409 with a sentence saying why.
    """

    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    # conversations_contact_created and the (filter, created) indexes serve every filter's page.
    pagination_class = cursor_pagination("-created", "-id")
    permission_classes = [ChangeOnPostPermissions]

    def get_queryset(self) -> QuerySet[Contact]:
        personal_filters_check(
            user=self.request.user, query=self.request.query_params, names=CONTACT_PERSONAL_FIELDS
        )
        if self.action == "list":
            return selectors.contact_list().prefetch_related("required_agents")
        return selectors.contact_detail()

    @extend_schema(
        request=ChatStartSerializer,
        responses={201: StartedChatSerializer},
        description=(
            "An agent starts an outbound chat: the first message (text, media URL or, on "
            "WhatsApp, a template) is sent from the app's outbound key to the channel identity; "
            "the contact is opened only when Sinch accepted it (502 with Sinch's reason "
            "otherwise, nothing stored). Only `direction: outbound` is accepted. Needs the "
            "permission to change contacts and to view customers' personal data (403)."
        ),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Start an outbound chat with a customer (docs/outbound-chats.md)."""
        chat_start_check(user=request.user)
        body = ChatStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        template = data.get("template")
        try:
            contact = outbound.chat_start(
                agent=data["agent"],
                queue=data.get("queue"),
                app_id=data["app_id"],
                channel=data["channel"],
                identity=data["identity"],
                text=data.get("text", ""),
                media_url=data.get("media_url", ""),
                template=WhatsAppTemplate(**template) if template else None,
            )
        except outbound.ChatStartFailed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(drf_errors(exc)) from None
        fresh = selectors.contact_detail().get(pk=contact.pk)
        context = self.get_serializer_context()
        return Response(
            StartedChatSerializer(fresh, context=context).data, status=status.HTTP_201_CREATED
        )

    def _act(
        self, request: Request, body: type[serializers.Serializer[Any]], run: Callable[..., Contact]
    ) -> Response:
        contact = self.get_object()
        params = body(data=request.data)
        params.is_valid(raise_exception=True)
        user = request.user.get_username() if request.user else ""
        try:
            contact = run(contact=contact, by=user, **params.validated_data)
        except LifecycleError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(drf_errors(exc)) from None
        fresh = selectors.contact_detail().get(pk=contact.pk)
        return Response(ContactSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(request=AllocateSerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def allocate(self, request: Request, pk: str | None = None) -> Response:
        """Offer a waiting conversation to an agent: `{"agent": id}`."""
        return self._act(request, AllocateSerializer, services.OPERATOR_ACTIONS["allocate"][1])

    @extend_schema(request=EmptySerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        """The allocated agent accepts the conversation."""
        return self._act(request, EmptySerializer, services.OPERATOR_ACTIONS["accept"][1])

    @extend_schema(request=EmptySerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """The allocated agent declines; the conversation waits in its queue again."""
        return self._act(request, EmptySerializer, services.OPERATOR_ACTIONS["reject"][1])

    @extend_schema(request=TransferSerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, pk: str | None = None) -> Response:
        """Hand an accepted conversation to `{"queue": id}` or `{"agent": id}`."""
        return self._act(request, TransferSerializer, services.OPERATOR_ACTIONS["transfer"][1])

    @extend_schema(request=ForwardSerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def forward(self, request: Request, pk: str | None = None) -> Response:
        """Move a waiting conversation to another queue: `{"queue": id}`."""
        return self._act(request, ForwardSerializer, services.OPERATOR_ACTIONS["forward"][1])

    @extend_schema(request=EmptySerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        """Close an accepted conversation."""
        return self._act(request, EmptySerializer, services.OPERATOR_ACTIONS["end"][1])

    @extend_schema(request=EmptySerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def abandon(self, request: Request, pk: str | None = None) -> Response:
        """Close a conversation no agent accepted."""
        return self._act(request, EmptySerializer, services.OPERATOR_ACTIONS["abandon"][1])

    @extend_schema(methods=["GET"], responses=MessageSerializer(many=True))
    @extend_schema(methods=["POST"], request=ReplySerializer, responses={201: MessageSerializer})
    @action(
        detail=True,
        methods=["get", "post"],
        pagination_class=cursor_pagination("created_at", "id"),
    )
    def messages(self, request: Request, pk: str | None = None) -> Response:
        """The conversation's messages; POST replies to the customer (502 if Sinch refuses).

        The answer's `sent_as` and `notice` say when media went as a text link (EU region,
        Messenger or WhatsApp, not an image).
        """
        contact = self.get_object()
        if request.method == "GET":
            return self._page(selectors.contact_messages(contact.pk), MessageSerializer)
        body = ReplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            message = messages.contact_reply(contact=contact, **body.validated_data)
        except LifecycleError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except messages.ReplyFailed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(drf_errors(exc)) from None
        shown = MessageSerializer(message, context=self.get_serializer_context())
        return Response(shown.data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ContactEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=cursor_pagination("occurred_at", "id"))
    def events(self, request: Request, pk: str | None = None) -> Response:
        """The conversation's event history, oldest first."""
        contact = self.get_object()
        return self._page(selectors.contact_events(contact.pk), ContactEventSerializer)

    def _page(
        self, rows: QuerySet[Any], serializer: type[serializers.ModelSerializer[Any]]
    ) -> Response:
        """A page of a contact's related rows, paginated like every list."""
        context = self.get_serializer_context()
        if self.paginator is None:
            return Response(serializer(rows, many=True, context=context).data)
        page = self.paginator.paginate_queryset(rows, self.request, view=self)
        shown = serializer(page, many=True, context=context)
        return self.paginator.get_paginated_response(shown.data)
