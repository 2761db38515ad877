"""How often a password may be guessed: :class:`LoginLimiter`, counted in the catalog.

Three limits, each a key of :mod:`catalog.sign_in`:

* **per (account, address)** — ``web.login_max_failures`` (5) in ``web.login_window_minutes``
  (15): whoever guesses one account from one place waits; the account's owner elsewhere
  (at the office) is not touched.
* **per account** — after ``web.login_account_failures`` (10) failures from anywhere within a
  day, every further one doubles the wait (``web.login_delay_seconds``, up to
  ``web.login_max_delay_minutes``): guesses spread over many addresses slow down to a few
  an hour, while the most a stranger can make the owner wait is the ceiling.
* **per address** — ``web.login_max_failures_per_ip`` (200) in the window, whatever the
  names: one source spraying names stops, an office behind one NAT address does not.

Why in the catalog and not in a process's memory: several web processes and machines serve
one province, and a limit each kept alone would multiply the guesses allowed; a restart
keeps them too. The client address is the peer's, or a configured proxy's
``X-Forwarded-For`` (:func:`web.deps.client_ip`): a header from anyone else is not believed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from catalog import sign_in
from catalog.database import Catalog
from schemas.settings import WebSettings

__all__ = ["ACCOUNT_MEMORY", "Attempt", "LoginLimiter"]

ACCOUNT_MEMORY = timedelta(hours=24)
"""How long an account's failures count towards its growing delay. Why longer than the
window: a delay that forgot the failures that earned it would start over at the first step
each time the window passed, and guesses spread out would never slow down."""
PAIR, ACCOUNT, ADDRESS = "pair", "name", "ip"
"""The kinds of key (:func:`catalog.sign_in.key_of`; first letters differ)."""


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt, its failure already reserved (:func:`catalog.sign_in.reserve`)."""

    keys: tuple[str, str, str]
    """The (account, address) pair's, the account's and the address's key."""
    rows: tuple[int, ...]
    """The rows reserved for it: they stay as its failure unless it signs in."""
    retry_after: int | None
    """Seconds to wait, when refused (its rows already taken back); ``None``: check it."""


class LoginLimiter:
    """Failed sign-ins per (account, address), per account and per address (module docstring).

    Args:
        web: the limits (``web.login_*``).
        catalog: returns the shared catalog (re-fetched, so a rebuilt one is picked up).
    """

    def __init__(self, web: WebSettings, catalog: Callable[[], Catalog]) -> None:
        self.window = timedelta(minutes=web.login_window_minutes)
        self.web = web
        self.catalog = catalog
        self.memory = {PAIR: self.window, ADDRESS: self.window}
        self.memory[ACCOUNT] = max(self.window, ACCOUNT_MEMORY)

    def _limits(self, keys: tuple[str, str, str]) -> list[sign_in.Limit]:
        pair, account, address = keys
        web = self.web
        return [
            sign_in.Limit(pair, web.login_max_failures, self.window),
            sign_in.Limit(address, web.login_max_failures_per_ip, self.window),
            sign_in.Limit(
                account,
                web.login_account_failures,
                self.memory[ACCOUNT],
                delay=timedelta(seconds=web.login_delay_seconds),
                ceiling=timedelta(minutes=web.login_max_delay_minutes),
            ),
        ]

    def attempt(self, name: str, ip: str | None, now: datetime) -> Attempt:
        """Reserve a failure for ``name`` from ``ip``, then see whether it may be checked.

        Reserving first is what makes the limit hold under concurrent guesses
        (:mod:`catalog.sign_in`): the password of a refused attempt is never checked.
        """
        address = ip or "-"
        keys = (
            sign_in.key_of(PAIR, f"{address}\n{name}"),  # an address never holds a newline
            sign_in.key_of(ACCOUNT, name),
            sign_in.key_of(ADDRESS, address),
        )
        catalog = self.catalog()
        rows = sign_in.reserve(catalog, keys, now, self.memory)
        wait = sign_in.wait(catalog, self._limits(keys), rows, now)
        if wait is not None:
            sign_in.release(catalog, rows)
        return Attempt(keys, rows, wait)

    def succeeded(self, attempt: Attempt) -> None:
        """A correct password: forget the account's and the pair's failures (not the
        address's, which other names may have earned) and this attempt's reservation."""
        pair, account, _ = attempt.keys
        sign_in.clear(self.catalog(), (pair, account), rows=attempt.rows)
