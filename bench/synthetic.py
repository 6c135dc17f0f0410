"""Seeded generator of synthetic Harmony study records, shaped like the real ones.

Benchmarks need catalogues far bigger than the 42 real records we may read (and may not
copy), yet the load, mapping and query costs depend on the *shape* of the data: how many
optional fields a record carries, how long its text is, and above all how much the linked
nodes (keywords, organisations, catalogues) are shared between records. So this module
reproduces what was measured on ``/work/shared/records/harmony-*.jsonl``:

* the records fall into kinds that follow their source catalogue (a UK Data Service study
  carries a sponsor and HASSET-style upper-case keywords, a Catalogue of Mental Health
  Measures study carries funder, publisher, image, licence and an AI summary, a CLOSER
  dataset is a child of a cohort study and inherits its keywords, ...); the presence rate
  of each field per kind is the rate measured in the real records of that source, so the
  overall rates (``REAL_PRESENCE``) come out right *and* stay correlated as in reality;
* keywords come from one shared vocabulary and organisations from one shared pool, both
  drawn with a Zipf skew, so popular ones recur across many records;
* the published oddities are kept at their real rates: empty and malformed URLs, DOIs
  bare / ``http://dx.doi.org/`` / ``https://doi.org/`` / percent-encoded, ``"UK"`` as a
  country code, every ``temporalCoverage`` form, HTML and newlines in free text;
* children carry their parent's record in ``ancestors`` (the parent is a record emitted
  earlier in the same stream, in the slimmed form the real files use), so ``isPartOf``
  forms trees: mostly of depth one as in the real data, now and then deeper, when a child
  dataset itself gets children (``ancestors`` then lists the nearest parent first).

Output is deterministic for a seed (one ``random.Random(seed)``), streaming (memory does
not grow with N: only a handful of recent parents are kept; about 20 MB RSS) and fast
(100k records, about 480 MB of JSON Lines, in about 10 s).

It is development tooling, not part of the product: ``studygraph demo`` serves 300
records made with it once and shipped as ``studygraph/examples/demo.jsonl.gz``.

Usage::

    python bench/generate.py N [--seed 1] [--out FILE.jsonl|-]

writes N JSON lines ``{"record": {...}}`` -- the line format of the real record files.
From Python, with ``bench/`` on ``sys.path`` (the bench scripts and the tests put it there)::

    from synthetic import generate
    for record in generate(1000, seed=1): ...   # yields the bare record dicts
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

Record = dict[str, Any]

# --------------------------------------------------------------------------------------
# What was measured on the 42 real records (numbers only; no record content is copied).
# --------------------------------------------------------------------------------------

#: Share of real records in which a field is present and non-empty. ``ds.`` is a key of
#: ``dataset_schema``, ``ed.`` of ``extra_data``, no prefix a top-level key.
REAL_PRESENCE: Mapping[str, float] = {
    "ds.keywords": 39 / 42,
    "ds.identifier": 23 / 42,
    "ds.temporalCoverage": 40 / 42,
    "ds.includedInDataCatalog": 30 / 42,
    "ds.size": 30 / 42,
    "ds.creator": 26 / 42,
    "ds.publisher": 19 / 42,
    "ds.image": 19 / 42,
    "ds.license": 18 / 42,
    "ds.funder": 16 / 42,
    "ds.sponsor": 7 / 42,
    "ds.variableMeasured": 6 / 42,
    "ds.copyrightHolder": 4 / 42,
    "ed.data_access": 25 / 42,
    "ed.ai_summary": 18 / 42,
    "ed.study_design": 19 / 42,
    "ed.end_year": 20 / 42,
    "ed.duration_years": 8 / 42,
    "ed.sample_size": 30 / 42,
    "ed.age_lower": 13 / 42,
    "ed.num_sweeps": 12 / 42,
    "ancestors": 13 / 42,
    "child_datasets": 5 / 42,
}

#: Sorted description lengths (characters) of the real records that are not CLOSER
#: child datasets (those repeat their name as description), stretched to the documented
#: extremes 26 and 5,690. Sampled as an empirical inverse CDF.
DESCRIPTION_LENGTHS: Sequence[int] = (
    26, 35, 195, 228, 309, 356, 356, 356, 375, 400, 411, 448, 494, 497, 549, 583, 627,
    650, 683, 731, 738, 740, 846, 1286, 1468, 1675, 1818, 2610, 3061, 4604, 4729, 5690,
)
DESCRIPTION_MIN, DESCRIPTION_MAX = 26, 5690

#: Keyword counts per record, by kind (UK Data Service studies have a heavy tail).
UKDS_KEYWORD_COUNTS: Sequence[int] = (0, 17, 36, 44, 58, 68, 110, 211)
MHC_KEYWORD_COUNTS: Sequence[int] = (6, 6, 7, 7, 8, 10, 10, 11, 11, 12, 12, 13, 14, 14, 14, 17, 18, 19)
ADRUK_KEYWORD_COUNTS: Sequence[int] = (6, 7, 12)
#: Variables per dataset where ``variableMeasured`` is given.
VARIABLE_COUNTS: Sequence[int] = (1, 4, 17, 30, 31, 32)

# Zipf exponents: with s = 1 over a few thousand terms the most popular keyword lands in
# about two records of three, as 'Socioeconomic status and deprivation' does (26 of 42).
KEYWORD_ZIPF_S = 1.0
ORGANISATION_ZIPF_S = 1.1
KEYWORD_VOCABULARY_SIZE = 4000
ORGANISATION_POOL_SIZE = 3000

# Trees: a share of studies becomes a cohort parent; the last few parents receive the
# children (CLOSER datasets, some UKDS datasets). A handful of parents alive at once gives
# each one about three to four children, as SWS/HCS/NCDS have in the real files.
PARENT_ENTRY_RATE = 0.1
PARENT_POOL_SIZE = 4
CHILD_BECOMES_PARENT_RATE = 0.05  # gives the occasional depth-two chain

# --------------------------------------------------------------------------------------
# Word banks for names, text and the shared pools (generic, invented).
# --------------------------------------------------------------------------------------

TOPICS: Sequence[str] = (
    "health", "education", "housing", "employment", "income", "wellbeing", "ageing",
    "diet", "nutrition", "sleep", "smoking", "alcohol use", "physical activity",
    "mental health", "depression", "anxiety", "loneliness", "social isolation",
    "cognition", "memory", "literacy", "numeracy", "language", "parenting", "family life",
    "childcare", "social care", "disability", "chronic illness", "biomarkers", "genetics",
    "blood pressure", "obesity", "diabetes", "pregnancy", "reproductive health",
    "migration", "ethnicity", "religion", "crime", "victimisation", "policing",
    "political attitudes", "voting", "trust", "civic participation", "volunteering",
    "transport", "commuting", "neighbourhood", "deprivation", "poverty", "debt",
    "pensions", "savings", "benefits", "taxation", "consumption", "media use",
    "social media", "digital technology", "television", "internet use", "gambling",
    "drug use", "self-harm", "suicide", "psychosis", "schizophrenia", "autism",
    "attention", "behaviour", "personality", "resilience", "stress", "life events",
    "bereavement", "caring", "retirement", "work conditions", "occupational health",
    "environment", "air pollution", "green space", "climate", "energy use", "food security",
    "school attainment", "further education", "skills", "training", "apprenticeships",
    "social mobility", "inequality", "discrimination", "gender identity", "sexuality",
    "relationships", "marriage", "divorce", "fertility", "infant feeding", "birth weight",
    "child development", "adolescence", "youth transitions", "covid-19", "vaccination",
    "hospital admissions", "primary care", "prescriptions", "dental health", "eyesight",
    "hearing", "mobility", "falls", "frailty", "dementia", "mortality", "life expectancy",
)

MODIFIERS: Sequence[str] = (
    "adult", "child", "adolescent", "maternal", "paternal", "household", "community",
    "local", "national", "regional", "rural", "urban", "early", "later", "older",
    "self-reported", "objective", "perceived", "financial", "economic", "social",
    "emotional", "physical", "clinical", "public", "private", "family", "parental",
    "peer", "school", "workplace", "online", "cultural", "residential", "domestic",
)

PLACES: Sequence[str] = (
    "Aberdeen", "Avon", "Bangor", "Belfast", "Birmingham", "Bradford", "Brighton",
    "Bristol", "Cambridge", "Cardiff", "Dundee", "Durham", "Edinburgh", "Essex", "Exeter",
    "Fife", "Glasgow", "Hertfordshire", "Hull", "Kent", "Lancaster", "Leeds", "Leicester",
    "Lincoln", "Liverpool", "London", "Manchester", "Newcastle", "Norwich", "Nottingham",
    "Oxford", "Plymouth", "Portsmouth", "Reading", "Sheffield", "Southampton", "Stirling",
    "Surrey", "Sussex", "Swansea", "Tayside", "Warwick", "York", "Ulster", "Lothian",
    "Highland", "Grampian", "Cumbria", "Devon", "Cornwall", "Dorset", "Wessex", "Yorkshire",
    "Northumbria", "Lanarkshire", "Gwent", "Powys", "Antrim", "Derry", "Salford",
    "King's", "St George's", "Queen's", "St Andrew's", "Bath", "Keele", "Loughborough",
)

DISCIPLINES: Sequence[str] = (
    "Psychiatry", "Psychology", "Epidemiology", "Public Health", "Primary Care",
    "Population Health", "Social Policy", "Sociology", "Economics", "Statistics",
    "Education", "Geography", "Nursing", "Medicine", "Paediatrics", "Gerontology",
    "Criminology", "Demography", "Nutrition", "Health Sciences", "Data Science",
    "Social Work", "Neuroscience", "Genetics", "Health Economics",
)

ORG_SUFFIXES: Sequence[str] = ("Trust", "Foundation", "Charity", "Council", "Institute", "Society")

STUDY_WORDS: Sequence[str] = (
    "Study", "Survey", "Cohort Study", "Panel Study", "Longitudinal Study", "Project",
    "Birth Cohort", "Household Survey", "Trial", "Audit", "Census Extract",
)

GROUPS: Sequence[str] = (
    "Women", "Men", "Offspring", "Mothers", "Fathers", "Children", "Young People",
    "Older Adults", "Carers", "Pupils", "Teachers", "Staff", "Residents", "Patients",
)

SPECIALTIES: Sequence[str] = (
    "Immunology", "Biochemistry", "Haematology", "Prescribing", "Radiology", "Maternity",
    "Outpatients", "Inpatients", "Mental Health Services", "Community Health", "Dentistry",
    "Ophthalmology", "Pathology", "Microbiology", "Virology", "Screening",
)

STUDY_DESIGNS: Sequence[Sequence[str]] = (
    ("longitudinal", "cohort"), ("cohort", "longitudinal"),
    ("longitudinal", "cohort", "ageing cohort"), ("cohort", "longitudinal", "occupational"),
    ("longitudinal", "cohort", "birth"), ("longitudinal",), ("cross sectional",),
    ("survey", "cohort", "birth", "longitudinal"),
)

SENTENCE_TEMPLATES: Sequence[str] = (
    "The study collected information on {t1} and {t2} from {g} across {p}.",
    "Participants were asked about their {t1}, {t2} and {t3}.",
    "Data on {t1} were linked to records of {t2} held by {p} services.",
    "The {w} followed {g} in {p} to understand how {t1} shapes {t2} over the life course.",
    "Measures include {m} {t1}, {t2} and {m2} {t3}.",
    "Fieldwork took place in {p}; a sub-sample completed an additional module on {t1}.",
    "This {w} examines the relationship between {t1} and later {t2}.",
    "The principal objective is to evaluate how {m} {t1} relates to the risk of {t2}.",
    "Funding of £{n} million supported follow-up of {g} born in {p}.",
    "Information was recorded by the attending clinician, including {t1} and {t2}.",
    "Researchers’ access to the {t1} data is managed by the study team.",
    "At follow-up, {t1}, {t2} and {t3} were ascertained.",
    "Results are reported for {g} by {t1}, {t2} and région of residence.",
    "The sample was drawn from {p} and neighbouring areas.",
)

# The real catalogues (the small fixed set a Harmony record can name).
CATALOGUES: Mapping[str, Mapping[str, str]] = {
    "ukds": {"name": "UK Data Service"},
    "mhc": {
        "name": "Catalogue of Mental Health Measures",
        "image": "https://www.cataloguementalhealth.ac.uk/img/sitelogo.png",
    },
    "closer": {
        "name": "CLOSER Discovery",
        "image": "https://closer.ac.uk/wp-content/themes/closer-2022/www/images/closer-logo-full.svg",
    },
    "ukllc": {
        "name": "UK Longitudinal Linkage Collaboration: UK LLC",
        "image": "https://ukllc.ac.uk/wp-content/themes/ukllc-theme/assets/images/UKLLC_Logo_Landscape_Black.svg",
    },
    "adruk": {
        "name": "ADR UK",
        "image": "https://www.adruk.org/fileadmin/uploads/adruk/Logos/Colour_SVG/ADRUK_-_logo_rgb_rgb_colour.svg",
    },
    "hdruk": {"name": "Health Data Research Innovation Gateway"},
    "cls": {"name": "UCL Centre for Longitudinal Studies"},
    "matilda": {
        "name": "The Matilda Centre for Research in Mental Health and Substance Use at the University of Sydney",
    },
}

UKDS_ACCESS = (
    "The Data Collection is available for download to users registered with the UK Data Service.",
    "The Data Collection is to be made available to any user without the requirement for registration for download/access.",
    "The Data Collection is available to users registered with the UK Data Service. All requests are subject to the permission of the data owner.",
)

# --------------------------------------------------------------------------------------
# Sampling helpers.
# --------------------------------------------------------------------------------------


def empirical(rng: random.Random, values: Sequence[int]) -> int:
    """Sample from the distribution of ``values`` (sorted), interpolating between them.

    An inverse empirical CDF keeps the measured shape (bimodal description lengths, the
    heavy tail of keyword counts) without fitting a parametric law to 42 points.
    """
    pos = rng.random() * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return round(values[lo] + (values[hi] - values[lo]) * (pos - lo))


def chance(rng: random.Random, p: float) -> bool:
    """True with probability ``p``."""
    return rng.random() < p


class ZipfPool:
    """A fixed list of items drawn with weight ``1 / rank**s``: few popular, many rare."""

    def __init__(self, items: Sequence[str], s: float) -> None:
        self.items = list(items)
        self.cum_weights = list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(len(self.items))))

    def one(self, rng: random.Random) -> str:
        return rng.choices(self.items, cum_weights=self.cum_weights)[0]

    def distinct(self, rng: random.Random, k: int) -> list[str]:
        """``k`` distinct items, popular ones first more often; order as drawn."""
        k = min(k, len(self.items))
        chosen: dict[str, None] = {}
        while len(chosen) < k:
            for item in rng.choices(self.items, cum_weights=self.cum_weights, k=2 * (k - len(chosen))):
                chosen[item] = None
                if len(chosen) == k:
                    break
        return list(chosen)


def slugify(text: str) -> str:
    """Harmony-style slug: lower case, runs of anything else than a-z0-9 become '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def acronym(words: str) -> str:
    """Initials of the capitalised words, as study acronyms are made (HCS, ESYTC)."""
    letters = [w[0] for w in re.findall(r"[A-Za-z][\w'’-]*", words) if w[0].isupper()]
    return "".join(letters)[:6] or "ST"


