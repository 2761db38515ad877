"""Open the object store the settings name: the local directory or S3/MinIO."""

from __future__ import annotations

from storage.localstore import LocalObjectStore
from storage.objectstore import ObjectStore, RetentionRule


def open_store(settings) -> ObjectStore:
    """Build the store selected by ``settings.store.backend``."""
    if settings.store.backend == "s3":
        from storage.s3store import S3ObjectStore  # minio loads only when S3 is used

        return S3ObjectStore.from_settings(settings.store)
    retention = RetentionRule.from_settings(settings.store)
    return LocalObjectStore(settings.local_store_root, retention=retention)
