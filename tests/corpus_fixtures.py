"""Helpers shared by the corpus tests: a planted synthetic corpus loaded into a store."""

from __future__ import annotations

from functools import cache

from propscope.corpus import synthetic
from propscope.document import Document
from propscope.store import Store

DOCS, OUTLETS, CAMPAIGNS, SEED = 300, 12, 12, 11


@cache
def corpus() -> synthetic.Corpus:
    return synthetic.generate(DOCS, OUTLETS, CAMPAIGNS, seed=SEED)


def documents(records: list[dict[str, str]] | None = None) -> list[Document]:
    return [
        Document(text=r["text"], title=r["title"], outlet=r["outlet"], url=r["url"], published=r["published"])
        for r in (records if records is not None else corpus().records)
    ]


def fill(store: Store, docs: list[Document] | None = None) -> dict[str, str]:
    """Save the corpus; returns url -> document id."""
    docs = docs if docs is not None else documents()
    store.save_documents(docs)
    return {str(d.url): d.id for d in docs}


def planted_ids(urls: dict[str, str], *kinds: str) -> list[frozenset[str]]:
    return [frozenset(urls[u] for u in p.documents) for p in corpus().of_kind(*kinds)]
