"""Text cells a spreadsheet opens as text, never as a formula (OWASP's advice against CSV injection).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by spreadsheets; such text (a campaign name from an ad network, a contact's name from a CRM) is
written with a leading ``'``. A phone number as lifesync stores it (``+`` and digits, E.164) is
left as it is: a spreadsheet reads it as a number, and the tool receiving the file needs the
number itself. One rule for the reports' CSV and the ``csv`` audience destination.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PHONE = re.compile(r"\+[0-9]{1,20}")


def formula_safe(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would run it as a formula."""
    if text.startswith(FORMULA_STARTS) and not _PHONE.fullmatch(text):
        return "'" + text
    return text
