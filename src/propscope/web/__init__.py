"""The web workbench and REST API behind `propscope serve`.

`create_app` is imported on first use: the CLI imports `web.commands` (and so this package) on
every run, and FastAPI would add most of a second to `propscope analyze` start-up.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from propscope.web.app import create_app

        return create_app
    raise AttributeError(f"module 'propscope.web' has no attribute {name!r}")
