"""The web workbench and REST API behind `propscope serve`."""

from propscope.web.app import create_app

__all__ = ["create_app"]
