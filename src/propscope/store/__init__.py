"""The store: documents and analyses in SQLite (embedded default) or PostgreSQL.

`Store.open(url)` connects and applies the Alembic migrations shipped in `migrations/`; see
`store.py` for the upsert, versioning and transaction guarantees.
"""

from propscope.store.human import AddedLayer
from propscope.store.store import DocumentSummary, FailureLike, Sighting, Store, StoredFailure

__all__ = ["AddedLayer", "DocumentSummary", "FailureLike", "Sighting", "Store", "StoredFailure"]
