"""Namespaces and element names of QCVN 102:2016 as the real packages use them."""

from __future__ import annotations

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DS = "http://www.w3.org/2000/09/xmldsig#"
XLINK = "http://www.w3.org/1999/xlink"
PREFIX = "edXML"
MEDIA_TYPE = "application/xml"


def q(name: str) -> str:
    """The qualified (Clark) name of a standard element."""
    return f"{{{NS}}}{name}"
