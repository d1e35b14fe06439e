"""Charts of outlet profiles: PNG and SVG (matplotlib, headless) plus Vega-Lite JSON for the web UI.

Each chart is written three ways from the same numbers: `.png` for reports, `.svg` for the web,
and `.vl.json`, a self-contained Vega-Lite spec (data inline) a page can render interactively.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and in CI
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from propscope.corpus.outlets import OutletProfile

VEGA_LITE = "https://vega.github.io/schema/vega-lite/v5.json"


def slug(name: str) -> str:
    """A file-name-safe form of an outlet name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "outlet"


def technique_chart(profiles: Sequence[OutletProfile], folder: Path, name: str) -> list[Path]:
    """Technique rates per 1,000 words, one bar group per technique, one colour per outlet."""
    rows: list[dict[str, Any]] = [
        {"outlet": p.outlet, "technique": t, "rate": r}
        for p in profiles
        for t, r in p.technique_rates().items()
    ]
    techniques: list[str] = sorted({str(r["technique"]) for r in rows}) or ["(no techniques found)"]
    figure, axes = plt.subplots(figsize=(9, 0.4 * len(techniques) + 1.5))
    height = 0.8 / max(len(profiles), 1)
    for i, profile in enumerate(profiles):
        rates = profile.technique_rates()
        positions = [t + i * height for t in range(len(techniques))]
        axes.barh(positions, [rates.get(t, 0.0) for t in techniques], height, label=profile.outlet)
    axes.set_yticks([t + 0.4 - height / 2 for t in range(len(techniques))], techniques)
    axes.set_xlabel("techniques per 1,000 words")
    axes.legend(loc="best", fontsize="small")
    spec = _vega_bars(rows, "rate", "technique", "techniques per 1,000 words")
    return _save(figure, folder, name, spec)


def month_chart(profile: OutletProfile, folder: Path, name: str) -> list[Path]:
    """Articles per month and the technique rate per month of one outlet."""
    months = profile.to_json()["months"]
    labels = [m["month"] for m in months]
    figure, axes = plt.subplots(figsize=(9, 3.5))
    axes.bar(labels, [m["articles"] for m in months], color="#9db4d0", label="articles")
    axes.set_ylabel("articles")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="x", rotation=45)
    rate = axes.twinx()
    rate.plot(labels, [m["technique_rate"] for m in months], color="#b03a2e", marker="o")
    rate.set_ylabel("techniques per 1,000 words")
    rate.set_ylim(bottom=0)
    axes.set_title(profile.outlet)
    spec = _vega_months(months, profile.outlet)
    return _save(figure, folder, name, spec)


def _save(figure: Any, folder: Path, name: str, spec: dict[str, Any]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    paths = [folder / f"{name}.png", folder / f"{name}.svg", folder / f"{name}.vl.json"]
    figure.savefig(paths[0], dpi=120)
    figure.savefig(paths[1])
    plt.close(figure)
    paths[2].write_text(json.dumps(spec, indent=1))
    return paths


def _vega_bars(rows: list[dict[str, Any]], x: str, y: str, title: str) -> dict[str, Any]:
    return {
        "$schema": VEGA_LITE,
        "data": {"values": rows},
        "mark": "bar",
        "encoding": {
            "x": {"field": x, "type": "quantitative", "title": title},
            "y": {"field": y, "type": "nominal"},
            "yOffset": {"field": "outlet"},
            "color": {"field": "outlet", "type": "nominal"},
        },
    }


def _vega_months(months: list[dict[str, Any]], outlet: str) -> dict[str, Any]:
    base = {"x": {"field": "month", "type": "ordinal"}}
    return {
        "$schema": VEGA_LITE,
        "title": outlet,
        "data": {"values": months},
        "layer": [
            {"mark": "bar", "encoding": {**base, "y": {"field": "articles", "type": "quantitative"}}},
            {
                "mark": {"type": "line", "color": "#b03a2e", "point": True},
                "encoding": {**base, "y": {"field": "technique_rate", "type": "quantitative"}},
            },
        ],
        "resolve": {"scale": {"y": "independent"}},
    }
