"""Contact points: whom to ask about a harvested dataset, as vCard.

The DCAT reader keeps each ``dcat:contactPoint`` in the record
(``extra_data.contact_points``: ``iri``, ``name``, ``email``, ``url``). Each becomes a
node local to the record's document (``<doc#contact-1>``), a ``vcard:Kind`` — the class
DCAT-AP wants — and a ``schema:ContactPoint``, with its name (``vcard:fn``), e-mail
address (``vcard:hasEmail <mailto:…>``) and web page (``vcard:hasURL``).
"""

from __future__ import annotations

import re
from typing import Any

from . import multilingual
from .namespaces import DCAT, DCT, SCHEMA, VCARD
from .nodes import Context
from .record_values import as_list, objects
from .terms import InvalidTerm, iri, literal

FIELD = "contact_points"
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


def write_contact_points(ctx: Context, values: list[Any]) -> None:
    """Every contact point that gives a name, an e-mail address or a web page."""
    number = 0
    for value in objects(ctx, FIELD, "a contact point", values):
        emails = [e for e in (_email(ctx, v) for v in as_list(value.get("email"))) if e]
        pages = [p for p in (ctx.web_iri(FIELD, v) for v in as_list(value.get("url"))) if p]
        names = multilingual.texts(value.get("name"))
        if not (names or emails or pages):
            ctx.graph.warn(FIELD, f"contact point {value.get('iri') or number + 1} has no name, e-mail address or web page; dropped")
            continue
        number += 1
        node = ctx.local(f"contact-{number}")
        ctx.add(ctx.study, f"<{DCAT}contactPoint>", node)
        ctx.add(ctx.study, f"<{SCHEMA}contactPoint>", node)
        ctx.graph.typed(node, VCARD + "Kind", SCHEMA + "ContactPoint")
        source = value.get("iri")
        if isinstance(source, str) and source:
            ctx.add(node, f"<{DCT}identifier>", literal(source))
        multilingual.write(ctx, node, FIELD, value.get("name"), VCARD + "fn", SCHEMA + "name")
        for address in dict.fromkeys(emails):
            ctx.add(node, f"<{VCARD}hasEmail>", iri(f"mailto:{address}"))
            ctx.add(node, f"<{SCHEMA}email>", literal(address))
        for page in dict.fromkeys(pages):
            ctx.add(node, f"<{VCARD}hasURL>", page)
            ctx.add(node, f"<{SCHEMA}url>", page)


def _email(ctx: Context, value: Any) -> str | None:
    """The address of ``mailto:someone@example.org`` or of the bare address."""
    text = value.strip().removeprefix("mailto:") if isinstance(value, str) else ""
    if not _EMAIL.match(text):
        ctx.graph.warn(FIELD, f"not an e-mail address: {value!r}; dropped")
        return None
    try:
        iri(f"mailto:{text}")
    except InvalidTerm:
        ctx.graph.warn(FIELD, f"not an e-mail address: {value!r}; dropped")
        return None
    return text
