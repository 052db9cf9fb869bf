"""Belgian organisation numbers.

* NIHDI (RIZIV/INAMI) institution number: 8 digits.
* Enterprise number (KBO/BCE): 10 digits starting with 0 or 1, commonly written
  ``0xxx.xxx.xxx`` or ``BE 0xxx xxx xxx``; its last two digits are 97 minus the first eight
  modulo 97. Old 9-digit numbers are the same number without the leading 0.
"""

from __future__ import annotations

import re

#: Python's ``\s`` written out, so that published patterns mean the same in ECMAScript (whose
#: ``\s`` differs) as here.
WHITESPACE = r"\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SEPARATOR = rf"[{WHITESPACE}./-]"
SEPARATORS = re.compile(SEPARATOR)
#: The shapes accepted as input (the OpenAPI document publishes them); check digits are checked apart.
NIHDI_PATTERN = rf"^{SEPARATOR}*(?:[0-9]{SEPARATOR}*){{8}}$"
KBO_PATTERN = rf"^{SEPARATOR}*(?:[Bb][Ee]{SEPARATOR}*)?(?:[01]{SEPARATOR}*)?(?:[0-9]{SEPARATOR}*){{9}}$"
#: Some character that is not whitespace (what "not blank" means after ``str.strip()``), and no
#: NUL anywhere (PostgreSQL cannot store it): one pattern, since a schema has only one.
NOT_BLANK_PATTERN = rf"^[^\x00]*[^{WHITESPACE}\x00][^\x00]*$"


def normalise_nihdi(value: str) -> str | None:
    """The 8 digits of a NIHDI institution number, or None if ``value`` is not one."""
    digits = SEPARATORS.sub("", value)
    return digits if re.fullmatch(r"[0-9]{8}", digits) else None


def normalise_kbo(value: str) -> str | None:
    """The 10 digits of a valid enterprise number, or None if the format or check digits fail."""
    compact = SEPARATORS.sub("", value).upper()
    if compact.startswith("BE"):
        compact = compact[2:]
    if re.fullmatch(r"[0-9]{9}", compact):
        compact = "0" + compact
    if not re.fullmatch(r"[01][0-9]{9}", compact):
        return None
    if 97 - int(compact[:8]) % 97 != int(compact[8:]):
        return None
    return compact


def format_kbo(digits: str) -> str:
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"
