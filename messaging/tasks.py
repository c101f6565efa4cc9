"""Task paths of task rows queued by earlier versions, kept so that those rows still run.

django-tasks-db stores a task's import path with each row and imports it when the row runs.
The tasks now live with the work they do: `messaging.wake.process_callbacks` and
`messaging.services.reprocess_walk`; rows queued under `messaging.tasks.<name>` find them here.
Nothing in the project imports this module (it would bring back the services ↔ tasks cycle).
"""

from __future__ import annotations

from messaging.services import reprocess_walk
from messaging.wake import process_callbacks

__all__ = ["process_callbacks", "reprocess_walk"]
