"""Text in several languages: how a record holds it and how the graph gets it.

A text field of a record (a study's name and description, a distribution's title, a
contact point's name) holds one text, or — when the source published it in several
languages — a list in JSON-LD's own form: each entry a plain string (no language given)
or a value object ``{"@value": text, "@language": tag}``. The graph gets one literal per
language, each with its tag; a text published without a tag stays without one (no tag
is ever guessed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .nodes import Context
from .terms import literal


@dataclass(frozen=True)
class Text:
    """One text and the language it is in (None: not said)."""

    value: str
    language: str | None = None

    def record_form(self) -> str | dict[str, str]:
        return self.value if self.language is None else {"@value": self.value, "@language": self.language}


def texts(value: Any) -> list[Text]:
    """The non-empty texts of a record value: a string, a value object or a list of them."""
    found: dict[Text, None] = {}
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            text = Text(item)
        elif isinstance(item, dict) and isinstance(item.get("@value"), str):
            tag = item.get("@language")
            text = Text(item["@value"], tag if isinstance(tag, str) and tag else None)
        else:
            continue
        if text.value.strip():
            found[text] = None
    return list(found)


def primary(value: Any) -> str | None:
    """The one text that stands for a value where only one fits (a key, a search title,
    a page without a language asked for): the text without a tag, else the first."""
    found = texts(value)
    if not found:
        return None
    return next((t for t in found if t.language is None), found[0]).value.strip()


def record_value(found: list[Text]) -> str | list[str | dict[str, str]]:
    """The record form of texts: a plain string for a single untagged text (the form every
    other reader gives), else the JSON-LD list, so no tag is lost."""
    if len(found) == 1 and found[0].language is None:
        return found[0].value
    return [text.record_form() for text in found]


def write(ctx: Context, subject: str, field_name: str, value: Any, *predicates: str) -> list[Text]:
    """Write the texts of *value* about *subject* with each predicate, one per language
    (the first text of a language wins; later ones are dropped with a warning naming
    *field_name*). Returns the texts written."""
    written: list[Text] = []
    languages: set[str | None] = set()
    for text in texts(value):
        tag = text.language.lower() if text.language else None
        if tag in languages:
            ctx.graph.warn(field_name, f"a second text in {_language_name(tag)} dropped: {text.value[:60]!r}")
            continue
        try:
            term = literal(text.value, language=tag)
        except ValueError as error:
            ctx.graph.warn(field_name, f"language tag {text.language!r} is not valid ({error}); {text.value[:60]!r} dropped")
            continue
        languages.add(tag)
        written.append(text)
        for predicate in predicates:
            ctx.add(subject, f"<{predicate}>", term)
    return written


def _language_name(tag: str | None) -> str:
    return f"language {tag!r}" if tag else "no language"
