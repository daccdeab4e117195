"""A small province whose every Phụ lục II figure is computed by hand in the comments.

Organs: PROV (province) → S1, S2, S3 (province organs), D1, D2 (districts); D1 → C1, C2 and
D2 → C3 (communes). Numbers below are for 2023 unless a test says otherwise.
"""

from __future__ import annotations

from typing import Any

from contracts.events import Envelope
from tests.reporting.events import (
    connection,
    document,
    organ,
    payment,
    procedure,
    received,
    resolved,
    status,
)

PROV = "000.00.00.H03"


def organs() -> list[Envelope]:
    return [
        organ(PROV, "province", None),
        *[organ(s, "province_organ", PROV) for s in ("S1", "S2", "S3")],
        *[organ(d, "district", PROV) for d in ("D1", "D2")],
        organ("C1", "commune", "D1"),
        organ("C2", "commune", "D1"),
        organ("C3", "commune", "D2"),
    ]


def connections() -> list[Envelope]:
    # qlvb at the end of 2023: S1, S2 | D1 | C1, C3 → 5.1.1 2/3, 5.1.2 1/2, 5.1.3 2/3.
    # motcua: S1 | D1, D2 | none → 5.3.1 1/3, 5.3.2 2/2, 5.3.3 0/3.
    return [
        connection("S1", "province_organ", "qlvb", True, "2022-01-01T08:00"),
        connection("S2", "province_organ", "qlvb", True, "2023-06-01T08:00"),
        connection("D1", "district", "qlvb", True, "2021-01-01T08:00"),
        # D2 was connected, then cut off on 2023-03-01 (delivered in reverse order below).
        connection("D2", "district", "qlvb", False, "2023-03-01T08:00"),
        connection("D2", "district", "qlvb", True, "2022-01-01T08:00"),
        connection("C1", "commune", "qlvb", True, "2022-01-01T08:00"),
        connection("C2", "commune", "qlvb", True, "2024-01-01T00:30"),  # 2024 in Hà Nội time
        connection("C3", "commune", "qlvb", True, "2023-12-31T23:30"),  # still 2023
        connection("S1", "province_organ", "motcua", True, "2022-01-01T08:00"),
        connection("D1", "district", "motcua", True, "2022-01-01T08:00"),
        connection("D2", "district", "motcua", True, "2022-01-01T08:00"),
    ]


def documents() -> list[Envelope]:
    # 2023: S1 3 sent (2 electronic), PROV 1 (electronic), D1 2 (1), C1 1 (0)
    # → 5.2 4/7, 5.2.1 3/4 (province counts with province organs), 5.2.2 1/2, 5.2.3 0/1.
    return [
        document("2023-01-05T09:00", "S1", "province_organ", True),
        document("2023-04-05T09:00", "S1", "province_organ", True),
        document("2023-07-05T09:00", "S1", "province_organ", False),
        document("2023-09-05T09:00", PROV, "province", True),
        document("2023-02-05T09:00", "D1", "district", True),
        document("2023-12-31T23:59", "D1", "district", False),
        document("2023-06-05T09:00", "C1", "commune", False),
        document("2024-01-01T00:01", "S1", "province_organ", True),
        document("2022-12-31T23:59", "S1", "province_organ", False),
    ]


def catalogue() -> list[Envelope]:
    # End of 2023: eligible P1, P2, P5, all full → 6.1 3/3; fee P1, P2, both paying online → 2/2.
    # End of 2023-H1: eligible P1, P2; full P1 → 1/2; fee P1, P2; online payment P1 → 1/2.
    return [
        procedure("P1", "2022-01-01T08:00", mode="full", fee=True, online_payment=True),
        procedure("P2", "2023-07-01T08:00", mode="full", fee=True, online_payment=True),
        procedure("P2", "2022-01-01T08:00", mode="partial", fee=True, online_payment=False),
        procedure("P3", "2022-01-01T08:00", mode="partial", eligible=False, level="district"),
        procedure("P4", "2024-01-01T08:00", mode="full"),
        procedure("P5", "2023-12-31T23:30", mode="full"),
        procedure("P6", "2022-01-01T08:00", mode="none", eligible=False),
    ]


