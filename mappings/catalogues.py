"""What we know about the catalogues records come from, beyond what a record says.

A record's ``includedInDataCatalog.url`` points at the study's page in that catalogue,
not at the catalogue, and ``extra_data.source`` is a short code. This table gives each
known catalogue its name and homepage so catalogue and source nodes are labelled and
linked the same way in every record.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownCatalogue:
    code: str
    name: str
    homepage: str
    aliases: tuple[str, ...] = ()


KNOWN_CATALOGUES: tuple[KnownCatalogue, ...] = (
    KnownCatalogue("ukds", "UK Data Service", "https://ukdataservice.ac.uk/"),
    KnownCatalogue("mhc", "Catalogue of Mental Health Measures", "https://www.cataloguementalhealth.ac.uk/"),
    KnownCatalogue("closer", "CLOSER", "https://closer.ac.uk/", ("CLOSER Discovery",)),
    KnownCatalogue("cls", "Centre for Longitudinal Studies", "https://cls.ucl.ac.uk/"),
    KnownCatalogue("adruk", "ADR UK", "https://www.adruk.org/", ("Administrative Data Research UK",)),
    KnownCatalogue(
        "hdruk", "Health Data Research Innovation Gateway", "https://healthdatagateway.org/", ("HDR UK",)
    ),
    KnownCatalogue(
        "ukllc", "UK Longitudinal Linkage Collaboration: UK LLC", "https://ukllc.ac.uk/", ("UK LLC",)
    ),
    KnownCatalogue(
        "matilda",
        "The Matilda Centre for Research in Mental Health and Substance Use at the University of Sydney",
        "https://www.sydney.edu.au/matilda-centre/",
    ),
)

_BY_CODE = {c.code: c for c in KNOWN_CATALOGUES}
_BY_NAME = {n.casefold(): c for c in KNOWN_CATALOGUES for n in (c.name, *c.aliases)}


def by_code(code: str) -> KnownCatalogue | None:
    return _BY_CODE.get(code.strip().lower())


def by_name(name: str) -> KnownCatalogue | None:
    return _BY_NAME.get(name.strip().casefold())
