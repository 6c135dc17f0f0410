"""One way to declare a content-negotiated route.

Every document and feed URL answers in several formats, chosen by a suffix on the path
(``/items/x.ttl``, ``/catalog.jsonld``), then ``?format=``, then ``Accept``. Datasette's
route table is the model: a route is declared once, with :func:`negotiated_route`, and
``…/<key>`` and ``…/<key>.<suffix>`` (or ``/catalog`` and ``/catalog.ttl``) both reach its
view, which gets the key without the suffix and an :class:`Asked` that chooses the
format. A view that finds nothing fits lets :class:`~server.negotiation.NotAcceptable`
propagate: the route answers 406, listing what is on offer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request

from . import errors
from .negotiation import BY_SUFFIX, FORMATS, SUFFIX_RULE, Format, NotAcceptable, choose_format, split_suffix

#: The last variable of a rule (``/items/<slug>``), which carries the suffix when there is one.
_LAST_VARIABLE = re.compile(r"<(?:[^<>:]*:)?(?P<name>[^<>:]+)>$")
#: Methods of a negotiated route unless told otherwise.
READ_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Asked:
    """What a request to a negotiated route asks for.

    The format is chosen on demand rather than before the view runs: some answers come
    before any negotiation (a redirect to a key's canonical form, 410 for a deleted
    study, a refused ``?_profile=``), and they must not turn into a 406."""

    #: The format the path's suffix names, or None.
    suffix: Format | None

    def format(self, offered: tuple[Format, ...] = FORMATS, default_accept: str | None = None) -> Format:
        """The format to answer in: the suffix, else ``?format=``, else ``Accept`` (or
        *default_accept* when the request sends none); :class:`NotAcceptable` if none of
        *offered* fits."""
        accept = request.headers.get("Accept") or default_accept
        return choose_format(self.suffix, request.args.get("format"), accept, offered)


def negotiated_route(blueprint: Blueprint, rule: str, methods: tuple[str, ...] = READ_METHODS) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Register the decorated view for *rule* in every format.

    A rule ending in a variable (``/items/<slug>``) takes the suffix from that variable,
    which the view receives without it; any other rule (``/catalog``) is also registered
    with a suffix (``/catalog.ttl``). The view is called with its rule's variables and
    ``asked``; a :class:`NotAcceptable` it raises is answered 406."""
    keyed = _LAST_VARIABLE.search(rule)

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def negotiated(**values: Any) -> Response:
            if keyed is not None:
                values[keyed["name"]], suffix = split_suffix(values[keyed["name"]])
            else:
                ext = values.pop("ext", None)
                suffix = BY_SUFFIX[ext] if ext is not None else None
            try:
                return view(**values, asked=Asked(suffix))
            except NotAcceptable as error:
                return not_acceptable(error)

        blueprint.add_url_rule(rule, view_func=negotiated, methods=list(methods))
        if keyed is None:
            blueprint.add_url_rule(rule + SUFFIX_RULE, view_func=negotiated, methods=list(methods))
        return negotiated

    return decorate


def not_acceptable(error: NotAcceptable) -> Response:
    """406, listing every format on offer with its suffix and ``?format=`` name."""
    listing = "\n".join(f"{f.media_type} ({f.suffix}, ?format={f.name})" for f in error.offered)
    response = errors.plain(f"406 Not Acceptable: {error.reason}\nAvailable:\n{listing}\n", 406)
    response.headers["Vary"] = "Accept"
    return response
