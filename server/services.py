"""What every view of the app shares: the store, its index, URLs, caches, settings.

One typed object per app, kept in ``app.extensions["studygraph"]`` by
:func:`server.app.create_app`, so that views are plain module functions of their
blueprints (testable, importable) instead of closures over ``create_app``'s locals.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.query_runner import QueryRunner
from studygraph.graph.search import CatalogueIndex
from studygraph.mappings.urls import Urls

from .cache import RepresentationCache
from .dump import DumpFiles
from .negotiation import Profile
from .prerender import BackgroundRenderer
from .settings import ServerSettings
from .void import VoidCache

if TYPE_CHECKING:  # server.sparql's blueprint reads these services: no import cycle at run time
    from .sparql import SparqlSettings

#: Key of the services in ``Flask.extensions``.
EXTENSION = "studygraph"


@dataclass(frozen=True)
class Services:
    store: Catalogue
    #: The search index beside the store (None: no listings).
    index: CatalogueIndex | None
    settings: ServerSettings
    urls: Urls
    #: Rendered representations by ETag.
    cache: RepresentationCache
    #: The profiles documents are offered in (server.negotiation.profiles).
    profiles: tuple[Profile, ...]
    #: Held by every write (the API, SPARQL Update, the Graph Store): one writer at a time.
    writes: threading.Lock
    #: Renders studies just written, ahead of their next visitor.
    renderer: BackgroundRenderer
    dumps: DumpFiles
    void: VoidCache
    sparql: SparqlSettings
    #: The SPARQL query pool (graph.query_pool); None: no /sparql.
    pool: QueryRunner | None = None

    def query_pool(self) -> QueryRunner:
        """The query pool, for the /sparql views: their blueprint is only registered with one."""
        if self.pool is None:
            raise RuntimeError("no SPARQL query pool: /sparql is not served by this app")
        return self.pool


def current_services() -> Services:
    """The services of the app handling the current request."""
    return current_app.extensions[EXTENSION]
