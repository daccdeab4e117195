"""Synthetic, deterministic people and enterprises: the same number always gives the same
record, and no record is anyone's real data (names drawn from lists of common name parts by a
hash of the number; district and ward codes, addresses and relatives are made up).

A personal identification number (số định danh, 12 digits) reads `PPP G YY NNNNNN`: PPP the
province of birth registration (the GSO province code, e.g. 024 Bắc Giang), G the sex and
century (0/1 male/female born 1900-1999, 2/3 born 2000-2099), YY the year. A number whose PPP
is no province, or whose year is in the future, is not in the population database. A record
of someone born before 2000 has an old ID card number (9 digits, SoCMND) too.

An enterprise code (mã số doanh nghiệp) has 10 digits whose last is the check digit of the
first nine (weights 31 29 23 19 17 13 7 5 3: 10 − sum mod 11), optionally `-NNN` for a
branch; one whose check digit is wrong is not in the register.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

# GSO province codes (the first three digits of a 12-digit personal number).
PROVINCES = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn",
    "008": "Tuyên Quang", "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu",
    "014": "Sơn La", "015": "Yên Bái", "017": "Hòa Bình", "019": "Thái Nguyên",
    "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang", "025": "Phú Thọ",
    "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định",
    "037": "Ninh Bình", "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh",
    "044": "Quảng Bình", "045": "Quảng Trị", "046": "Thừa Thiên Huế", "048": "Đà Nẵng",
    "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định", "054": "Phú Yên",
    "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng",
    "070": "Bình Phước", "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang",
    "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long", "087": "Đồng Tháp",
    "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
    "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}  # fmt: skip

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
          "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")  # fmt: skip
MIDDLE = {
    "1": ("Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Xuân", "Thành"),
    "2": ("Thị", "Ngọc", "Thu", "Thanh", "Minh", "Kim", "Hồng", "Phương"),
}
GIVEN = {
    "1": ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phong",
          "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Việt"),
    "2": ("Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh",
          "Mai", "Nga", "Ngân", "Thảo", "Trang", "Yến"),
}  # fmt: skip
STREETS = ("Trần Phú", "Lê Lợi", "Nguyễn Trãi", "Hoàng Văn Thụ", "Ngô Quyền", "Xương Giang")
ACTIVITIES = (
    ("4711", "Bán lẻ lương thực, thực phẩm, đồ uống trong cửa hàng kinh doanh tổng hợp"),
    ("4620", "Bán buôn nông, lâm sản nguyên liệu (trừ gỗ, tre, nứa) và động vật sống"),
    ("4101", "Xây dựng nhà để ở"),
    ("5610", "Nhà hàng và các dịch vụ ăn uống phục vụ lưu động"),
    ("6201", "Lập trình máy vi tính"),
    ("1410", "May trang phục (trừ trang phục từ da lông thú)"),
)
KINDS = ("Công ty TNHH", "Công ty Cổ phần", "Công ty TNHH MTV")
TRADES = ("Thương mại", "Xây dựng", "Dịch vụ", "Sản xuất", "Công nghệ", "Nông sản")
PLACES = ("Xương Giang", "Sông Thương", "Yên Thế", "Lục Ngạn", "Hiệp Hòa", "Tân Yên")


def _draw(seed: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}:{seed}".encode()).digest()[:8], "big")


def _pick(options: tuple[str, ...], seed: str, salt: str) -> str:
    return options[_draw(seed, salt) % len(options)]


@dataclass(frozen=True)
class Address:
    province: str
    district: str
    ward: str
    detail: str


@dataclass(frozen=True)
class Relative:
    name: str
    number: str


@dataclass(frozen=True)
class Citizen:
    number: str
    old_number: str
    family: str
    middle: str
    given: str
    sex: str  # "1" male, "2" female
    born: date
    home: Address
    resident: Address
    father: Relative
    mother: Relative
    household_book: str

    @property
    def full_name(self) -> str:
        return f"{self.family} {self.middle} {self.given}"


def _address(seed: str, salt: str, province: str) -> Address:
    district = f"{_draw(seed, salt + 'd') % 900 + 100:03d}"
    ward = f"{_draw(seed, salt + 'w') % 90000 + 10000:05d}"
    house = _draw(seed, salt + "h") % 300 + 1
    street = _pick(STREETS, seed, salt + "s")
    return Address(province[1:], district, ward, f"Số {house}, đường {street}")


def _relative(seed: str, salt: str, sex: str, family: str, year: int) -> Relative:
    middle = _pick(MIDDLE[sex], seed, salt + "m")
    given = _pick(GIVEN[sex], seed, salt + "g")
    digit = ("0" if sex == "1" else "1") if year < 2000 else ("2" if sex == "1" else "3")
    tail = f"{_draw(seed, salt + 'n') % 1_000_000:06d}"
    number = f"{seed[:3]}{digit}{year % 100:02d}{tail}"
    return Relative(f"{family} {middle} {given}", number)


def citizen(number: str, *, today: date) -> Citizen | None:
    """The citizen of a 12-digit number, or None when the population database has none."""
    if len(number) != 12 or not number.isdigit() or number[:3] not in PROVINCES:
        return None
    if number[3] not in "0123":
        return None
    year = (1900 if number[3] in "01" else 2000) + int(number[4:6])
    if year > today.year:
        return None
    sex = "1" if number[3] in "02" else "2"
    born = date(year, _draw(number, "month") % 12 + 1, _draw(number, "day") % 28 + 1)
    if born > today:
        born = date(year, 1, 1)
    family = _pick(FAMILY, number, "family")
    father_year = year - 22 - _draw(number, "fy") % 12
    mother_year = year - 20 - _draw(number, "my") % 12
    home = _address(number, "home", number[:3])
    return Citizen(
        number=number,
        old_number=f"{_draw(number, 'cmnd') % 1_000_000_000:09d}" if year < 2000 else "",
        family=family,
        middle=_pick(MIDDLE[sex], number, "middle"),
        given=_pick(GIVEN[sex], number, "given"),
        sex=sex,
        born=born,
        home=home,
        resident=home if _draw(number, "moved") % 3 else _address(number, "now", "024"),
        father=_relative(number, "father", "1", family, father_year),
        mother=_relative(number, "mother", "2", _pick(FAMILY, number, "mf"), mother_year),
        household_book=f"{_draw(number, 'shk') % 10**9:09d}",
    )


def check_digit(first_nine: str) -> int | None:
    weights = (31, 29, 23, 19, 17, 13, 7, 5, 3)
    value = 10 - sum(int(d) * w for d, w in zip(first_nine, weights, strict=True)) % 11
    return value if value < 10 else None


@dataclass(frozen=True)
class Enterprise:
    code: str
    name: str
    short_name: str
    founded: date
    capital: int
    address: Address
    representative: str
    activities: tuple[tuple[str, str, bool], ...]


def enterprise(msdn: str, *, today: date) -> Enterprise | None:
    """The enterprise (or branch) of a code, or None when the register has none."""
    main, _, branch = msdn.partition("-")
    if (
        len(main) != 10
        or not main.isdigit()
        or (branch and not (len(branch) == 3 and branch.isdigit()))
    ):
        return None
    if check_digit(main[:9]) != int(main[9]):
        return None
    kind = _pick(KINDS, msdn, "kind")
    trade = _pick(TRADES, msdn, "trade")
    place = _pick(PLACES, msdn, "place")
    name = f"{kind} {trade} {place}".upper()
    if branch:
        name = f"CHI NHÁNH {int(branch)} - {name}"
    founded_year = today.year - 1 - _draw(msdn, "year") % 25
    founded = date(founded_year, _draw(msdn, "m") % 12 + 1, _draw(msdn, "d") % 28 + 1)
    sex = "1" if _draw(msdn, "sex") % 2 else "2"
    representative = " ".join(
        (_pick(FAMILY, msdn, "rf"), _pick(MIDDLE[sex], msdn, "rm"), _pick(GIVEN[sex], msdn, "rg"))
    )
    picked = sorted({_draw(msdn, f"a{i}") % len(ACTIVITIES) for i in range(3)})
    activities = tuple((ACTIVITIES[i][0], ACTIVITIES[i][1], n == 0) for n, i in enumerate(picked))
    return Enterprise(
        code=msdn,
        name=name,
        short_name=f"{trade} {place}".upper(),
        founded=founded,
        capital=(_draw(msdn, "capital") % 200 + 1) * 100_000_000,
        address=_address(msdn, "ho", "024"),
        representative=representative,
        activities=activities,
    )