def hex_id(rng: random.Random, bits: int = 128) -> str:
    """Lower-case hex of ``bits`` random bits (Harmony uuids are 32 hex digits)."""
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def uuid_form(rng: random.Random) -> str:
    """An 8-4-4-4-12 UUID string (CLOSER item ids, UKDS dataset ids)."""
    h = hex_id(rng)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def title(text: str) -> str:
    """Capitalise each word except short joiners, for generated study names."""
    small = {"and", "of", "in", "the", "for", "on", "to", "a"}
    words = text.split()
    return " ".join(w if (i and w in small) else w[:1].upper() + w[1:] for i, w in enumerate(words))


# --------------------------------------------------------------------------------------
# The shared pools: one keyword vocabulary, one organisation pool (seed-independent).
# --------------------------------------------------------------------------------------


def build_keyword_concepts(size: int = KEYWORD_VOCABULARY_SIZE) -> list[str]:
    """Base keyword concepts in rank order (rank 0 is the most popular).

    Each kind renders a concept in its own style (UPPER for UKDS, sentence case for the
    mental-health catalogue, lower-case tags for ADR UK), so the same concept appears as
    'EDUCATION' and 'Education' in different records, as in the real files.
    """
    rng = random.Random(20240501)
    singles = list(TOPICS)
    pairs = [f"{a} and {b}" for a in TOPICS[:40] for b in TOPICS[40:80]]
    modified = [f"{m} {t}" for m in MODIFIERS for t in TOPICS]
    dashed = [f"{t} - {x}" for t in TOPICS[:30] for x in ("need", "receipt", "provision", "outcomes")]
    rng.shuffle(pairs)
    rng.shuffle(modified)
    rng.shuffle(dashed)
    head = singles[:]
    rng.shuffle(head)
    rest = pairs + modified + dashed
    rng.shuffle(rest)
    concepts = list(dict.fromkeys(head + rest))
    return concepts[:size]


