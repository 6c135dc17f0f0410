"""Pulling other catalogues in: ``studygraph harvest`` without the command line.

:mod:`.run` runs one harvest (:func:`harvest.run.harvest`) through the one loader of
:mod:`graph.loader`. One module per kind of source: :mod:`.catalog` (DCAT catalogue
pages), :mod:`.sitemap`, :mod:`.changes` (another studygraph's change feed) and
:mod:`.sparql` (a SPARQL endpoint); :mod:`.rdf` parses what they fetch. Fetching within
limits is :mod:`.fetch`, over an injectable :mod:`.transport`, reading bodies with
:mod:`.body`, on the origins :mod:`.scope` allows; :mod:`.walk` reads each page once;
:mod:`.report`, :mod:`.errors` and :mod:`.state` (kept in the catalogue's shared values) are what a
harvest says and keeps.

Layering: this package uses :mod:`graph` and :mod:`mappings`; the ``studygraph`` shell
wires it to the command line, and nothing here imports the shell or the server.
"""
