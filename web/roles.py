"""What each role may do, and the pages the navigation offers for it: the one table to change.

Routes ask for a :class:`Permission`, never for a role name
(``Depends(require(Permission.SEARCH))``), so moving a power from one role to
another is a one-line change here. The roles: a clerk uploads,
reviews and corrects; an auditor searches, views, verifies and reads reports
(read-only); an administrator manages users, units, settings and reads the audit
log. Administrators do not get the clerk's or auditor's powers (separation of
duties): a person who needs both has two accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from catalog.accounts import ROLES

__all__ = ["NAV", "ROLES", "ROLE_PERMISSIONS", "NavItem", "Permission", "permissions_of"]


class Permission(StrEnum):
    """One power a route can require."""

    UPLOAD = "upload"
    REVIEW = "review"
    CORRECT = "correct"
    SEARCH = "search"
    VIEW = "view"
    VERIFY = "verify"
    REPORTS = "reports"
    USERS = "users"
    UNITS = "units"
    SETTINGS = "settings"
    AUDIT = "audit"


ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    "clerk": frozenset({Permission.UPLOAD, Permission.REVIEW, Permission.CORRECT}),
    "auditor": frozenset(
        {Permission.SEARCH, Permission.VIEW, Permission.VERIFY, Permission.REPORTS}
    ),
    "admin": frozenset({Permission.USERS, Permission.UNITS, Permission.SETTINGS, Permission.AUDIT}),
}
assert set(ROLE_PERMISSIONS) == set(ROLES)


def permissions_of(role: str) -> frozenset[Permission]:
    """The powers of ``role`` (none for an unknown role)."""
    return ROLE_PERMISSIONS.get(role, frozenset())


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation and of the home page's list of what the role can do."""

    permission: Permission
    path: str
    """Where the page lives; shown as a link only once a route serves it."""
    label: str
    """Text key (``sohoa/messages.toml``) of the link."""
    description: str
    """Text key of the one-line description on the home page."""


NAV: tuple[NavItem, ...] = (
    NavItem(Permission.UPLOAD, "/upload", "web_nav_upload", "web_can_upload"),
    NavItem(Permission.UPLOAD, "/batches", "web_nav_batches", "web_can_batches"),
    NavItem(Permission.REVIEW, "/review", "web_nav_review", "web_can_review"),
    NavItem(Permission.SEARCH, "/search", "web_nav_search", "web_can_search"),
    NavItem(Permission.VERIFY, "/verify", "web_nav_verify", "web_can_verify"),
    NavItem(Permission.REPORTS, "/reports", "web_nav_reports", "web_can_reports"),
    NavItem(Permission.USERS, "/admin/users", "web_nav_users", "web_can_users"),
    NavItem(Permission.UNITS, "/admin/units", "web_nav_units", "web_can_units"),
    NavItem(Permission.SETTINGS, "/admin/settings", "web_nav_settings", "web_can_settings"),
    NavItem(Permission.AUDIT, "/admin/audit", "web_nav_audit", "web_can_audit"),
)
"""In display order. A clerk's correcting happens on the review page, an auditor's viewing
from search results, so those two powers have no entry of their own."""
