"""A person's name, phone and 公民身份号码 as the platform accepts them. Pure: the households of
`grids` and the onboarding imports (shared/onboarding) check people with the same rules."""

from __future__ import annotations

import re
from datetime import date

from shared.errors import BadInput

NAME_MAX = 32
OLDEST_BIRTH_YEAR = 1900
_CTRL = re.compile(r"[\x00-\x1f\x7f<>{}\[\]\\|$^*=;\"]")
_DIGITS = re.compile(r"\d")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
_ID = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def check_person_name(name: str | None, what: str = "name") -> str:
    """A person's name: 1–32 characters, no digits, no markup or control characters."""
    n = " ".join((name or "").split())
    if not n:
        raise BadInput(f"{what} must not be empty")
    if len(n) > NAME_MAX:
        raise BadInput(f"{what} is longer than {NAME_MAX} characters")
    if _DIGITS.search(n) or _CTRL.search(n):
        raise BadInput(f"{what} may hold letters, spaces, '·', '-' and '.' only")
    return n


def check_phone(phone: str | None) -> str | None:
    """A mainland mobile (11 digits, 1[3-9]…) or landline (area code from 0, 10–12 digits);
    spaces and dashes are dropped, a +86/0086 prefix too. None or empty: no phone."""
    if phone is None or not phone.strip():
        return None
    p = re.sub(r"[\s\-()]", "", phone)
    for prefix in ("+86", "0086"):
        if p.startswith(prefix):
            p = p[len(prefix) :]
    if _MOBILE.match(p) or _LANDLINE.match(p):
        return p
    raise BadInput("phone must be a mobile number (11 digits from 13–19) or a landline with its area code")


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character of the first 17 digits (ISO 7064 MOD 11-2)."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def check_id_number(value: str | None, today: date) -> str | None:
    """A 18-character 公民身份号码 (GB 11643-1999): 6-digit area, birth date YYYYMMDD (a real
    day, not after today, not before 1900), 3-digit order, check character (0-9 or X).
    The old 15-digit numbers are refused (those cards expired in 2013)."""
    if value is None or not value.strip():
        return None
    v = value.strip().upper()
    if len(v) == 15 and v.isdigit():
        raise BadInput("ID number has the old 15 digits; give the 18-character number")
    if not _ID.match(v):
        raise BadInput("ID number must be 17 digits and a check digit (0-9 or X)")
    if v[0] == "0":
        raise BadInput("ID number starts with an area code that does not exist")
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise BadInput("ID number holds a birth date that does not exist") from None
    if born > today or born.year < OLDEST_BIRTH_YEAR:
        raise BadInput("ID number holds a birth date out of range")
    if id_check_digit(v[:17]) != v[17]:
        raise BadInput("ID number's check digit does not match (mistyped?)")
    return v


def id_facts(id_number: str) -> tuple[str, int]:
    """(gender, birth year) an ID number says: the 17th digit is odd for a man."""
    return ("MALE" if int(id_number[16]) % 2 else "FEMALE"), int(id_number[6:10])
