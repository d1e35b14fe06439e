"""Writes labelstudio_server_export.json with a real Label Studio server (not run by the tests).

Start Label Studio 1.23.2 in its own virtual environment (it pins Django and numpy versions of
its own), on the loopback address only:

    python -m venv LSVENV && LSVENV/bin/pip install label-studio==1.23.2
    LABEL_STUDIO_BASE_DATA_DIR=DATA LSVENV/bin/label-studio start --no-browser --host 127.0.0.1 \
        --port 18080 --username reviewer@example.org --password reviewpass123 --user-token TOKEN
    # Label Studio 1.23 turns the legacy API tokens off; turn them on for the organisation:
    echo 'from jwt_auth.models import JWTSettings; from organizations.models import Organization
    [JWTSettings.objects.update_or_create(organization=o, defaults={"legacy_api_tokens_enabled": True})
     for o in Organization.objects.all()]' | (cd LSVENV/lib/python3.11/site-packages/label_studio &&
        LABEL_STUDIO_BASE_DATA_DIR=DATA ../../../../bin/python manage.py shell)
    python tests/data/annotation/make_labelstudio_export.py http://127.0.0.1:18080 TOKEN

The script makes a project with propscope's labelling config, imports propscope's tasks (the
model's spans as predictions), posts what a reviewer does in the editor through the REST API
(task 1: one technique relabelled and widened, the claim deleted; task 2: the predictions kept;
task 3: skipped), and saves Label Studio's own JSON export of the project.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from propscope.annotation import labelstudio
from propscope.document import Annotations, Claim, Document, Entity, Result, Span, TechniqueSpan

HERE = Path(__file__).parent
TEXTS = (
    (
        "Crowds 🙂 gathered. The mayor calls protesters traitors.\r\nTrade fell 40% last year.",
        "Harbour",
        ("traitors", "Name_Calling,Labeling"),
        "Trade fell 40% last year.",
        "protesters",
    ),
    (
        "Every true patriot will back the plan. The minister said the budget doubled.",
        "Patriots",
        ("Every true patriot", "Flag-Waving"),
        "The minister said the budget doubled.",
        "minister",
    ),
    (
        "The council hides its minutes. Doubt grows.",
        "Council",
        ("hides its minutes", "Doubt"),
        "Doubt grows.",
        "council",
    ),
)


def at(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def result(text: str, title: str, technique: tuple[str, str], claim: str, actor: str) -> Result:
    s, e = at(text, technique[0])
    c, d = at(text, claim)
    a, b = at(text, actor)
    annotations = Annotations(
        techniques=(TechniqueSpan(s, e, text[s:e], technique[1], 0.8123),),
        claims=(Claim(c, d, text[c:d], 0.71),),
        entities=(Entity(actor.title(), "NORP", (Span(a, b, text[a:b]),), role="blamed"),),
    )
    return Result(Document(text=text, title=title), annotations, {"techniques": "techniques.v1"})


def reviewed(task: dict[str, Any]) -> list[dict[str, Any]]:
    """Task 1's regions after review: the technique widened to "calls protesters traitors" and
    relabelled Loaded_Language, the claim deleted, the actor kept."""
    regions = copy.deepcopy(task["predictions"][0]["result"])
    text = task["data"]["text"]
    technique = next(r for r in regions if r["from_name"] == "technique")
    start, end = at(text, "calls protesters traitors")
    technique["value"].update(start=start, end=end, text=text[start:end], labels=["Loaded_Language"])
    technique.pop("score", None)
    return [r for r in regions if r["from_name"] != "claim"]


def main(url: str, token: str) -> None:
    client = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=60)
    project = client.post(
        "/api/projects", json={"title": "propscope review", "label_config": labelstudio.label_config()}
    )
    project.raise_for_status()
    pid = project.json()["id"]
    tasks = json.loads(labelstudio.export_tasks([result(*t) for t in TEXTS]))
    client.post(f"/api/projects/{pid}/import", json=tasks).raise_for_status()
    stored = client.get("/api/tasks", params={"project": pid}).json()
    stored = sorted(stored["tasks"] if isinstance(stored, dict) else stored, key=lambda t: t["id"])
    first, second, third = (client.get(f"/api/tasks/{t['id']}").json() for t in stored)
    posts = [
        (first, {"result": reviewed(first), "lead_time": 41.2}),
        (second, {"result": second["predictions"][0]["result"], "lead_time": 8.0}),
        (third, {"result": [], "was_cancelled": True, "lead_time": 2.5}),
    ]
    for task, body in posts:
        client.post(f"/api/tasks/{task['id']}/annotations", json=body).raise_for_status()
    export = client.get(f"/api/projects/{pid}/export", params={"exportType": "JSON"})
    export.raise_for_status()
    out = HERE / "labelstudio_server_export.json"
    out.write_bytes(export.content)  # as the server sent it
    print(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
