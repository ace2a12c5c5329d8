"""Every table of every context, registered on one metadata (for Alembic and schema checks)."""

from childsafe.store import (
    block_models,  # noqa: F401 - registers the block list tables
    case_models,  # noqa: F401 - registers deliveries, police directory, sharing
    handoff_models,  # noqa: F401 - registers report hand-offs
    report_models,  # noqa: F401 - registers the report tables
    watch_models,  # noqa: F401 - registers the watch tables
)
from childsafe.store.models import Base

metadata = Base.metadata
