"""The pipeline's attribute rules (POS, morphology, lemma exceptions), applied without a Matcher.

en_core_web_sm's `attribute_ruler` maps tags to POS and morphology through 179 Matcher patterns;
run as a pipe it took 1.4 s of an 11 s parse of 40 articles. Nearly all its patterns test one
token's tag, lower-case form or dependency label, so `AttributeRules` indexes them by those
values and checks only the few that can match each token. It writes the ruler's own normalised
attributes with spaCy's own setter, in the ruler's order (later rules win), so the result is the
ruler's: `tests/test_spacy_parse.py` compares them token by token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_FIELDS = ("TAG", "LOWER", "DEP", "IS_SPACE")  # every attribute the ruler's patterns test
_MEMO_LIMIT = 200_000

Check = Callable[[tuple[Any, ...]], bool]


@dataclass(frozen=True, slots=True)
class _Rule:
    group: int  # the ruler's pattern index: later groups win
    checks: tuple[Check, ...]  # one per token of the pattern


def _check(field: int, wanted: Any, text_of: Callable[[int], str]) -> Check:
    """A test of one token field (a hash, or 0/1 for IS_SPACE) against a pattern value."""
    if isinstance(wanted, dict):
        (op, value), = wanted.items()
        if op == "IN":
            allowed = frozenset(value)
            return lambda token: token[field] in allowed
        if op == "NOT_IN":
            refused = frozenset(value)
            return lambda token: token[field] not in refused
        if op == "REGEX":
            pattern = re.compile(value)
            return lambda token: pattern.search(text_of(token[field])) is not None
        raise ValueError(f"attribute rule operator {op!r} is not supported")
    return lambda token: token[field] == wanted


class AttributeRules:
    """The rules of a spaCy `AttributeRuler`, applied to a parsed Doc (see the module doc)."""

    def __init__(self, ruler: Any) -> None:
        strings = ruler.vocab.strings
        self._ruler = ruler
        self._by_tag: dict[int, list[_Rule]] = {}
        self._by_lower: dict[int, list[_Rule]] = {}
        self._anywhere: list[_Rule] = []
        self._longer: list[_Rule] = []  # rules over several tokens: few, checked everywhere
        self._memo: dict[tuple[int, ...], tuple[tuple[int, ...], tuple[_Rule, ...]]] = {}
        self._attrs: dict[tuple[int, ...], dict[Any, Any]] = {}
        for group, entry in enumerate(ruler.patterns):
            for pattern in entry["patterns"]:
                rule = _Rule(group, tuple(_token_check(spec, strings) for spec in pattern))
                if len(pattern) > 1:
                    self._longer.append(rule)
                else:
                    self._index(rule, pattern[0], strings)

    def _index(self, rule: _Rule, first: dict[str, Any], strings: Any) -> None:
        for name, index in (("TAG", self._by_tag), ("LOWER", self._by_lower)):
            wanted = first.get(name)
            if isinstance(wanted, str) or (isinstance(wanted, dict) and "IN" in wanted):
                for value in [wanted] if isinstance(wanted, str) else wanted["IN"]:
                    index.setdefault(strings[value] if value else 0, []).append(rule)
                return
        self._anywhere.append(rule)

    def _matched_by(self, token: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[_Rule, ...]]:
        """One-token rule groups that match `token`, and longer rules that may start at it."""
        found = self._memo.get(token)
        if found is None:
            if len(self._memo) > _MEMO_LIMIT:  # a long run meets ever more word forms
                self._memo.clear()
            candidates = (*self._by_tag.get(token[0], ()), *self._by_lower.get(token[1], ()), *self._anywhere)
            groups = tuple(r.group for r in candidates if r.checks[0](token))
            found = groups, tuple(r for r in self._longer if r.checks[0](token))
            self._memo[token] = found
        return found

    def __call__(self, doc: Any) -> Any:
        from spacy.tokens._retokenize import set_token_attrs

        tokens = [tuple(row) for row in doc.to_array(list(_FIELDS)).tolist()]
        groups: list[list[int]] = []
        later: list[tuple[int, _Rule]] = []
        for start, token in enumerate(tokens):
            one, longer = self._matched_by(token)
            groups.append(list(one))
            later += [(start, rule) for rule in longer]
        for start, rule in later:
            rest = tokens[start + 1 : start + len(rule.checks)]
            if len(rest) == len(rule.checks) - 1 and all(
                check(t) for check, t in zip(rule.checks[1:], rest, strict=True)
            ):
                index = self._ruler.indices[rule.group]  # which token of the match gets the attributes
                groups[start + (index if index >= 0 else len(rule.checks) + index)].append(rule.group)
        for i, found in enumerate(groups):
            if found:
                set_token_attrs(doc[i], self._merged(tuple(sorted(found))))
        return doc

    def _merged(self, groups: tuple[int, ...]) -> dict[Any, Any]:
        """The attributes of `groups` in the ruler's order: later rules win."""
        attrs = self._attrs.get(groups)
        if attrs is None:
            attrs = {}
            for group in groups:
                attrs.update(self._ruler.attrs[group])
            self._attrs[groups] = attrs
        return attrs


def _token_check(spec: dict[str, Any], strings: Any) -> Check:
    checks = [
        _check(_FIELDS.index(name), _hashed(name, wanted, strings), lambda key: strings[key])
        for name, wanted in spec.items()
    ]
    return lambda token: all(check(token) for check in checks)


def _hashed(name: str, wanted: Any, strings: Any) -> Any:
    """Pattern values as the hashes `Doc.to_array` returns ('' is 0); IS_SPACE stays 0/1."""
    if name == "IS_SPACE":
        return int(wanted)
    if isinstance(wanted, dict):
        (op, value), = wanted.items()
        if op == "REGEX":
            return wanted
        return {op: [strings[v] if v else 0 for v in value]}
    return strings[wanted] if wanted else 0
