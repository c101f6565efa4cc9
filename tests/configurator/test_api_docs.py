"""The OpenAPI schema and Swagger UI need a logged-in user unless API_DOCS_PUBLIC."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_anonymous_clients_get_neither_schema_nor_docs() -> None:
    client = Client()

    assert client.get("/api/schema/").status_code == 401
    docs = client.get("/api/docs/")
    assert docs.status_code == 302
    assert docs["Location"] == "/admin/login/?next=/api/docs/"


def test_a_logged_in_browser_gets_the_docs_and_their_schema(staff_user: User) -> None:
    client = Client()
    client.force_login(staff_user)

    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/schema/", HTTP_ACCEPT="application/json").status_code == 200


def test_token_clients_get_the_schema_with_its_token_scheme(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }


def test_api_docs_public_makes_both_public(settings: Any) -> None:
    settings.API_DOCS_PUBLIC = True
    client = Client()

    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