def dossiers() -> list[Envelope]:
    # Full (P1) received in 2023: D1 online ×3 (Jan–Mar) + D1 online 2023-12-31T23:30, C1 direct,
    # S1 postal → 6.3 4/6. Partial: P2 D1 online ×2 (Feb), P2 C3 direct ×2 (Oct), P3 S1 direct
    # (Nov) → 6.4 2/5. 6.2: P1, P2, P3 with dossiers, P1, P2 online → 2/3 (P6 is not online).
    full = {"procedure_code": "P1", "mode": "full"}
    p2 = {"procedure_code": "P2", "mode": "partial", "fee": True}
    return [
        received("2023-01-10T08:00", **full, organ_code="D1", channel=2),
        received("2023-02-10T08:00", **full, organ_code="D1", channel=2),
        received("2023-03-10T08:00", **full, organ_code="D1", channel=2),
        received("2023-12-31T23:30", **full, organ_code="D1", channel=2),
        received("2024-01-01T00:10", **full, organ_code="D1", channel=2),  # 2024
        received("2023-05-05T08:00", **full, organ_code="C1", level="commune", channel=1),
        received("2023-08-08T08:00", **full, organ_code="S1", level="province_organ", channel=3),
        received("2023-02-15T08:00", **p2, organ_code="D1", channel=2),
        received("2023-02-16T08:00", **p2, organ_code="D1", channel=2),
        received("2023-10-01T08:00", **p2, organ_code="C3", level="commune", channel=1),
        received("2023-10-02T08:00", **p2, organ_code="C3", level="commune", channel=1),
        received(
            "2023-11-11T08:00",
            procedure_code="P3",
            mode="partial",
            organ_code="S1",
            level="province_organ",
            channel=1,
        ),
        received("2023-04-04T08:00", procedure_code="P6", mode="none", channel=1),
        # Not receptions: submitted (1) and processing (4) count nowhere.
        status("2023-01-09T08:00", 1, procedure_code="P1"),
        status("2023-01-11T08:00", 4, procedure_code="P1"),
    ]


def resolutions() -> list[Envelope]:
    # TT.1 counts fee-bearing dossiers by their resolution (status 9) day, those with a fee
    # transaction (amount > 0) at any status in the denominator, an online one in the numerator:
    #   R1 D1 resolved 2023-03-01, paid online before          → 2023: den, num
    #   R2 D1 resolved 2023-03-02, paid at the desk              → 2023: den
    #   R3 D1 resolved 2023-03-03, paid online at hand-over 03-06 → 2023: den, num
    #   R4 S1 resolved 2023-09-09, paid online before (P2)       → 2023: den, num
    #   R5 D1 resolved 2023-12-30, paid online at hand-over on 2024-01-02 → 2023: den, num
    #   R6 D1 resolved 2023-05-05, fee exempted (no transaction) → nowhere
    # → TT.1 2023 = 4/5; D1 (and the district level) 3/4; Q1 2/3; 2024 0/0.
    # TT.2 (procedures with an online payment in the period ÷ 6.5.2): 2023 {P1, P2} 2/2;
    # Q1 {P1} ÷ P1 alone at the end of Q1 = 1/1; 2024 {P1} (R5's payment) ÷ 2 = 1/2.
    d1: dict[str, Any] = {"organ_code": "D1"}
    s1: dict[str, Any] = {"organ_code": "S1", "level": "province_organ", "procedure_code": "P2"}
    return [
        resolved("2023-03-01T10:00", paid_online=True, code="R1", **d1),
        payment("2023-03-01T09:00", "online", code="R1", **d1),
        resolved("2023-03-02T10:00", paid_online=False, code="R2", **d1),
        payment("2023-03-02T09:00", "offline", code="R2", **d1),
        resolved("2023-03-03T10:00", paid_online=False, code="R3", **d1),
        payment("2023-03-06T09:00", "online", code="R3", **d1),
        resolved("2023-09-09T10:00", paid_online=True, code="R4", **s1),
        payment("2023-09-08T09:00", "online", code="R4", **s1),
        resolved("2023-12-30T10:00", paid_online=False, code="R5", **d1),
        payment("2024-01-02T10:00", "online", code="R5", **d1),
        resolved("2023-05-05T10:00", paid_online=False, code="R6", **d1),
    ]


def everything() -> list[Envelope]:
    return [
        *organs(),
        *connections(),
        *documents(),
        *catalogue(),
        *dossiers(),
        *resolutions(),
    ]


# stt → (numerator, denominator) for 2023, whole province.
EXPECTED_2023: dict[str, tuple[int, int]] = {
    "5.1.1": (2, 3),
    "5.1.2": (1, 2),
    "5.1.3": (2, 3),
    "5.2": (4, 7),
    "5.2.1": (3, 4),
    "5.2.2": (1, 2),
    "5.2.3": (0, 1),
    "5.3.1": (1, 3),
    "5.3.2": (2, 2),
    "5.3.3": (0, 3),
    "6.1": (3, 3),
    "6.2": (2, 3),
    "6.3": (4, 6),
    "6.4": (2, 5),
    "6.5": (2, 2),
    "TT.1": (4, 5),
    "TT.2": (2, 2),
}
