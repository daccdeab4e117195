"""Documents handled fully online per organ, with the thresholds of the seed report by level.

The seed (Bắc Giang 2023, section I.4) says: "100% các cơ quan nhà nước cấp tỉnh có tỉ lệ xử lý
văn bản, hồ sơ công việc trên môi trường mạng đạt từ 98% trở lên; 100% các cơ quan nhà nước cấp
huyện … đạt từ 87% trở lên; 100% các cơ quan nhà nước cấp xã … đạt từ 75% trở lên."

An organ's share is its documents sent fully electronically (signed, sent online: the
`electronic` flag of `DocumentSent`) ÷ the documents it sent, by the day sent in the period; an
organ meets its level's threshold when the share is at least the threshold. An organ that sent
nothing in the period has no share and does not meet it. A level's figure is organs meeting ÷
organs of the level registered at the end of the period (the seed's "100 %").
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from contracts import reference
from services.reporting import repository as repo
from services.reporting.periods import BASIS_TEXT, Period
from services.reporting.schemas import (
    BasisNote,
    DocumentsOnlineReport,
    LevelDocumentsOnline,
    OrganDocumentsOnline,
    heading,
)
from services.reporting.service import ratio, subtree

# The province's People's Committee is a state organ of the province level too.
THRESHOLDS: dict[str, float] = {
    "province": 98.0,
    "province_organ": 98.0,
    "district": 87.0,
    "commune": 75.0,
}
LEVEL_ORDER = ("province", "province_organ", "district", "commune")
SEED = (
    "100% các cơ quan nhà nước cấp tỉnh có tỉ lệ xử lý văn bản, hồ sơ công việc trên môi trường "
    "mạng đạt từ 98% trở lên; 100% các cơ quan nhà nước cấp huyện … đạt từ 87% trở lên; 100% "
    "các cơ quan nhà nước cấp xã … đạt từ 75% trở lên."
)
BASIS = (
    "Văn bản tính theo ngày gửi trong kỳ (giờ Việt Nam); tỉ lệ = văn bản gửi hoàn toàn dưới dạng "
    "điện tử ÷ văn bản cơ quan đã gửi; ngưỡng: cấp tỉnh 98 %, cấp huyện 87 %, cấp xã 75 %; cơ "
    "quan không gửi văn bản nào trong kỳ không đạt."
)
ORGANS_BASIS = "Cơ quan: đã đăng ký tại thời điểm kết thúc kỳ (mẫu số của tỉ lệ theo cấp)."


def basis_notes(period: Period) -> list[BasisNote]:
    return [
        BasisNote(rows=[], text=BASIS_TEXT[period.basis]),
        BasisNote(rows=[], text=BASIS),
        BasisNote(rows=[], text=ORGANS_BASIS),
    ]


def build(
    session: Session,
    period: Period,
    *,
    tz: ZoneInfo,
    level: str | None = None,
    organ: str | None = None,
) -> DocumentsOnlineReport:
    conn = session.connection()
    organs = subtree(conn, organ) if organ else None
    states = [
        s
        for s in repo.organs(conn, period.end(tz))
        if (organs is None or s.code in organs) and (level is None or s.level == level)
    ]
    sent = repo.documents_by_organ(conn, period)
    names = reference.organs()
    rows: list[OrganDocumentsOnline] = []
    for s in sorted(states, key=lambda s: (LEVEL_ORDER.index(s.level), s.code)):
        n, electronic = sent.get(s.code, (0, 0))
        share = ratio(electronic, n)
        threshold = THRESHOLDS[s.level]
        known = names.get(s.code)
        rows.append(
            OrganDocumentsOnline(
                code=s.code,
                name=known.name if known is not None else None,
                level=s.level,
                parent_code=s.parent_code,
                sent=n,
                electronic=electronic,
                value=share,
                threshold=threshold,
                # Exact, not on the rounded share: 97.996 % does not reach 98 %.
                meets=n > 0 and 100 * electronic >= threshold * n,
            )
        )
    levels = []
    for lvl in LEVEL_ORDER:
        of_level = [r for r in rows if r.level == lvl]
        if not of_level:
            continue
        meeting = sum(1 for r in of_level if r.meets)
        levels.append(
            LevelDocumentsOnline(
                level=lvl,
                threshold=THRESHOLDS[lvl],
                organs=len(of_level),
                meeting=meeting,
                value=ratio(meeting, len(of_level)),
            )
        )
    return DocumentsOnlineReport(
        **heading(period, tz=tz, level=level, organ=organ),
        levels=levels,
        organs=rows,
        basis=basis_notes(period),
    )
