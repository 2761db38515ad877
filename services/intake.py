"""The one entrance: a batch is received once, into the store's intake and the catalog.

Every source that hands sohoa a batch for workers on other machines (a web upload in
a province's set-up, ``sohoa ingest --queue``, the watched folder) calls :func:`receive`;
any worker then runs ``digitise_batch(batch_id=…)`` on it (:mod:`flows.digitise`).
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from catalog.database import open_catalog
from schemas.settings import Kind, Settings
from sohoa.errors import StorageError
from storage import inbox, intake
from storage.intake import Ticket
from storage.stores import open_store

__all__ = ["Ticket", "keep_here", "receive"]


def receive(
    paths: list[Path],
    settings: Settings,
    *,
    kind: Kind = "thanh-phan",
    unit: str | None = None,
    dossier_code: str | None = None,
    sender: str | None = None,
) -> Ticket:
    """Put the batch's originals and ticket into the store, and its row in the catalog.

    The same files with the same options are the same batch: sent again while it
    waits, nothing is stored twice; sent again once archived, a worker finds its
    records complete and only takes the ticket away (and marks the row archived).

    Raises:
        BadInputError, NotFoundError: a file is refused or missing; nothing is stored.
        StorageError: the store or the catalog cannot be reached; the sender keeps the
            files (a ticket written before a catalog failure still waits for a worker).
    """
    catalog = open_catalog(settings.resolved_catalog_url)
    options = {"kind": kind, "unit": unit or settings.default_unit, "dossier_code": dossier_code}
    store = open_store(settings)
    ticket = intake.submit(paths, settings, store, sender=sender, **options)
    catalog.upsert_batch(
        ticket.batch_id, status="waiting", reason=None, file_count=len(ticket.files), **options
    )
    return ticket


def keep_here(
    paths: list[Path],
    settings: Settings,
    error: StorageError,
    *,
    kind: Kind = "thanh-phan",
    unit: str | None = None,
    dossier_code: str | None = None,
) -> str:
    """The store (or the catalog) could not take the batch at the door (:func:`receive`
    raised ``error``): it waits in this machine's inbox instead, with a ``failed`` row
    saying why where the catalog can be reached, for the nightly run, a retry or the
    same files sent again. Returns the batch id. Only for a sender on a machine that
    digitises (``sohoa ingest``, the embedded web app); the caller holds the claim."""
    options = {"kind": kind, "unit": unit or settings.default_unit, "dossier_code": dossier_code}
    batch = inbox.receive(paths, settings, **options)
    with suppress(StorageError):
        open_catalog(settings.resolved_catalog_url).upsert_batch(
            batch.batch_id,
            status="failed",
            reason=error.render("en"),
            file_count=len(paths),
            **options,
        )
    return batch.batch_id
