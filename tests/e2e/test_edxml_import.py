"""A real QCVN 102 package through the gateway, on the embedded platform (real processes,
SQLite): a copy of the package the government office sent, addressed to a province organ,
lands in that organ's inbox with the standard's type and its attachments."""

from __future__ import annotations

import httpx
import pytest

from tests.documents.samples import (
    FROM_AXIS,
    SAMPLES,
    addressed_to,
    attachments_of,
    header_text,
    sample,
)
from tests.e2e.platform import Platform

pytestmark = pytest.mark.e2e

CITY = "000.00.31.H03"  # UBND Thành phố Bắc Giang


def test_a_package_from_the_axis_is_imported_through_the_gateway(
    sqlite_platform: Platform,
) -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"the edXML samples are not at {SAMPLES} (../shared beside the repository)")
    p = sqlite_platform
    raw = addressed_to(sample(FROM_AXIS), CITY, "UBND Thành phố Bắc Giang")
    with httpx.Client(
        base_url=p.gateway + "/documents",
        headers={"Authorization": f"Bearer {p.demo_token()}"},
        timeout=30,
    ) as gw:
        connected = gw.post(
            f"/v1/organs/{CITY}/connections", json={"system": "qlvb", "connected": True}
        )
        assert connected.status_code == 200, connected.text

        resp = gw.post(
            "/v1/documents:import", content=raw, headers={"content-type": "application/xml"}
        )
        assert resp.status_code == 201, resp.text
        doc = resp.json()
        assert doc["from_organ"] == header_text(raw, "MessageHeader/From/OrganId")
        assert doc["edxml_document_type"] == {"type": 1, "detail": 0, "name": "Công văn"}
        assert doc["document_type"] == "CV"
        assert [(a["name"], a["content_type"], a["size"]) for a in doc["attachments"]] == (
            attachments_of(raw)
        )
        assert doc["verification"] == "unverified"

        inbox = gw.get(f"/v1/organs/{CITY}/inbox")
        assert inbox.status_code == 200, inbox.text
        [item] = inbox.json()["items"]
        assert (item["id"], item["document_type"], item["status"]) == (doc["id"], "CV", "01")
        assert item["subject"] == header_text(raw, "MessageHeader/Subject")
        assert item["reason"].startswith("unverified: ")

        # A malformed package is a problem naming its line, through the gateway too.
        bad = gw.post(
            "/v1/documents:import",
            content=sample("resources_edoc.edxml"),
            headers={"content-type": "application/xml"},
        )
        assert bad.status_code == 422, bad.text
        assert (bad.json()["code"], bad.json()["line"]) == ("invalid_package", 74)
