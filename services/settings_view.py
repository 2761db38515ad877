"""The effective settings as an administrator reads them: value, default, where it came from.

Why read-only: :class:`schemas.settings.Settings` is frozen and read once per
process from the environment and ``SOHOA_CONFIG``/``sohoa.toml``; a change made in
a web form would apply to one process and vanish on restart. So the page (and
``sohoa settings``) says what each setting is now, whether it differs from the
default, which environment variable or file key sets it, and what it is for (the
field's docstring) — the administrator changes it there and restarts.

Secrets are never shown: a :class:`~pydantic.SecretStr` reads "set" or "not set",
and a password inside a URL is replaced by ``***``.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined

from schemas.settings import Settings

__all__ = ["SettingRow", "config_file", "setting_rows"]

ENV_PREFIX = "SOHOA_"
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SECRET_PARAM = re.compile(r"pass|pwd|token|secret|key|auth|sig", re.IGNORECASE)


@dataclass(frozen=True)
class SettingRow:
    """One setting, flattened (``web.session_hours``)."""

    key: str
    section: str
    """The group it belongs to (``web``); ``""`` for the top-level settings."""
    value: str
    default: str
    changed: bool
    source: str
    """``env``, ``file``, ``program`` (passed by the code that made the settings) or ``default``."""
    env_var: str
    description: str
    secret: bool


def config_file() -> tuple[Path, bool]:
    """The TOML file settings are read from, and whether it exists."""
    path = Path(os.environ.get("SOHOA_CONFIG") or "sohoa.toml")
    return path.resolve(), path.is_file()


def shown(value: Any) -> str:
    """A value as the page shows it: secrets hidden, URL passwords masked, lists joined."""
    if isinstance(value, SecretStr):
        return "set" if value.get_secret_value() else "not set"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, frozenset, set)):
        return ", ".join(shown(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}={shown(v)}" for k, v in value.items()) or "—"
    return masked_url(str(value))


def masked_url(text: str) -> str:
    """``text`` with a URL's password and secret-looking query values replaced by ``***``.

    Why not a regular expression over the whole URL: SQLAlchemy and HTTP clients
    accept passwords holding ``/`` or spaces, which a pattern stopping there would
    print. The user part ends at the last ``@`` before the query.
    """
    scheme = _SCHEME.match(text)
    if scheme is None:
        return text
    rest = text[scheme.end() :]
    place, mark, query = rest.partition("?")
    userinfo, at, host = place.rpartition("@")
    if at and ":" in userinfo:
        place = f"{userinfo.split(':', 1)[0]}:***@{host}"
    if mark:
        pairs = [pair.partition("=") for pair in query.split("&")]
        query = "&".join(
            f"{name}{eq}{'***' if eq and _SECRET_PARAM.search(name) else value}"
            for name, eq, value in pairs
        )
    return f"{scheme.group(0)}{place}{mark}{query}"


def _secret_state(value: Any) -> str:
    """``set`` or ``not set``: all the page may say of a secret."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return "set" if value else "not set"


def _file_keys(path: Path, exists: bool) -> set[str]:
    """Dotted keys the config file sets (unreadable file: none; the page says which file)."""
    if not exists:
        return set()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return set()
    keys: set[str] = set()

    def walk(prefix: str, table: dict[str, Any]) -> None:
        for name, value in table.items():
            key = f"{prefix}{name}".lower()
            keys.add(key)
            if isinstance(value, dict):
                walk(key + ".", value)

    walk("", data)
    return keys


def _env_keys() -> set[str]:
    """Dotted keys set through ``SOHOA_…`` variables (``SOHOA_WEB__SESSION_HOURS``)."""
    return {
        name[len(ENV_PREFIX) :].lower().replace("__", ".")
        for name in os.environ
        if name.upper().startswith(ENV_PREFIX) and name.upper() != "SOHOA_CONFIG"
    }


def _default_of(field: Any) -> Any:
    if field.default is not PydanticUndefined:
        return field.default
    if field.default_factory is not None:
        try:
            return field.default_factory()
        except Exception:  # noqa: BLE001 — a factory that needs the environment: no default to show
            return None
    return None


def _source(key: str, section: str, env: set[str], file: set[str], changed: bool) -> str:
    if key in env or section in env:
        return "env"
    if key in file:
        return "file"
    return "program" if changed else "default"


def setting_rows(settings: Settings) -> list[SettingRow]:
    """Every leaf setting in declaration order, top-level ones first."""
    path, exists = config_file()
    env, file = _env_keys(), _file_keys(path, exists)
    rows: list[SettingRow] = []
    sections: list[tuple[str, BaseModel]] = [("", settings)]
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            sections.append((name, value))
    for section, model in sections:
        for name, field in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                continue
            key = f"{section}.{name}" if section else name
            default = _default_of(field)
            secret = "SecretStr" in str(field.annotation)
            text = _secret_state(value) if secret else shown(value)
            changed = text != (_secret_state(default) if secret else shown(default))
            rows.append(
                SettingRow(
                    key=key,
                    section=section,
                    value=text,
                    default="—" if secret else shown(default),
                    changed=changed,
                    source=_source(key, section, env, file, changed),
                    env_var=ENV_PREFIX + key.upper().replace(".", "__"),
                    description=" ".join((field.description or "").split()),
                    secret=secret,
                )
            )
    return rows
