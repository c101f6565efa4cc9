"""The charts: SVG drawn on the server from the app's own files, readable without the picture."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cockpit import charts
from cockpit.counting import HOUR, hour_start
from cockpit.rollup import rollup
from messaging.models import MessagingService
from tests.cockpit import rows
from tests.factories import make_contact, make_integration, make_queue

pytestmark = pytest.mark.django_db

APP = "01E4556565565ERKYO"


def test_nice_ceiling() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 1, 2, 3, 7, 10, 11, 180, 201, 999)] == [
        1,
        1,
        2,
        5,
        10,
        10,
        20,
        200,
        500,
        1000,
    ]


def test_a_stacked_chart_has_a_bar_per_value_a_title_and_a_table() -> None:
    hours = [hour_start(timezone.now()) - back * HOUR for back in (2, 1, 0)]
    svg = str(
        charts.bar_chart(
            chart_id="chart-x",
            title="Things per hour",
            hours=hours,
            series=[
                charts.ChartSeries("processed", "Processed", [None, 3, 1]),
                charts.ChartSeries("failed", "Failed <b>", [None, 1, 0]),
            ],
            stacked=True,
        )
    )

    assert 'role="img" aria-labelledby="chart-x-title chart-x-desc"' in svg
    assert '<title id="chart-x-title">Things per hour</title>' in svg
    assert "Totals over the hours counted: Processed 4, Failed &lt;b&gt; 1." in svg
    assert svg.count('class="bar s-processed"') == 2 and svg.count('class="bar s-failed"') == 1
    assert svg.count('class="uncounted"') == 1  # the hour not counted yet
    assert "Failed <b>" not in svg  # labels are escaped
    table = svg[svg.index("<table>") :]
    assert table.count("<tr>") == 4 and "<td>—</td><td>—</td>" in table
    # The tallest bar (4) reaches the top of a 0–5 scale: 4/5 of the plot's height.
    assert ">5</text>" in svg


def test_the_page_draws_three_charts_with_no_address_elsewhere(
    admin_client_: Client, service: MessagingService
) -> None:
    now = timezone.now()
    contact = make_contact(make_queue(addresses=[f"{APP}@whatsapp"]))
    rows.delivery(make_integration(), contact, status="failed", at=now - timedelta(hours=4))
    rows.callback(service, status="processed", at=now - timedelta(hours=6))
    rollup(now=now)

    page = admin_client_.get("/admin/").content.decode()

    for chart in ("chart-callbacks", "chart-deliveries", "chart-conversations"):
        figure = page[page.index(f'id="{chart}"') :]
        figure = figure[: figure.index("</figure>")]
        assert "<svg" in figure and "<table>" in figure
    # Nothing is fetched from another host: every address in the page is this server's.
    addresses = re.findall(r"""(?:src|href|action)=["']([^"']+)["']""", page)
    assert addresses and not [a for a in addresses if re.match(r"(?i)(https?:)?//", a)]
    assert "url(http" not in page and "@import" not in page
    cockpit = page[page.index('id="cockpit"') : page.index('id="content-related"')]
    assert "http://" not in cockpit and "https://" not in cockpit
    assert "<script" not in cockpit


def test_the_stylesheets_are_the_apps_own_static_files(admin_client_: Client) -> None:
    page = admin_client_.get("/admin/").content.decode()

    assert 'href="/static/cockpit/home.css"' in page
    assert 'href="/static/configurator/admin/home.css"' in page