def build_organisations(size: int = ORGANISATION_POOL_SIZE) -> list[str]:
    """Organisation names in rank order: universities, departments, NHS bodies, funders."""
    rng = random.Random(20240502)
    names: list[str] = []
    names += [f"University of {p}" for p in PLACES]
    names += [f"{p} University" for p in PLACES]
    names += [f"{p} College London" for p in PLACES[:12]]
    names += [f"Department of {d}, University of {p}" for d in DISCIPLINES for p in PLACES]
    names += [f"NHS {p}" for p in PLACES]
    names += [f"{p} Teaching Hospitals NHS Foundation Trust" for p in PLACES]
    names += [f"{p} Health Informatics Centre" for p in PLACES]
    names += [f"{title(t)} Research Council" for t in TOPICS[:40]]
    names += [f"National Institute for {title(t)} Research" for t in TOPICS]
    names += [f"Centre for {title(t)} Studies, University of {p}" for t in TOPICS[:60] for p in PLACES[:20]]
    names += [f"Office for {title(t)} Statistics" for t in TOPICS[:30]]
    names += [f"Department for {title(t)}" for t in TOPICS[:50]]
    names += [f"{p} {title(t)} {s}" for p in PLACES for t in TOPICS[:30] for s in ORG_SUFFIXES[:2]]
    names = list(dict.fromkeys(names))
    rng.shuffle(names)
    return names[:size]


def build_acronyms(organisations: Sequence[str], size: int = 300) -> list[str]:
    """Funder acronyms (MRC, ESRC, ...) in rank order; CMHM funders are acronym lists."""
    return list(dict.fromkeys(acronym(o) for o in organisations[: size * 3] if len(acronym(o)) >= 2))[:size]


