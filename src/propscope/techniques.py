"""The 14 propaganda techniques of SemEval-2020 Task 11, kept as data: names spelt exactly as the
shared task spells them (they are the model's labels and the scorer's classes), with a human
label, a definition and an invented example for the UI and the terminal legend.

Colours come from the Okabe-Ito and Paul Tol "muted" palettes, chosen because they stay
distinguishable under the common colour-vision deficiencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Technique:
    """One technique: SemEval name, human label, what it is, an invented example, a colour."""

    name: str
    label: str
    definition: str
    example: str
    colour: str


TECHNIQUES: tuple[Technique, ...] = (
    Technique(
        "Appeal_to_Authority", "Appeal to authority",
        "Presents a claim as true because an expert, official or institution said so, "
        "without further evidence.",
        "Leading scientists agree the new policy is the only sensible choice.",
        "#0072B2",
    ),
    Technique(
        "Appeal_to_fear-prejudice", "Appeal to fear or prejudice",
        "Builds support for an idea by stoking anxiety, panic or hostility towards an "
        "alternative or a group.",
        "If we let them in, our towns will never be safe again.",
        "#D55E00",
    ),
    Technique(
        "Bandwagon,Reductio_ad_hitlerum", "Bandwagon or Reductio ad Hitlerum",
        "Urges joining in because everyone else does, or rejects an idea because a hated "
        "group supports it.",
        "Millions have already switched; only extremists still defend the old plan.",
        "#CC79A7",
    ),
    Technique(
        "Black-and-White_Fallacy", "Black-and-white fallacy",
        "Presents two options as the only ones possible, hiding every alternative.",
        "Either you back the minister or you side with the criminals.",
        "#332288",
    ),
    Technique(
        "Causal_Oversimplification", "Causal oversimplification",
        "Blames a complex outcome on a single cause.",
        "Prices rose for one reason only: the new mayor.",
        "#999933",
    ),
    Technique(
        "Doubt", "Doubt",
        "Questions the credibility of someone or something without substance.",
        "Can anyone really trust a council that hides its own minutes?",
        "#88CCEE",
    ),
    Technique(
        "Exaggeration,Minimisation", "Exaggeration or minimisation",
        "Makes something look far larger, better or worse than it is, or downplays it.",
        "The protest was the biggest catastrophe in the nation's history.",
        "#E69F00",
    ),
    Technique(
        "Flag-Waving", "Flag-waving",
        "Justifies an idea by appeal to national or group pride and identity.",
        "Every true patriot will stand behind our brave decision.",
        "#009E73",
    ),
    Technique(
        "Loaded_Language", "Loaded language",
        "Uses words with strong emotional charge to sway the reader.",
        "The shameful, reckless scheme was rammed through overnight.",
        "#F0E442",
    ),
    Technique(
        "Name_Calling,Labeling", "Name calling or labelling",
        "Attaches an insulting or admiring label to a person or group instead of arguing.",
        "The so-called experts, a gang of crooks, signed off on it.",
        "#56B4E9",
    ),
    Technique(
        "Repetition", "Repetition",
        "Repeats the same message or phrase so that the audience comes to accept it.",
        "They lied. They lied again. They will always have lied.",
        "#882255",
    ),
    Technique(
        "Slogans", "Slogan",
        "A brief, striking phrase that works as a rallying cry, often with labels or stereotypes.",
        "Safe streets, strong borders!",
        "#AA4499",
    ),
    Technique(
        "Thought-terminating_Cliches", "Thought-terminating cliché",
        "A stock phrase that discourages further thought on the matter.",
        "It is what it is; nothing more to discuss.",
        "#117733",
    ),
    Technique(
        "Whataboutism,Straw_Men,Red_Herring", "Whataboutism, straw man or red herring",
        "Deflects criticism by pointing at the critic's own faults, distorts the opposing "
        "view, or changes the subject.",
        "Why worry about our emissions when other countries pollute far more?",
        "#DDCC77",
    ),
)

NAMES: tuple[str, ...] = tuple(t.name for t in TECHNIQUES)

BY_NAME = MappingProxyType({t.name: t for t in TECHNIQUES})


def technique(name: str) -> Technique:
    """The technique called `name` (a SemEval class name); KeyError names the valid ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown technique {name!r}; known: {', '.join(NAMES)}") from None
