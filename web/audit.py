"""Writing and reading the audit log from a request: the helper every route uses.

One call records an action with who (the request's user), when (the app's clock),
what (an :class:`catalog.audit.Action` and a target id) and from where (client
address, user agent)::

    audit(request, Action.RECORD_VIEW, target=record.id)
    audit(request, Action.RECORD_CORRECT, target=record.id, field="id_number")
    audit(request, Action.SEARCH, hits=len(hits))       # counts, never the words searched

Keyword arguments become the entry's detail: ids, field names, counts, reasons —
never personal data values (:func:`catalog.audit.clean_detail` masks what slips).
A failed write raises, so an action whose trace cannot be kept does not happen.

Refusals of requests nobody is signed in for (a bad CSRF token, an unknown API token, a
sign-in made to wait) go through :func:`audit_refusal` instead, which writes the first per
client address and action each minute and counts the rest (:class:`RefusalThrottle`):
otherwise anyone could grow the catalog by one row per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request

from catalog import audit as audit_log
from catalog.audit import Action, Actor, AuditFilter, AuditPage
from schemas.settings import Settings
from sohoa.dates import parse_optional_day
from sohoa.errors import InvalidRequestError
from web.deps import catalog_of, client_ip, now_of, settings_of, state_once

__all__ = ["RefusalThrottle", "actor", "audit", "audit_filter", "audit_refusal", "read_log"]


def actor(request: Request, *, who: str | None = None) -> Actor:
    """The actor of ``request``: its signed-in user if known, else ``who`` (a typed login name)."""
    principal = getattr(request.state, "principal", None)
    ip, agent = client_ip(request), request.headers.get("user-agent")
    if principal is not None:
        return Actor(principal.name, principal.user_id, principal.role, ip, agent, principal.via)
    via = "api" if request.url.path.startswith("/api/") else "web"
    return Actor(who, None, None, ip, agent, via)


def audit(
    request: Request,
    action: Action | str,
    /,
    *,
    target: str | None = None,
    who: str | None = None,
    **detail: Any,
) -> None:
    """Append one entry for ``request`` (see the module docstring)."""
    audit_log.record(
        catalog_of(request),
        actor(request, who=who),
        action,
        target=target,
        detail=detail,
        now=now_of(request),
    )


class RefusalThrottle:
    """Which refusals of anonymous requests are logged: the first per (client address, action)
    each ``every``, with how many were left out since (``skipped`` in its detail).

    Why in this process's memory and not in the catalog, which the web processes share:
    the check runs for every refused request, and asking the catalog would cost each of
    them a query or a write — the very cost this removes. With N web processes an address
    gets at most N rows per action and minute, a handful, which still shows who was
    refused, when and how often. Bounded: past ``size`` keys the longest-logged are
    forgotten, which only lets one more row through for them.
    """

    def __init__(self, *, every: timedelta = timedelta(minutes=1), size: int = 4096) -> None:
        self.every, self.size = every, size
        self._logged: OrderedDict[tuple[str, str], tuple[datetime, int]] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, str], now: datetime) -> int | None:
        """``None``: leave this refusal out; else log it, with the count left out before it."""
        with self._lock:
            last = self._logged.get(key)
            if last is not None and now - last[0] < self.every:
                self._logged[key] = (last[0], last[1] + 1)
                return None
            self._logged[key] = (now, 0)
            self._logged.move_to_end(key)
            while len(self._logged) > self.size:
                self._logged.popitem(last=False)
            return 0 if last is None else last[1]


def audit_refusal(
    request: Request,
    action: Action | str,
    /,
    *,
    target: str | None = None,
    who: str | None = None,
    **detail: Any,
) -> None:
    """:func:`audit` for a refused request nobody is signed in for, throttled (module docstring)."""
    throttle = state_once(request, "refusal_throttle", lambda _settings: RefusalThrottle())
    skipped = throttle.admit((client_ip(request) or "-", str(action)), now_of(request))
    if skipped is None:
        return
    if skipped:
        detail["skipped"] = skipped
    audit(request, action, target=target, who=who, **detail)


def audit_filter(
    settings: Settings,
    *,
    user: str | None = None,
    action: str | None = None,
    day_from: str | None = None,
    day_to: str | None = None,
) -> AuditFilter:
    """The filter for a form's fields; days are whole days in the office's time zone."""
    zone = ZoneInfo(settings.nightly.timezone)
    start = parse_optional_day(day_from, option="from")
    end = parse_optional_day(day_to, option="to")
    if start and end and start > end:
        raise InvalidRequestError("bad_period", start=str(start), end=str(end))
    return AuditFilter(
        user=(user or "").strip() or None,
        action=(action or "").strip() or None,
        since=start and datetime.combine(start, time(), zone),
        until=end and datetime.combine(end + timedelta(days=1), time(), zone),
    )


def read_log(request: Request, flt: AuditFilter, *, page: int, per_page: int) -> AuditPage:
    """One page of the log; reading it is itself logged (with the filter, not the results)."""
    found = audit_log.query(catalog_of(request), flt, page=page, per_page=per_page)
    audit(
        request,
        Action.AUDIT_VIEW,
        user=flt.user,
        action=flt.action,
        since=flt.since and flt.since.isoformat(),
        until=flt.until and flt.until.isoformat(),
        page=found.page,
    )
    return found


def office_zone(request: Request) -> ZoneInfo:
    """The office's time zone, in which pages show times."""
    return ZoneInfo(settings_of(request).nightly.timezone)
