"""Candidate pairs aligned on a Ray cluster: the step of `find_reuse` whose work grows with the
number of candidate pairs and needs the documents' text, so the one worth spreading over
machines. Hashing stays incremental in the store and candidate generation is numpy over the
fingerprint arrays (12 bytes a fingerprint: ~2 GB at a million articles), both on the driver.

Each task gets a block of (owner id, other id) pairs, the store URL and the hashes that may not
seed an alignment (shared once through Ray's object store), opens the store itself, fetches the
texts and returns its records; the driver stores them. Only ids and records travel.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from propscope.batch.ray_engine import import_ray
from propscope.corpus import verify
from propscope.store import Store

IN_FLIGHT_PER_WORKER = 2  # blocks queued per worker: keeps every worker busy, bounds driver memory


def align_on_ray(
    store: Store, blocks: Sequence[Sequence[verify.Pair]], hashes: verify.Hashes, engine: verify.Engine
) -> Iterator[list[tuple[str, verify.Record]]]:
    """Each block's `verify.align_block` result, run as Ray tasks, in the order they finish."""
    ray = import_ray(engine.address)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=engine.address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    try:
        task = ray.remote(num_cpus=1)(_align_block)
        url = store.engine.url.render_as_string(hide_password=False)
        shared = ray.put(hashes)
        limit = IN_FLIGHT_PER_WORKER * (engine.workers or int(ray.cluster_resources().get("CPU", 1)))
        queue = list(blocks)
        pending: list[Any] = []
        while queue or pending:
            while queue and len(pending) < limit:
                pending.append(task.remote(url, queue.pop(0), shared))
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started_here:
            ray.shutdown()


def _align_block(
    url: str, block: Sequence[verify.Pair], hashes: verify.Hashes
) -> list[tuple[str, verify.Record]]:
    """One block, in a Ray worker: its own connection to the store."""
    with Store.open(url) as store:
        return verify.align_block(store, block, hashes)
