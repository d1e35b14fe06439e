"""Corpus scale: shared passages (`find_reuse`), coordinated campaigns (`coordinate`), outlet
profiles (`build_profiles`). The CLI commands live in `commands.py`."""

from propscope.corpus.coordination import Campaign, CoordinationReport, coordinate
from propscope.corpus.durations import format_duration, parse_duration
from propscope.corpus.outlets import OutletProfile, build_profiles
from propscope.corpus.reuse import ReuseGroup, ReuseReport, find_reuse

__all__ = [
    "Campaign",
    "CoordinationReport",
    "OutletProfile",
    "ReuseGroup",
    "ReuseReport",
    "build_profiles",
    "coordinate",
    "find_reuse",
    "format_duration",
    "parse_duration",
]
