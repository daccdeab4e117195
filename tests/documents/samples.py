"""The real QCVN 102 packages of ../shared/edxml-samples, and test copies of them."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from lxml import etree

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "edxml-samples"
FROM_AXIS = "xml_dc0bdef0-c7a3-4aaf-b717-777303442973.edxml"  # 000.00.00.G22 → H41, H14, G17
NS = {"e": "http://www.mic.gov.vn/TBT/QCVN_102_2016"}
_TO = re.compile(rb"\s*<edXML:To>.*?</edXML:To>", re.S)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def addressed_to(raw: bytes, organ_id: str, organ_name: str) -> bytes:
    """A copy of a package whose `To` list is one organ (the rest of the bytes unchanged)."""
    tos = _TO.findall(raw)
    assert tos, "the sample has no <edXML:To>"
    one = (
        f"\n        <edXML:To><edXML:OrganId>{organ_id}</edXML:OrganId>"
        f"<edXML:OrganName>{organ_name}</edXML:OrganName></edXML:To>"
    ).encode()
    first = raw.index(tos[0])
    without = _TO.sub(b"", raw)
    return without[:first] + one + without[first:]


def attachments_of(raw: bytes) -> list[tuple[str, str, int]]:
    """(name, content type, decoded size) of each attachment, read straight from the XML."""
    root = etree.fromstring(raw)
    return [
        (
            node.findtext("e:AttachmentName", namespaces=NS) or "",
            node.findtext("e:ContentType", namespaces=NS) or "",
            len(
                base64.b64decode(
                    "".join(
                        (node.findtext("e:ContentTransferEncoded", namespaces=NS) or "").split()
                    )
                )
            ),
        )
        for node in root.iterfind("e:AttachmentEncoded/e:Attachment", NS)
    ]


def header_text(raw: bytes, path: str) -> str | None:
    """The text at `path` (`A/B`, in the edXML namespace) under edXMLEnvelope/edXMLHeader."""
    root = etree.fromstring(raw)
    steps = "/".join(f"e:{s}" for s in ["edXMLEnvelope", "edXMLHeader", *path.split("/")])
    return root.findtext(steps, namespaces=NS)
