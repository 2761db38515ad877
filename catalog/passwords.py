"""The password policy: long enough, not the account name, and hard to guess (zxcvbn).

Why a strength estimator and not only a length: ``aaaaaaaaaaaa`` and ``password1234``
are twelve characters and fall to the first guesses of any cracking list. zxcvbn
(Dropbox's estimator, the PyPI package ``zxcvbn``) scores a password 0-4 by how many
guesses it would take, knowing dictionaries, repeats, sequences, keyboard walks and dates;
a score below :data:`DEFAULT_MIN_STRENGTH` is refused.

zxcvbn knows English words only, so it is given what an attacker of *this* server would
try first as "user inputs": the account name and its parts, the unit, and a few words of
the project and of Vietnamese passwords (:data:`LOCAL_WORDS`). The password is scored
with its Vietnamese accents removed (:func:`sohoa.textfold.fold`), so "Mật khẩu 2026"
is seen as the "mat khau 2026" it is to a guesser.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from sohoa.errors import InvalidRequestError
from sohoa.textfold import fold

__all__ = [
    "DEFAULT_MIN_STRENGTH",
    "LOCAL_WORDS",
    "MAX_PASSWORD",
    "Strength",
    "check_password",
    "strength",
]

MAX_PASSWORD = 1024
"""Longer passwords are refused: hashing megabytes on request is a denial of service."""
DEFAULT_MIN_STRENGTH = 3
"""zxcvbn's "safely unguessable" band (about 10^8 guesses or more): its authors' advice for
a password that guards more than a throwaway account."""
SCORED_CHARS = 72
"""zxcvbn refuses longer input (its cost grows fast with length); the first 72 characters
are scored. A long password weak in its first 72 is weak, so nothing weak slips through."""
LOCAL_WORDS: tuple[str, ...] = (
    "sohoa", "so hoa", "hoso", "ho so", "motcua", "mot cua", "matkhau", "mat khau",
    "quantri", "quan tri", "admin", "vanthu", "van thu", "canbo", "can bo", "ubnd",
    "anhyeuem", "emyeuanh", "vietnam", "viet nam", "hanoi", "ha noi", "saigon",
)  # fmt: skip
"""Words a guesser tries first here and zxcvbn's English lists lack: the project's own
name, "hồ sơ", "một cửa", "mật khẩu", office titles, and favourites of Vietnamese
password lists (folded: no accents, lower case). Those of two words are also tried
joined by ``-``, ``.`` and ``_`` (:func:`related_words`)."""
_LOCAL_VARIANTS: tuple[str, ...] = tuple(
    w.replace(" ", joint) for w in LOCAL_WORDS if " " in w for joint in "-._"
)
RECENT_YEARS: tuple[str, ...] = tuple(str(year) for year in range(2020, 2040))
"""Years zxcvbn 4.5 does not know as years (its pattern stops at 2019): "sohoa2026" is
"sohoa" and this year, not "sohoa" and four random digits."""

_NAME_PARTS = re.compile(r"[._\-\s]+")
_zxcvbn_lock = threading.Lock()
"""zxcvbn keeps the user inputs of a call in a module-level dictionary: two calls at once
(two admins in two web threads) must not score against each other's names."""


@dataclass(frozen=True)
class Strength:
    """zxcvbn's verdict on one password."""

    score: int
    """0 (guessed at once) to 4 (very unguessable)."""
    warning: str
    """zxcvbn's English warning (``Repeats like "aaa" are easy to guess.``), or empty."""
    suggestions: tuple[str, ...]
    """zxcvbn's English suggestions (``Add another word or two.``)."""


def related_words(name: str, extra: Iterable[str | None] = ()) -> list[str]:
    """What a guesser knows of this account: its name, the name's parts, the unit, and
    :data:`LOCAL_WORDS`. Parts of one or two letters are left out: as "words" they would
    match inside any password and weaken good ones."""
    words = [name, *(w for w in extra if w)]
    parts = [p for w in list(words) for p in _NAME_PARTS.split(w) if len(p) >= 3]
    return [fold(w) for w in [*words, *parts]] + [*LOCAL_WORDS, *_LOCAL_VARIANTS, *RECENT_YEARS]


def strength(password: str, *, related: Iterable[str] = ()) -> Strength:
    """Score ``password`` (accents removed, first :data:`SCORED_CHARS` characters).

    zxcvbn is imported here, not at the top: loading its word lists takes 0.1 s, which
    every command that merely reads accounts (``sohoa search``) would pay otherwise.
    """
    from zxcvbn import zxcvbn

    with _zxcvbn_lock:
        result = zxcvbn(fold(password)[:SCORED_CHARS], user_inputs=list(related))
    feedback = result["feedback"]
    return Strength(int(result["score"]), feedback["warning"] or "", tuple(feedback["suggestions"]))


def _hint(found: Strength) -> str:
    """zxcvbn's English advice as one sentence or two (ours when it has none)."""
    said = " ".join([found.warning, *found.suggestions[:1]]).strip()
    return said or "Use three or four unrelated words, not the account name or “sohoa”."


def check_password(
    password: str,
    *,
    name: str,
    min_length: int,
    min_strength: int = DEFAULT_MIN_STRENGTH,
    related: Iterable[str | None] = (),
) -> None:
    """Refuse a password that is too short, too long, the account name, or easy to guess.

    Args:
        name: the account's (normalised) name, itself a guess.
        min_strength: the lowest zxcvbn score accepted (0 turns the estimate off).
        related: more words tied to the account (its unit), guessed first too.

    Raises:
        InvalidRequestError: ``password_too_short``, ``password_too_long``,
            ``password_is_name`` or ``password_weak`` (with zxcvbn's score and advice).
    """
    if len(password) < min_length:
        raise InvalidRequestError("password_too_short", min=min_length)
    if len(password) > MAX_PASSWORD:
        raise InvalidRequestError("password_too_long", max=MAX_PASSWORD)
    if password.strip().lower() == name:
        raise InvalidRequestError("password_is_name")
    if min_strength <= 0:
        return
    found = strength(password, related=related_words(name, related))
    if found.score < min_strength:
        raise InvalidRequestError(
            "password_weak", score=found.score, min=min_strength, hint=_hint(found)
        )
