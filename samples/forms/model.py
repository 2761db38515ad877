"""What one generated form page is: its image and the truth about what it prints.

Field truth follows the conventions of the scorer (``bench/fields.py``): values in the form
the validators normalise to (ISO dates, Vietnamese-capitalised names, ID and phone digits
only, document numbers upper-case), free text exactly as printed with line breaks turned
into spaces. The flat fields describe the page's *principal* person: the applicant (người
nộp / người yêu cầu) on dossier components, the holder or subject (chủ giấy tờ, người được
cấp) on results. Every person printed is also listed with a role, so a role-aware extractor
can be scored on whose each value is.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from PIL import Image

ROLES = ("applicant", "subject", "father", "mother", "signer", "receiver", "member")
"""applicant: người nộp / người yêu cầu; subject: người được khai sinh, chủ hồ sơ, người được
cấp; signer: who signs a result for the issuing office; receiver: the clerk who signs a receipt
as người tiếp nhận (a receipt has no signer field, as in docgen); member: a row of a members'
table."""


@dataclass(frozen=True)
class PersonTruth:
    """One person printed on a page, under one role (a person with two roles is listed twice)."""

    role: str
    name: str
    id_number: str | None = None
    birth_date: str | None = None
    """ISO date, when printed in this role's block."""


@dataclass(frozen=True)
class FormPage:
    """A rendered page of one layout family with its truth."""

    image: Image.Image
    dpi: int
    family: str
    doc_type: str
    """The document type the page is (``receipt``, ``application``, ...), for reports."""
    truth: dict[str, str]
    people: tuple[PersonTruth, ...]
    text: str
    """Every run of text drawn, one per line, in drawing order."""
    ruled_lines: int = 0
    """Table rules drawn (0: no table on the page)."""
    seed: int = 0
    variant: str = ""
    """Which of the family's variants was drawn (label set, order), for diagnosing misses."""


@dataclass
class Draft:
    """Truth collected while a page is drawn."""

    fields: dict[str, str] = field(default_factory=dict)
    people: list[PersonTruth] = field(default_factory=list)
    variant: list[str] = field(default_factory=list)

    def put(self, **values: str | None) -> None:
        for name, value in values.items():
            if value is not None:
                self.fields[name] = unicodedata.normalize("NFC", " ".join(value.split()))

    def person(
        self, role: str, name: str, id_number: str | None = None, birth: date | None = None
    ) -> None:
        self.people.append(PersonTruth(role, name, id_number, birth.isoformat() if birth else None))