# --------------------------------------------------------------------------------------
# Record kinds, with the per-kind presence rates measured per source.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One family of records: its source catalogue(s) and how often each field appears.

    ``rates`` maps a field (same keys as ``REAL_PRESENCE``) to the probability that a
    record of this kind has it non-empty. Fields not listed are absent (rate 0).
    """

    name: str
    weight: float
    rates: Mapping[str, float] = field(default_factory=dict)


KINDS: Sequence[Kind] = (
    # 8 of 42: UK Data Service studies and datasets.
    Kind("ukds", 8 / 42, {
        "ds.keywords": 7 / 8, "ds.identifier": 1.0, "ds.temporalCoverage": 1.0,
        "ds.includedInDataCatalog": 1.0, "ds.sponsor": 7 / 8, "ds.creator": 6 / 8,
        "ds.variableMeasured": 1 / 8, "ds.size": 1 / 8,
        "ed.data_access": 1.0, "ed.end_year": 1.0, "ed.duration_years": 1 / 8,
        "ed.sample_size": 1 / 8, "ancestors": 1 / 8, "child_datasets": 5 / 8,
    }),
    # 16 of 42: Catalogue of Mental Health Measures studies, some also in UK LLC.
    Kind("mhc", 16 / 42, {
        "ds.keywords": 1.0, "ds.identifier": 15 / 16, "ds.temporalCoverage": 1.0,
        "ds.includedInDataCatalog": 1.0, "ds.size": 1.0, "ds.creator": 1.0,
        "ds.publisher": 1.0, "ds.image": 1.0, "ds.license": 15 / 16, "ds.funder": 1.0,
        "ds.copyrightHolder": 3 / 16,
        "ed.data_access": 13 / 16, "ed.ai_summary": 1.0, "ed.study_design": 1.0,
        "ed.sample_size": 1.0, "ed.age_lower": 12 / 16,
    }),
    # 12 of 42: CLOSER datasets, each the child of a cohort study.
    Kind("closer", 12 / 42, {
        "ds.keywords": 1.0, "ds.temporalCoverage": 1.0, "ds.size": 1.0,
        "ds.variableMeasured": 4 / 12,
        "ed.end_year": 1.0, "ed.duration_years": 7 / 12, "ed.sample_size": 1.0,
        "ed.num_sweeps": 1.0, "ancestors": 1.0,
    }),
    # 3 of 42: ADR UK datasets, one also on the HDR UK gateway.
    Kind("adruk", 3 / 42, {
        "ds.keywords": 1.0, "ds.temporalCoverage": 1.0, "ds.includedInDataCatalog": 1.0,
        "ds.creator": 1.0, "ds.publisher": 1.0, "ds.image": 1.0, "ds.license": 1.0,
        "ed.data_access": 1.0,
    }),
    Kind("ukllc", 1 / 42, {
        "ds.keywords": 1.0, "ds.temporalCoverage": 1.0, "ds.includedInDataCatalog": 1.0,
        "ds.size": 1.0, "ds.creator": 1.0, "ds.copyrightHolder": 1.0,
        "ed.ai_summary": 1.0, "ed.study_design": 1.0, "ed.sample_size": 1.0, "ed.age_lower": 1.0,
    }),
    Kind("cls", 1 / 42, {
        "ds.includedInDataCatalog": 1.0, "ed.ai_summary": 1.0, "ed.study_design": 1.0,
    }),
    Kind("matilda", 1 / 42, {
        "ds.includedInDataCatalog": 1.0, "ds.variableMeasured": 1.0, "ed.data_access": 1.0,
        "ed.study_design": 1.0,
    }),
)


KINDS_BY_NAME: Mapping[str, Kind] = {k.name: k for k in KINDS}


def expected_presence(kinds: Sequence[Kind] = KINDS) -> dict[str, float]:
    """Overall presence rate of every field implied by the kind table.

    Tests compare generated records against this; it should sit close to
    ``REAL_PRESENCE``, which is what the table was derived from.
    """
    total = sum(k.weight for k in kinds)
    return {f: sum(k.weight * k.rates.get(f, 0.0) for k in kinds) / total for f in REAL_PRESENCE}


# --------------------------------------------------------------------------------------
# The generator.
# --------------------------------------------------------------------------------------


@dataclass
class Family:
    """What a cohort parent hands down to its children besides its own record."""

    ancestors: list[Record]  # the parent's stub first, then its own ancestors
    acronym: str
    keywords: list[str]
    geographic_coverage: str
    num_sweeps: int
    closer_agency: str


class Generator:
    """Holds the pools and the random state; ``records(n)`` streams the records."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.keywords = ZipfPool(build_keyword_concepts(), KEYWORD_ZIPF_S)
        organisations = build_organisations()
        self.organisations = ZipfPool(organisations, ORGANISATION_ZIPF_S)
        self.acronyms = ZipfPool(build_acronyms(organisations), ORGANISATION_ZIPF_S)
        self.sentences = self._sentence_pool(3000)
        self.parents: deque[Family] = deque(maxlen=PARENT_POOL_SIZE)
        self.kind_weights = list(itertools.accumulate(k.weight for k in KINDS))
        self.builders: Mapping[str, Callable[[Record, Record, Kind, int], None]] = {
            "ukds": self._ukds, "mhc": self._mhc, "closer": self._closer,
            "adruk": self._adruk, "ukllc": self._ukllc, "cls": self._cls, "matilda": self._matilda,
        }

    # ---- streaming -------------------------------------------------------------------

    def records(self, n: int) -> Iterator[Record]:
        """Yield ``n`` records (bare Harmony record dicts), one at a time."""
        for i in range(n):
            kind = self.rng.choices(KINDS, cum_weights=self.kind_weights)[0]
            if kind.name == "closer" and not self.parents:
                kind = KINDS_BY_NAME["mhc"]  # no cohort yet to hang a dataset under: a study
            yield self.record(kind, i)

    def record(self, kind: Kind, i: int) -> Record:
        """Build record number ``i`` of ``kind``; register it as a parent if chosen."""
        # Keys in the order the catalogue writes them; the kind fills them in.
        ds: Record = {"@context": "https://schema.org/", "@type": "Dataset", "name": "", "description": "",
                      "url": [], "keywords": [], "identifier": []}
        ed: Record = {}
        rec: Record = {"dataset_schema": ds, "extra_data": ed, "distance": 0, "score": 0,
                       "parent": {}, "ancestors": []}
        self.builders[kind.name](rec, ds, kind, i)
        return rec

    # ---- field helpers shared by the kinds ------------------------------------------

    def _sentence_pool(self, size: int) -> list[str]:
        """Pre-rendered sentences; descriptions are cut from runs of them (fast)."""
        rng = self.rng
        out = []
        for _ in range(size):
            t1, t2, t3 = rng.sample(TOPICS, 3)
            out.append(rng.choice(SENTENCE_TEMPLATES).format(
                t1=t1, t2=t2, t3=t3, g=rng.choice(GROUPS).lower(), p=rng.choice(PLACES),
                w=rng.choice(STUDY_WORDS).lower(), m=rng.choice(MODIFIERS), m2=rng.choice(MODIFIERS),
                n=rng.randint(2, 90)))
        return out

    def text(self, length: int) -> str:
        """Free text of exactly ``length`` characters, with paragraphs and a little HTML."""
        rng = self.rng
        parts: list[str] = []
        size = 0
        while size < length:
            s = rng.choice(self.sentences)
            sep = " "
            r = rng.random()
            if r < 0.12:
                sep = "\n\n"
            elif r < 0.18:
                sep = "\n"
            elif r < 0.2:
                sep = " <br>\n"
            parts.append(s)
            parts.append(sep)
            size += len(s) + len(sep)
        return "".join(parts)[:length]

    def description(self) -> str:
        return self.text(max(DESCRIPTION_MIN, min(DESCRIPTION_MAX, empirical(self.rng, DESCRIPTION_LENGTHS))))

    def keyword_list(self, k: int, style: str) -> list[str]:
        """``k`` keywords from the shared vocabulary, rendered in a catalogue's style."""
        concepts = self.keywords.distinct(self.rng, k)
        if style == "upper":
            return [c.upper() for c in concepts]
        if style == "lower":
            return [c.lower() for c in concepts]
        return [c[:1].upper() + c[1:] for c in concepts]

    def orgs(self, k: int) -> list[Record]:
        """``k`` organisations from the shared pool, with the odd joined or HTML name."""
        rng = self.rng
        out = []
        for name in self.organisations.distinct(rng, k):
            r = rng.random()
            if r < 0.05:
                name = f"{name}; {self.organisations.one(rng)}"
            elif r < 0.07:
                name = f"{name}; <br> \n{self.organisations.one(rng)}"
            elif "'" in name and r < 0.3:
                name = name.replace("'", "’")
            out.append({"@type": "Organization", "name": name})
        return out

    def org_count(self) -> int:
        """1 to 3 organisations in a role, mostly 1 (as measured for every role)."""
        r = self.rng.random()
        return 1 if r < 0.8 else 2 if r < 0.95 else 3

    def catalogue(self, key: str, url: str) -> Record:
        c = CATALOGUES[key]
        out: Record = {"@type": "DataCatalog", "name": c["name"], "url": url}
        if "image" in c:
            out["image"] = c["image"]
        return out

    def doi(self, style: str, i: int) -> str:
        """A DOI in one of the forms the catalogues publish."""
        rng = self.rng
        if style == "ukds":
            sn = 1000 + i
            return rng.choice((f"10.5255/UKDA-SN-{sn}-{rng.randint(1, 3)}", f"http://dx.doi.org/10.5255/UKDA-SN-{sn}"))
        prefix = rng.choice(("1093", "1016", "1186", "1111", "1017", "1038", "1007", "12688", "23889"))
        suffix = f"{rng.choice(('ije', 'j.envres', 'jcpp', 's12889', 'ncomms', 'bjc'))}.{i}.{rng.randint(1, 999)}"
        r = rng.random()
        if r < 0.85:
            return f"https://doi.org/10.{prefix}/{suffix}"
        if r < 0.9:
            return f"https://doi.org/10.{prefix}%2F{suffix}"
        if r < 0.95:
            return f"https://dx.doi.org/10.{prefix}/{suffix}"
        return f"http://dx.doi.org/10.{prefix}/{suffix}"

    def country_codes(self) -> list[str]:
        r = self.rng.random()
        if r < 0.88:
            return ["GB"]
        if r < 0.95:
            return ["GB", "IE"]
        if r < 0.975:
            return ["UK"]
        return self.rng.choice((["AU"], ["ET", "IN", "NG"], ["GB", "FR"], ["IE"]))

    def geographic_coverage(self) -> str:
        rng = self.rng
        p = rng.choice(PLACES)
        return rng.choice((
            "England", "England", "England", "Scotland", "Wales", "Northern Ireland",
            "Great Britain", "United Kingdom", "England, Scotland and Wales", "",
            f"England / {p}", f"United Kingdom\nScotland\n{p} Region",
            f"All participants were from {p} and neighbouring areas",
            "England, Scotland, Wales, Northern Ireland / Nationwide",
        ))

    def temporal(self, form: str, span: int) -> tuple[str, int, int | None]:
        """``temporalCoverage`` in one of its real forms, with start_year and end_year.

        ``span`` is end year minus start year for the forms that have an end; the real
        records carry ``duration_years`` exactly when that is positive.
        """
        rng = self.rng
        start = rng.randint(1946, 2024 - span)
        end = start + span
        if form == "open":  # '2007/..'
            return f"{start}/..", start, None
        if form == "years":  # '1965/1965', '2006/2012'
            return f"{start}/{end}", start, end
        if form == "year":  # a bare year
            return f"{start}", start, start
        if form == "dates":  # '2010-01-01/2010-12-31'
            return f"{start}-01-01/{end}-12-31", start, end
        if form == "future":  # '1986-01-01/2030-10-16T08:03:43.563934Z'
            return f"{start}-01-01/{rng.randint(2026, 2035)}-10-16T08:03:43.{rng.randint(0, 999999):06d}Z", start, None
        m1, m2 = sorted((rng.randint(1, 12), rng.randint(1, 12)))  # '2004-04-01T00:00:00Z/2005-03-01T00:00:00Z'
        return f"{start}-{m1:02d}-01T00:00:00Z/{end}-{m2:02d}-01T00:00:00Z", start, end

    def variables(self, k: int) -> list[Record]:
        """``variableMeasured`` entries: coded names, mostly with a label, some name-only."""
        rng = self.rng
        out = []
        for j in range(k):
            r = rng.random()
            if r < 0.05:
                out.append({"name": f"In the last 4 weeks: have you felt {rng.choice(TOPICS)} affected your {rng.choice(TOPICS)}?"})
                continue
            var = {"name": f"{rng.choice(('n', 'd', 'da', 'N', 'V'))}{rng.choice(TOPICS).split()[0].capitalize()}{j + 1}"}
            if r < 0.8:
                var["description"] = f"{rng.choice(MODIFIERS)} {rng.choice(TOPICS)}"
            out.append(var)
        return out

    def finish(self, rec: Record, ds: Record, kind: Kind, i: int, *, name: str, resource_type: str,
               source: list[str], harmony_id: str, urls: list[str], temporal_form: str | None,
               keywords: list[str], country_codes: list[str] | None = None,
               geographic_coverage: str | None = None, data_access: str | None = None) -> Record:
        """Fill the fields every kind has, in the real key order; returns extra_data.

        Presence of the optional fields is decided here from ``kind.rates`` so that every
        kind uses the same rule.
        """
        rng = self.rng
        rate = kind.rates.get
        ds["name"] = name
        ds["url"] = urls
        ds["keywords"] = keywords if chance(rng, rate("ds.keywords", 0.0)) else []
        start: int | None = None
        end: int | None = None
        tc = None
        if temporal_form and chance(rng, rate("ds.temporalCoverage", 0.0)):
            # Kinds with an end year have it always; the duration rate is conditional on it.
            multi_year = chance(rng, rate("ed.duration_years", 0.0) / max(rate("ed.end_year", 1.0), 1e-9))
            tc, start, end = self.temporal(temporal_form, rng.randint(1, 9) if multi_year else 0)
        uuid = hex_id(rng)
        ed = rec["extra_data"]
        ed["urls"] = urls
        ed["duration_years"] = end - start if end is not None and start is not None and end > start else None
        ed["data_access"] = data_access if chance(rng, rate("ed.data_access", 0.0)) else None
        ed["country_codes"] = country_codes or self.country_codes()
        ed["resource_type"] = resource_type
        ed["harmony_id"] = harmony_id
        ed["num_variables"] = None
        ed["geographic_coverage"] = self.geographic_coverage() if geographic_coverage is None else geographic_coverage
        ed["dois"] = ds["identifier"]
        ed["instruments"] = []
        ed["slug"] = f"{slugify(name)}-{i}"
        ed["ai_summary"] = (self.text(rng.randint(700, 1900)) if chance(rng, rate("ed.ai_summary", 0.0))
                            else rng.choice((None, None, None, "")))
        ed["genetic_data_collected"] = chance(rng, 0.03)
        ed["end_year"] = end
        ed["study_design"] = list(rng.choice(STUDY_DESIGNS)) if chance(rng, rate("ed.study_design", 0.0)) else []
        ed["source"] = source
        r = rng.random()
        ed["sex"] = "all" if r < 0.97 else "male" if r < 0.985 else "female"
        ed["language_codes"] = ["en"]
        ed["start_year"] = start
        ed["name"] = name
        ed["uuid"] = uuid
        if tc is not None:
            ds["temporalCoverage"] = tc
        if chance(rng, rate("ed.sample_size", 0.0)):
            n = max(10, min(15_000_000, int(rng.lognormvariate(8.3, 1.6))))
            ed["sample_size"] = n
            if chance(rng, rate("ds.size", 0.0) / max(rate("ed.sample_size", 1.0), 1e-9)):
                ds["size"] = str(n)
        if chance(rng, rate("ds.variableMeasured", 0.0)):
            k = empirical(rng, VARIABLE_COUNTS)
            ds["variableMeasured"] = self.variables(k)
            ed["num_variables"] = k
            ed["number_of_variables"] = k
        if chance(rng, rate("ed.age_lower", 0.0)):
            ed["age_lower"] = rng.choice((8, 9, 11, 12, 16, 16, 18, 65))
            if chance(rng, 7 / 12):
                ed["age_upper"] = ed["age_lower"] + rng.choice((1, 2, 5, 9, 20, 49))
        return ed

    def add_organisations(self, ds: Record, kind: Kind) -> None:
        """Creator, publisher (usually the creator), funder, sponsor, rights holder."""
        rng = self.rng
        rate = kind.rates.get
        creators: list[Record] = []
        if chance(rng, rate("ds.creator", 0.0)):
            creators = self.orgs(self.org_count())
            ds["creator"] = creators
        elif chance(rng, 0.1) and rate("ds.creator", 0.0):
            ds["creator"] = []  # present but empty, as in one real record
        if chance(rng, rate("ds.publisher", 0.0)):
            ds["publisher"] = creators[:1] if creators and chance(rng, 0.7) else self.orgs(self.org_count())
        if chance(rng, rate("ds.funder", 0.0)):
            names = self.acronyms.distinct(rng, rng.choice((1, 1, 2, 2, 3, 4)))
            ds["funder"] = [{"@type": "Organization", "name": " ".join(names)}]
        if chance(rng, rate("ds.sponsor", 0.0)):
            ds["sponsor"] = self.orgs(self.org_count())
        elif rate("ds.sponsor", 0.0) and chance(rng, 0.5):
            ds["sponsor"] = []
        if chance(rng, rate("ds.copyrightHolder", 0.0)):
            ds["copyrightHolder"] = creators[:1] if creators and chance(rng, 0.75) else self.orgs(1)

    def maybe_become_parent(self, rec: Record, acr: str, p: float) -> None:
        """With probability ``p`` make this record a cohort that later records hang under."""
        if not chance(self.rng, p):
            return
        ds, ed = rec["dataset_schema"], rec["extra_data"]
        slim = {k: ed[k] for k in ("country_codes", "instruments", "name", "resource_type",
                                   "source", "study_design", "uuid", "number_of_variables") if k in ed}
        slim["keywords"] = ds["keywords"]
        stub = {"dataset_schema": ds, "extra_data": slim, "distance": 0, "score": 0, "parent": {}, "ancestors": []}
        rng = self.rng
        keywords = ds["keywords"] or self.keyword_list(rng.randint(12, 21), "sentence")
        agency = f"uk.{rng.choice(('cls', 'mrcleu-uos', 'bristol', 'ucl', 'ed'))}.{slugify(acr) or 'cohort'}"
        if ds.get("includedInDataCatalog") and chance(rng, 0.5):
            # A cohort whose datasets CLOSER lists is itself in CLOSER Discovery too.
            closer_url = f"https://discovery.closer.ac.uk/item/{agency}/{uuid_form(rng)}"
            ds["url"].append(closer_url)  # the same list as extra_data.urls
            ds["includedInDataCatalog"].append(self.catalogue("closer", closer_url))
        self.parents.append(Family(
            ancestors=[stub] + rec["ancestors"],
            acronym=acr,
            keywords=keywords,
            geographic_coverage=ed["geographic_coverage"] or self.geographic_coverage(),
            num_sweeps=rng.choice((3, 5, 5, 7, 12, 12, 16)),
            closer_agency=agency,
        ))

    def adopt(self, rec: Record) -> Family | None:
        """Hang ``rec`` under one of the current cohort parents; returns that family."""
        if not self.parents:
            return None
        family = self.rng.choice(self.parents)
        rec["ancestors"] = family.ancestors
        return family

    # ---- the kinds ------------------------------------------------------------------

    def _ukds(self, rec: Record, ds: Record, kind: Kind, i: int) -> None:
        rng = self.rng
        sn = 1000 + i
        is_study = chance(rng, 0.75)
        topic = rng.choice(TOPICS)
        year = rng.randint(1965, 2023)
        if is_study:
            name = rng.choice((
                f"{title(topic)} Survey, {year}",
                f"{title(rng.choice(MODIFIERS))} {title(topic)} {rng.choice(STUDY_WORDS)}, {year}",
                f"{title(topic)} and {title(rng.choice(TOPICS))}: an Analysis of {title(rng.choice(MODIFIERS))} {title(rng.choice(TOPICS))} among {rng.choice(GROUPS)} in {rng.choice(PLACES)}",
                f"{title(topic)}; {rng.randint(1, 28)}-{rng.randint(1, 28)} {rng.choice(('March', 'June', 'November'))} {year}",
            ))
        else:
            name = f"{sn}_{slugify(topic).replace('-', '_')}"
        ds["description"] = self.description()
        if chance(rng, 0.2):
            urls = [f"https://beta.ukdataservice.ac.uk/datacatalogue/studies/study?id={sn}", f"https://reshare.ukdataservice.ac.uk/{sn}"]
        elif is_study:
            urls = [f"https://datacatalogue.ukdataservice.ac.uk/studies/study/{sn}"]
        else:
            urls = [f"https://datacatalogue.ukdataservice.ac.uk/datasets/dataset/{uuid_form(rng)}"]
        ds["identifier"] = [self.doi("ukds", i)] if chance(rng, kind.rates["ds.identifier"]) else []
        ds["includedInDataCatalog"] = [self.catalogue("ukds", urls[0])]
        self.add_organisations(ds, kind)
        keywords = self.keyword_list(empirical(rng, UKDS_KEYWORD_COUNTS) or 1, "upper")
        form = rng.choices(("datetimes", "dates", "years", "year"), weights=(6, 1, 0.5, 0.5))[0]
        access = rng.choice(UKDS_ACCESS) if chance(rng, 0.4) else f"{urls[0]}#!/access-data"
        if not is_study:
            hid = f"ukds/dataset/{urls[0].rsplit('/', 1)[-1]}"
        elif chance(rng, 0.3):
            hid = f"ukds/{sn}"
        else:
            hid = f"ukds/{slugify(name)}-{i}"
        ed = self.finish(rec, ds, kind, i, name=name, resource_type="study" if is_study else "dataset",
                         source=["ukds"], harmony_id=hid, urls=urls, temporal_form=form,
                         keywords=keywords, data_access=access)
        if not is_study and chance(rng, kind.rates["ancestors"] * 4):  # 1 in 8 of all ukds
            self.adopt(rec)
        if is_study and chance(rng, kind.rates["child_datasets"] / 0.75):
            self.add_child_stubs(rec, sn, ed)
        elif chance(rng, 0.5):
            rec["num_descendant_variables"] = 0
        if chance(rng, 7 / 8):
            ed["top_level_ancestor_uuid"] = rec["ancestors"][-1]["extra_data"]["uuid"] if rec["ancestors"] else ed["uuid"]
        if is_study:
            self.maybe_become_parent(rec, acronym(title(name)), PARENT_ENTRY_RATE)

    def add_child_stubs(self, rec: Record, sn: int, ed: Record) -> None:
        """``child_datasets``: stubs of the study's data files (empty dataset_schema)."""
        rng = self.rng
        stubs = []
        for j in range(rng.choice((1, 1, 1, 2, 3))):
            stub_name = f"{sn}_{rng.choice(('tsa', 'ape', 'nss', 'ideas', 'tv'))}{rng.randint(1, 99)}_{rng.choice(('spss', 'stata', 'tab'))}_{rng.choice(TOPICS).split()[0]}"
            stubs.append({
                "dataset_schema": {},
                "extra_data": {"end_year": ed["end_year"], "resource_type": "dataset",
                               "slug": f"{slugify(stub_name)}-d{j}",
                               "num_variables": rng.randint(20, 2000), "start_year": ed["start_year"],
                               "name": stub_name, "uuid": hex_id(rng)},
                "distance": 0, "score": 0, "parent": {}, "ancestors": [],
            })
        rec["num_descendant_variables"] = sum(s["extra_data"]["num_variables"] for s in stubs)
        rec["child_datasets"] = stubs

    def _study_name(self) -> tuple[str, str]:
        """A cohort-study name with its acronym in brackets, e.g. 'X Cohort Study (XCS)'."""
        rng = self.rng
        base = rng.choice((
            f"{rng.choice(PLACES)} {rng.choice(STUDY_WORDS)}",
            f"{title(rng.choice(MODIFIERS))} {title(rng.choice(TOPICS))} {rng.choice(STUDY_WORDS)}",
            f"The {rng.choice(PLACES)} Study of {title(rng.choice(TOPICS))} and {title(rng.choice(TOPICS))}",
            f"{title(rng.choice(TOPICS))} and {title(rng.choice(TOPICS))} in {rng.choice(GROUPS)}",
        ))
        acr = acronym(base)
        return f"{base} ({acr})", acr

    def _mhc(self, rec: Record, ds: Record, kind: Kind, i: int) -> None:
        rng = self.rng
        name, acr = self._study_name()
        code = f"{acr}{i}"
        mhc_url = f"https://www.cataloguementalhealth.ac.uk/?content=study&studyid={code}"
        ds["description"] = self.description()
        in_ukllc = chance(rng, 3 / 16)
        if in_ukllc:
            ukllc_url = f"https://explore.ukllc.ac.uk/?source={code.upper()}"
            urls = ["", ukllc_url, f"https://{slugify(acr)}{i}.org.uk/)", mhc_url]
            catalogues = [self.catalogue("ukllc", ukllc_url), self.catalogue("mhc", mhc_url)]
            source = ["mhc", "ukllc"]
            hid = f"ukllc/{code.lower()}"
        else:
            urls = [mhc_url, ""]
            catalogues = [self.catalogue("mhc", mhc_url)]
            source = ["mhc"]
            hid = f"mhc/{code.lower()}"
        ds["identifier"] = [self.doi("paper", i) for _ in range(rng.choice((1, 1, 1, 2, 3)))] if chance(rng, kind.rates["ds.identifier"]) else []
        ds["includedInDataCatalog"] = catalogues
        self.add_organisations(ds, kind)
        ds["image"] = f"https://www.cataloguementalhealth.ac.uk/img/studies/{code}.png"
        site = f"https://www.{slugify(acr)}{i}study.org.uk/data-access"
        if chance(rng, kind.rates["ds.license"]):
            ds["license"] = [site + rng.choice(("", "", "#", "/"))]
        access = f"Project proposal - see data access guidance <br>\n<a target=\"_blank\" href=\"{site}\">{site}</a>"
        ed = self.finish(rec, ds, kind, i, name=name, resource_type="study", source=source,
                         harmony_id=hid, urls=urls, temporal_form="open",
                         keywords=self.keyword_list(empirical(rng, MHC_KEYWORD_COUNTS), "sentence"),
                         data_access=access)
        if chance(rng, 13 / 16):
            ed["num_variables"] = rng.randint(1, 120)
            ed["number_of_variables"] = rng.randint(ed["num_variables"], 1100)
        self.maybe_become_parent(rec, acr, PARENT_ENTRY_RATE * 2)

    def _closer(self, rec: Record, ds: Record, kind: Kind, i: int) -> None:
        rng = self.rng
        family = self.adopt(rec)
        assert family is not None  # records() never picks this kind without a parent
        name = self._dataset_name(family.acronym)
        ds["description"] = name
        url = f"https://discovery.closer.ac.uk/item/{family.closer_agency}/{uuid_form(rng)}"
        ed = self.finish(rec, ds, kind, i, name=name, resource_type="dataset", source=["closer"],
                         harmony_id=f"closer/{url.split('/item/', 1)[1]}", urls=[url],
                         temporal_form="years", keywords=family.keywords,
                         geographic_coverage=family.geographic_coverage)
        ed["num_sweeps"] = family.num_sweeps
        self.maybe_become_parent(rec, family.acronym, CHILD_BECOMES_PARENT_RATE)

    def _dataset_name(self, cohort: str) -> str:
        """A CLOSER dataset name; at least 26 characters, since it doubles as description."""
        rng = self.rng
        while True:
            topic = title(rng.choice(TOPICS))
            name = rng.choice((
                f"{rng.randint(1, 9)} Year {topic} Questionnaire Dataset",
                f"{rng.randint(1, 9)}-{rng.randint(10, 25)} Year Clinic Questionnaire Dataset",
                f"{topic} Questionnaire for {rng.choice(GROUPS)} Dataset",
                f"{cohort}{rng.randint(1, 9)} {topic} ({rng.randint(1958, 2023)}) Dataset",
                f"Follow-up {topic} Questionnaire Dataset",
            ))
            if len(name) >= DESCRIPTION_MIN:
                return name

    def _adruk(self, rec: Record, ds: Record, kind: Kind, i: int) -> None:
        rng = self.rng
        place_a, place_b = rng.sample(PLACES, 2)
        name = f"NHS {place_a} and {place_b} {rng.choice(SPECIALTIES)}"
        ds["description"] = self.description()
        adr_url = f"https://datacatalogue.adruk.org/browser/dataset/{rng.randint(10**18, 10**19 - 1)}/2"
        urls = [adr_url]
        catalogues = [self.catalogue("adruk", adr_url)]
        source = ["adruk"]
        if chance(rng, 1 / 3):
            hdr_url = f"https://healthdatagateway.org/en/dataset/{i}"
            urls.append(hdr_url)
            catalogues.append(self.catalogue("hdruk", hdr_url))
            source.append("hdruk")
        ds["includedInDataCatalog"] = catalogues
        self.add_organisations(ds, kind)
        ds["image"] = f"2022-11-29-{rng.randint(100000, 999999)}.{rng.randint(0, 999999):06d}{place_a}-Health-Centre-RGB.png"
        licence = f"https://researchdata.{slugify(place_a)}.scot/researcher-support-consultancy-services"
        ds["license"] = [licence]
        ed = self.finish(rec, ds, kind, i, name=name, resource_type="dataset", source=source,
                         harmony_id=f"adruk/{adr_url.split('/')[-2]}", urls=urls,
                         temporal_form=rng.choice(("open", "open", "future")),
                         keywords=self.keyword_list(empirical(rng, ADRUK_KEYWORD_COUNTS), "lower"),
                         geographic_coverage=f"United Kingdom\nScotland\n{place_a} Region\nUnited Kingdom\nScotland\n{place_b}",
                         data_access=licence)
        if chance(rng, 1 / 3):
            rec["num_descendant_variables"] = 0
            ed["top_level_ancestor_uuid"] = ed["uuid"]

    def _ukllc(self, rec: Record, ds: Record, kind: Kind, i: int) -> None:
        rng = self.rng
        name, acr = self._study_name()
        url = f"https://explore.ukllc.ac.uk/?source={acr}{i}"
        ds["description"] = self.description()
        ds["includedInDataCatalog"] = [self.catalogue("ukllc", url)]
        self.add_organisations(ds, kind)
        self.finish(rec, ds, kind, i, name=name, resource_type="study", source=["ukllc"],
                    harmony_id=f"ukllc/{acr.lower()}{i}", urls=[url, f"https://{slugify(acr)}{i}.org.uk/about/)"],
                    temporal_form="open", keywords=self.keyword_list(empirical(rng, MHC_KEYWORD_COUNTS), "sentence"))
        self.maybe_become_parent(rec, acr, PARENT_ENTRY_RATE)

    def _cls(self, rec: Record, ds: Record, kind: Kind, i: int) -> None:
        rng = self.rng
        name = f"{title(rng.choice(MODIFIERS))} {title(rng.choice(TOPICS))} Cohort Feasibility Study"
        url = f"https://cls.ucl.ac.uk/cls-studies/{slugify(name)}-{i}/"
        ds["description"] = self.description()
        ds["includedInDataCatalog"] = [self.catalogue("cls", "https://cls.ucl.ac.uk/")]
        self.finish(rec, ds, kind, i, name=name, resource_type="study", source=["cls"],
                    harmony_id=f"cls/{slugify(name)}-{i}", urls=[url], temporal_form=None,
                    keywords=[], geographic_coverage="")

    def _matilda(self, rec: Record, ds: Record, kind: Kind, i: int) -> None:
        rng = self.rng
        name = f"{title(rng.choice(TOPICS))} Through Life {rng.choice((20, 40, 60))}+ Cohort Wave {rng.randint(1, 5)}"
        url = f"https://www.{slugify(name)[:20]}{i}.org.au/publications"
        ds["description"] = name if chance(rng, 0.5) else self.description()
        ds["includedInDataCatalog"] = [self.catalogue("matilda", url)]
        self.finish(rec, ds, kind, i, name=name, resource_type="dataset", source=["matilda"],
                    harmony_id=f"matilda/{slugify(name).replace('-', '')}{i}/gads_{rng.randint(1, 9)}",
                    urls=[url], temporal_form=None, keywords=[], country_codes=["AU"],
                    geographic_coverage="", data_access=url.replace("publications", "contact-us"))


def generate(n: int, seed: int = 1) -> Iterator[Record]:
    """Yield ``n`` synthetic Harmony records (bare record dicts) for ``seed``.

    The same ``(n, seed)`` always gives the same records, and the first ``k`` records of
    a longer run equal a run of ``k``: records never depend on how many follow.

    Records share nested objects with earlier ones (a parent's ``dataset_schema`` inside
    its children's ``ancestors``, a cohort's keyword list), which is what keeps this cheap:
    treat them as read-only, or deep-copy before changing one.
    """
    return Generator(seed).records(n)


def write_jsonl(n: int, seed: int, out: TextIO) -> None:
    """Write ``n`` lines ``{"record": {...}}``, the line format of the real record files."""
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    write = out.write
    for record in generate(n, seed):
        write(dumps({"record": record}))
        write("\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("n", type=int, help="number of records")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="-", help="output file (.jsonl), or - for stdout")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("N must be >= 0")
    if args.out == "-":
        try:
            write_jsonl(args.n, args.seed, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # `| head` closed the pipe: not an error for a generator
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    else:
        with open(args.out, "w", encoding="utf-8", buffering=1 << 20) as fh:
            write_jsonl(args.n, args.seed, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
