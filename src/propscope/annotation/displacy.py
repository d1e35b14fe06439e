"""displaCy: the manual-mode span JSON that `spacy.displacy.render(docs, style="span",
manual=True)` draws, for a quick look at the model's spans in a notebook or a page.

displaCy draws spans over tokens, so each span gets the tokens it touches (`start_token`,
`end_token`, end exclusive) beside its exact character offsets (`start`, `end`); a span that
ends inside a word is drawn over the whole word. Tokens are words and single punctuation
marks. Labels are flat, as in doccano: technique names, `claim`, `actor:ROLE`; `render_options()`
gives their colours. View-only: nothing reads this format back.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any

from propscope.annotation import _common as common
from propscope.document import Result
from propscope.render import technique_info

_TOKEN = re.compile(r"\w+|[^\w\s]")
_OTHER_COLOURS = {"claim": "#56B4E9", "actor:blamed": "#D55E00", "actor:authority": "#0072B2"}
_DEFAULT_COLOUR = "#BBBBBB"


def export_json(results: Iterable[Result]) -> bytes:
    """A JSON list of displaCy span documents, one per result."""
    return common.json_bytes([document(result) for result in results])


def document(result: Result) -> dict[str, Any]:
    """One displaCy span document: text, tokens, spans over them, and an escaped title.

    displaCy writes `title` into its HTML unescaped, so it is escaped here: an article's title
    is untrusted text and must not become markup in the rendered page.
    """
    doc = result.document
    bounds = [(m.start(), m.end()) for m in _TOKEN.finditer(doc.text)]
    starts, ends = [b[0] for b in bounds], [b[1] for b in bounds]
    spans = []
    for span in common.model_spans(result):
        first, last = bisect_right(ends, span.start), bisect_left(starts, span.end)
        if first < last:  # a span over whitespace alone has no token to draw it on
            label = common.flat_label(span)
            tokens = {"start_token": first, "end_token": last}
            spans.append({"start": span.start, "end": span.end, **tokens, "label": label})
    return {
        "text": doc.text,
        "spans": spans,
        "tokens": [doc.text[a:b] for a, b in bounds],
        "title": html.escape(doc.title) if doc.title else None,
        "settings": {"lang": doc.language or "en", "direction": "ltr"},
    }


def render_options() -> dict[str, Any]:
    """displaCy's `options` for these labels: a colour per label (displaCy keys them upper-case)."""
    colours = {name.upper(): technique_info(name).colour for name in common.LABELS["technique"]}
    for label in common.flat_labels()[len(colours) :]:
        colours[label.upper()] = _OTHER_COLOURS.get(label, _DEFAULT_COLOUR)
    return {"colors": colours}
