"""Batch analysis of a corpus: the pipeline mapped over partitions, locally or on Ray.

`run_batch` ingests the inputs into the store, works out which documents still lack a result from
every analyser of the pipeline *at its current version*, and hands only those to the engine. So a
batch killed midway and started again skips what it finished, and re-running after a model update
analyses everything again under the new version without touching the old rows. This package only
schedules work: the analysis itself is `Pipeline.analyze_batch`, the storage `Store.save`.
"""

from propscope.batch.run import BatchReport, run_batch

__all__ = ["BatchReport", "run_batch"]
