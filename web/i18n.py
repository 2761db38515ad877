"""The language of one web request, and its texts.

The CLI's :func:`sohoa.messages.t` reads the process-wide ``SOHOA_LANG``; a web
server answers people in both languages at once, so here the language is chosen
per request: ``?lang=en`` (remembered in a cookie), else that cookie, else the
browser's ``Accept-Language``, else Vietnamese. Texts come from the same catalogue
(``sohoa/messages.toml``, read by :mod:`sohoa.messages`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from sohoa.errors import SohoaError
from sohoa.messages import DEFAULT_LANG, LANGS, text

__all__ = ["LANGS", "LANG_COOKIE", "chosen_lang", "error_text", "request_lang", "text"]

LANG_COOKIE = "sohoa_lang"


def chosen_lang(request: Request) -> str | None:
    """The language asked for with ``?lang=`` in this request, if valid."""
    lang = request.query_params.get("lang", "").lower()[:2]
    return lang if lang in LANGS else None


def _accept_language(header: str) -> str | None:
    """The first of our languages the browser lists, by its q weight."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        lang = tag.strip().lower()[:2]
        if lang in LANGS and weight > 0:
            ranked.append((-weight, index, lang))
    return min(ranked)[2] if ranked else None


def request_lang(request: Request) -> str:
    """The language to answer ``request`` in (cached on the request)."""
    cached = getattr(request.state, "lang", None)
    if cached:
        return cached
    cookie = request.cookies.get(LANG_COOKIE, "")
    lang = (
        chosen_lang(request)
        or (cookie if cookie in LANGS else None)
        or _accept_language(request.headers.get("accept-language", ""))
        or DEFAULT_LANG
    )
    request.state.lang = lang
    return lang


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **params)`` bound to one language, for templates."""

    def t(key: str, **params: Any) -> str:
        return text(key, lang, **params)

    return t


def error_text(exc: SohoaError, lang: str) -> str:
    """A domain error's message for people, in ``lang``."""
    return exc.render(lang)
