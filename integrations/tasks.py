"""The integrations' background tasks under the paths rows were queued with before they moved.

django-tasks-db resolves a row's `task_path` with `import_string`: a row queued as
`integrations.tasks.deliver_pending` or `integrations.tasks.resend_walk` finds the task here,
defined in `integrations.dispatch` (which queues new rows under its own path).
"""

from __future__ import annotations

from integrations.dispatch import deliver_pending, resend_walk

__all__ = ["deliver_pending", "resend_walk"]
