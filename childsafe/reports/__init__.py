"""Report intake: the questionnaire, the reporter's identity, and evidence at receipt.

- `childsafe.reports.core` — pure domain logic, no I/O (import-linter enforced):
  `engine` (step / evaluate / classify), `flow` (parse + check a flow), `answers`,
  `identity`, `verification`, `evidence.*`, `tips`, `views`.
- `childsafe.reports.catalog` — reads the packaged data (`flows/`, `tips/`, `data/`).
- `childsafe.reports.intake` — persistence on the store (owned by the platform side).
"""
