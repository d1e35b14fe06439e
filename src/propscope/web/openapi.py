"""Write the API's OpenAPI schema: `python -m propscope.web.openapi > docs/openapi.json`.

The committed docs/openapi.json is checked against this output by a test, so it stays current.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any


def schema() -> dict[str, Any]:
    """The schema of an app on a throw-away store (the schema does not depend on the data)."""
    from propscope.web.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(f"sqlite:///{Path(folder) / 'schema.db'}", require_tokens=False,
                         analyzers=["stats"])
        try:
            return app.openapi()
        finally:
            app.state.bench.close()


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
