"""Corpus scale: shared passages found by alignment (`find_reuse`), coordinated campaigns
(`coordinate`), outlet profiles (`build_profiles`). The CLI commands live in `commands.py`."""

from propscope.corpus.coordination import Campaign, CoordinationReport, coordinate
from propscope.corpus.durations import format_duration, parse_duration
from propscope.corpus.outlets import OutletProfile, build_profiles
from propscope.corpus.reuse import Boilerplate, Member, ReuseGroup, ReuseReport, find_reuse
from propscope.corpus.verify import Engine

__all__ = [
    "Boilerplate",
    "Campaign",
    "CoordinationReport",
    "Engine",
    "Member",
    "OutletProfile",
    "ReuseGroup",
    "ReuseReport",
    "build_profiles",
    "coordinate",
    "find_reuse",
    "format_duration",
    "parse_duration",
]
