"""What a review of export and import found: each finding's case, refused or imported right."""

from __future__ import annotations

import pytest

from tests.transfer.landscape import build_landscape
from transfer.document import config_export
from transfer.services import DocumentRefused, config_import

pytestmark = pytest.mark.django_db


def test_an_unknown_integration_channel_type_is_refused_by_field() -> None:
    build_landscape()
    document = config_export()
    document["integrations"][0]["channel_type"] = "pigeon"

    with pytest.raises(DocumentRefused) as refused:
        config_import(document=document)

    assert "channel_type" in refused.value.errors["integrations"][0]
