"""propscope: read news articles and show, with evidence, how they try to persuade.

    >>> import propscope
    >>> result = propscope.analyze("article.txt")
    >>> [(s.technique, s.text) for s in result.techniques]
"""

from propscope.api import Failure, RunReport, analyze, load, run
from propscope.config import FieldMap, IngestOptions
from propscope.document import (
    SCHEMA,
    Annotations,
    Claim,
    Document,
    Entity,
    Evidence,
    Narrative,
    NarrativeLabel,
    Result,
    Span,
    TechniqueSpan,
)
from propscope.errors import (
    AnalyzerError,
    FetchError,
    IngestError,
    PropscopeError,
    SchemaError,
    SpanError,
    StoreError,
)
from propscope.pipeline import Pipeline
from propscope.registry import Analyzer, register

__version__ = "0.1.0"

__all__ = [
    "SCHEMA",
    "Analyzer",
    "AnalyzerError",
    "Annotations",
    "Claim",
    "Document",
    "Entity",
    "Evidence",
    "Failure",
    "FetchError",
    "FieldMap",
    "IngestError",
    "IngestOptions",
    "Narrative",
    "NarrativeLabel",
    "Pipeline",
    "PropscopeError",
    "Result",
    "RunReport",
    "SchemaError",
    "Span",
    "SpanError",
    "StoreError",
    "TechniqueSpan",
    "analyze",
    "load",
    "register",
    "run",
]
