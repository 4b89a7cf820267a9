"""LangChain's SQL record manager: which chunk ids each corpus file produced, and when each
was last written. One namespace per collection, in data_dir/records.sqlite or the SQL
database at ``record_db_url``.

langchain-classic (with SQLAlchemy) is imported only by :func:`record_manager`: this
module's other helpers take the manager it returns.
"""

from __future__ import annotations

import logging

from app.config import Settings
from app.errors import ConfigError
from app.index.chroma import all_ids

log = logging.getLogger(__name__)

SQL_SLICE = 500  # ids per query: SQLite caps the number of variables in one


def record_manager(settings: Settings, collection: str):
    """The record manager of ``collection``, its schema created if need be."""
    from langchain_classic.indexes import SQLRecordManager

    try:
        manager = SQLRecordManager(namespace=f"chroma/{collection}", db_url=settings.record_db)
        manager.create_schema()
    except Exception as exc:  # a bad URL, a missing driver, an unreachable database
        if not settings.record_db_url:
            raise
        raise ConfigError(
            f"Cannot use the record manager database {settings.record_db_url} "
            f"({exc.__class__.__name__}: {exc}). Check PRIVACY_QA_RECORD_DB_URL (a SQLAlchemy "
            "URL; its driver must be installed) or unset it to use data_dir/records.sqlite."
        ) from exc
    return manager


def has_records(settings: Settings) -> bool:
    """Whether a record database exists (a shared one at ``record_db_url`` always may)."""
    return bool(settings.record_db_url) or settings.record_db_path.exists()


def slices(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + SQL_SLICE] for i in range(0, len(ids), SQL_SLICE)]


def count_recorded(records, ids: list[str]) -> int:
    """How many of ``ids`` the record manager knows."""
    return sum(sum(records.exists(part)) for part in slices(ids))


def stale_keys(records, scope: list[str] | None, before: float) -> list[str]:
    """Chunk ids recorded for ``scope`` (all sources if None) and not refreshed since."""
    if scope is None:
        return records.list_keys(before=before)
    keys: list[str] = []
    for part in slices(scope):
        keys += records.list_keys(group_ids=part, before=before)
    return keys


def forget_missing(collection, records) -> None:
    """Drop records of chunks the collection lacks (a run killed between deleting vectors and
    their records), so the indexing API embeds them again instead of skipping them."""
    present = set(all_ids(collection))
    missing = [key for key in records.list_keys() if key not in present]
    if missing:
        log.info("re-adding %d chunks an interrupted ingest deleted", len(missing))
        for part in slices(missing):
            records.delete_keys(part)


def unrecorded_ids(collection, records) -> list[str]:
    """Chunks no record claims: written by a run killed before it recorded them."""
    recorded = set(records.list_keys())
    return [id_ for id_ in all_ids(collection) if id_ not in recorded]


def forget_collection(settings: Settings, collection: str) -> None:
    """Delete every record of a dropped collection."""
    records = record_manager(settings, collection)
    records.delete_keys(records.list_keys())
