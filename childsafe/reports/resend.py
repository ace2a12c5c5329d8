"""A new verification code for a reporter whose code expired (24 h) or was typed wrongly too
often, while the report itself still waits (72 h). Limited to 3 a day per report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from childsafe.core.errors import InvalidInput, NotFound
from childsafe.reports import intake
from childsafe.reports.core.identity import AgeBand, Relationship, Reporter
from childsafe.store import agencies

RESENDS_PER_DAY = 3


def resend_verification(session: Session, ctx: intake.IntakeContext, status_token: str,
                        now: datetime) -> None:
    report = intake.report_by_status_token(session, status_token)
    if report.verified_at is not None:
        raise InvalidInput("This report is already confirmed.", field="code")
    if not report.has_email:
        raise InvalidInput("This report has no email address to confirm.", field="code")
    if report.state == intake.ReportState.AWAITING_VERIFICATION.value and \
            report.expires_at is not None and report.expires_at <= now:
        raise NotFound("This report has expired.")
    if not ctx.limiter.hit(f"resend:{report.id}", limit=RESENDS_PER_DAY, window_seconds=86400):
        raise intake.RateLimited("We already sent several new codes today. Please check your "
                                 "email, including the spam folder.")
    raw = intake.read_reporter(ctx.keyring, report)
    reporter = Reporter(raw["name"], raw.get("email"), raw.get("phone"), raw["country"],
                        AgeBand(raw["age_band"]), Relationship(raw["relationship"]))
    jurisdiction, _ = agencies.route_country(session, report.country)
    intake.send_verification(session, ctx, report, reporter, jurisdiction.emergency_number,
                              now)
