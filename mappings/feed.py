"""The change feed's vocabulary: what a studygraph server writes at ``/changes`` and what a
harvester of another studygraph reads there, named once so the two cannot drift apart.

A feed page is a Hydra ``PartialCollectionView`` whose members are Activity Streams
activities, one per change: its type says what happened to the study (its object), and
the project vocabulary carries the change's sequence number and the feed's latest one.
"""

from __future__ import annotations

from .namespaces import AS

#: Where a studygraph serves its change feed, and the parameter it resumes from.
FEED_PATH = "/changes"
SINCE_PARAMETER = "since"

#: The Activity Streams type (local name) of each kind of change in the change log.
ACTIVITIES: dict[str, str] = {"created": "Create", "replaced": "Update", "deleted": "Delete"}
#: The activity that removes its object; the others create or replace it.
DELETE = ACTIVITIES["deleted"]
#: What an activity is about (the study), and when it happened.
OBJECT = AS + "object"
PUBLISHED = AS + "published"

#: Terms of the project vocabulary (``sg:``, under the serving base URL, so a harvester
#: knows them by local name): an activity's sequence number, and the feed's latest.
CHANGE_SEQUENCE = "changeSequence"
LATEST_CHANGE = "latestChange"
