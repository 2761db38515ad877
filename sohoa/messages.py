"""Every text people read, in Vietnamese (default) and English, from one catalogue.

Code and logs speak English; people at the counter read Vietnamese. The texts live
in ``sohoa/messages.toml`` (one table per key, ``vi`` and ``en``, ``str.format``
placeholders), read once with :mod:`tomllib`, so translators edit one file and no
code. The CLI picks the language from ``SOHOA_LANG`` (``vi`` or ``en``) or ``--lang``;
a web request sets its own with :func:`use_lang` (see :mod:`web.i18n`).

Three lookups, which differ only in what a gap looks like:

- :func:`message` for errors and refusals: an unknown key renders the internal error;
- :func:`text` (and :func:`t`, in the current language) for interface texts: an
  unknown key renders as itself, so the gap shows;
- report labels go through :func:`reports.layout.label` (keys ``report_*``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib.resources import files
from typing import Any

__all__ = [
    "DEFAULT_LANG",
    "LANGS",
    "catalogue",
    "current_lang",
    "message",
    "t",
    "text",
    "use_lang",
]

DEFAULT_LANG = "vi"
LANGS = ("vi", "en")


@cache
def catalogue() -> Mapping[str, Mapping[str, str]]:
    """Every key with its ``{"vi": ..., "en": ...}`` templates (read once)."""
    data = files(__package__).joinpath("messages.toml").read_text(encoding="utf-8")
    return tomllib.loads(data)


_CONTEXT_LANG: ContextVar[str | None] = ContextVar("sohoa_lang", default=None)
"""The language of the current web request, when there is one (see :func:`use_lang`)."""


def current_lang() -> str:
    """The current request's language if set, else ``SOHOA_LANG``, falling back to Vietnamese.

    Why a context variable: the web server answers people in both languages at once,
    so a process-wide setting cannot say which language a library message is for.
    """
    lang = _CONTEXT_LANG.get() or os.environ.get("SOHOA_LANG", DEFAULT_LANG).lower()[:2]
    return lang if lang in LANGS else DEFAULT_LANG


@contextmanager
def use_lang(lang: str) -> Iterator[None]:
    """Make :func:`current_lang` answer ``lang`` inside the block (this task/thread only)."""
    token = _CONTEXT_LANG.set(lang)
    try:
        yield
    finally:
        _CONTEXT_LANG.reset(token)


def message(key: str, lang: str | None = None, **params: Any) -> str:
    """Render error message ``key`` in ``lang``; unknown keys fall back to the internal message."""
    lang = lang or current_lang()
    texts = catalogue()
    entry = texts.get(key) or texts["internal"]
    template = entry.get(lang) or entry["en"]
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return f"{template} {params}"


def text(key: str, lang: str | None = None, **params: Any) -> str:
    """Interface text ``key`` in ``lang`` (default: the current one); the key itself when unknown."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    template = entry["en"] if (lang or current_lang()) == "en" else entry["vi"]
    try:
        return template.format(**params) if params else template
    except (KeyError, IndexError):
        return template


def t(key: str, **params: Any) -> str:
    """The interface text ``key`` in the current language (the CLI's lookup)."""
    return text(key, None, **params)
