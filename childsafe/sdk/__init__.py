"""childsafe's provider kit: a typed Python client for chat and IM services.

    from childsafe.sdk import Client, Conversation, Participant, CapturedMessage

    client = Client("https://childsafe.example", api_key="csk_…")
    handoff = client.reports.handoff(conversation=Conversation(...), reporter={...})
    # open handoff.url in the user's browser

Sync `Client` and `AsyncClient` cover every provider endpoint (reports, evidence, report
hand-off, rooms, the public badge, message streaming); `verify_webhook` checks and parses the
webhooks the platform sends you. The package depends on httpx only, never on the rest of
childsafe, so a provider can vendor or install it alone.
"""

from childsafe.sdk._http import VERSION, RetryPolicy
from childsafe.sdk.async_client import AsyncClient
from childsafe.sdk.client import Client
from childsafe.sdk.errors import (
    AuthenticationError,
    ChildsafeError,
    ConflictError,
    FieldError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
    WebhookVerificationError,
)
from childsafe.sdk.models import (
    AgencyRef,
    Badge,
    CapturedMessage,
    ChatMessage,
    Classification,
    Conversation,
    Evidence,
    EvidenceFile,
    Handoff,
    IngestedConversation,
    IngestResult,
    Monitoring,
    Participant,
    ProviderIdentity,
    Report,
    Reporter,
    ReportStatus,
    Room,
)
from childsafe.sdk.webhooks import (
    BadgeChange,
    BadgeText,
    Intervention,
    PreservationRequest,
    PreservedReport,
    WebhookEvent,
    sign,
    verify_webhook,
)

__version__ = VERSION
__all__ = [
    "AgencyRef", "AsyncClient", "AuthenticationError", "Badge", "BadgeChange", "BadgeText",
    "CapturedMessage", "ChatMessage", "ChildsafeError", "Classification", "Client",
    "ConflictError", "Conversation", "Evidence", "EvidenceFile", "FieldError", "Handoff",
    "IngestResult", "IngestedConversation", "Intervention", "Monitoring", "NotFoundError",
    "Participant", "PermissionDeniedError", "PreservationRequest", "PreservedReport",
    "ProviderIdentity", "RateLimitedError", "Report", "ReportStatus", "Reporter",
    "RetryPolicy", "Room", "ServerError", "TransportError", "ValidationError",
    "WebhookEvent", "WebhookVerificationError", "sign", "verify_webhook",
]
