"""The e-mail digest of open review alerts (channel ``email``), sent every ``email.interval_h`` hours.

What it says is set by the site (``email.content``), never more:

- ``counts`` (default): how many alerts are new and acknowledged, how many of them are older than seven
  days, and the worklist link (when ``email.worklist_reviewer`` names whom the link records as reviewer);
- ``titles``: also the number of open alerts per card title.

It never names a patient, an identifier, a date of birth or a clinical value: e-mail leaves the EHR's
access control, so the digest only says that there is work and where to do it. The worklist link is the
credential of the worklist (signed, valid for the worklist link lifetime): the recipients must be the
reviewers the link is meant for.

SMTP with ``smtplib`` (standard library): STARTTLS (required when ``security`` is ``starttls``: a server
that does not offer it is an error, never a fallback to plain text), implicit TLS, or none for a local
relay; certificate and host name checked against the system's CA store (or ``email.ca_file``); login only
over TLS. A send failure is retried at
the next loop pass (the digest is not marked sent). An empty digest (no open alerts) is not sent.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from collections import Counter
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Final

from cds_service.alerts.config import EmailConfig
from cds_service.storage.store import AlertRecord, AlertState

__all__ = ["DigestError", "digest_message", "send_digest"]

STALE_DAYS: Final = 7
SUBJECT: Final = "HER2 PET CDS: open T-DXd eligibility review alerts"


class DigestError(Exception):
    """The SMTP server refused or could not be reached (the message holds no secret)."""


def digest_message(
    config: EmailConfig,
    alerts: Sequence[AlertRecord],
    *,
    now: dt.datetime,
    worklist_link: str | None,
    link_hours: float,
) -> EmailMessage | None:
    """The digest of the open ``alerts`` (None when there are none)."""
    open_alerts = [a for a in alerts if a.state in (AlertState.NEW, AlertState.ACKNOWLEDGED)]
    if not open_alerts:
        return None
    states = Counter(a.state for a in open_alerts)
    stale = sum(1 for a in open_alerts if now - a.created_at > dt.timedelta(days=STALE_DAYS))
    lines = [
        f"Open review alerts: {len(open_alerts)}",
        f"- new: {states[AlertState.NEW]}",
        f"- acknowledged: {states[AlertState.ACKNOWLEDGED]}",
        f"- open for more than {STALE_DAYS} days: {stale}",
        "",
    ]
    if config.content == "titles":
        lines.append("By card:")
        for title, count in sorted(Counter(a.title for a in open_alerts).items()):
            lines.append(f"- {title}: {count}")
        lines.append("")
    lines.append("Each alert asks for a review of the patient's HER2 results; it does not state eligibility.")
    if worklist_link:
        lines += ["", f"Worklist (link valid {link_hours:g} hours):", worklist_link]
    else:
        lines += ["", "Open the review worklist from the link your site gave you."]
    message = EmailMessage()
    message["Subject"] = SUBJECT
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message["Date"] = formatdate(now.timestamp(), usegmt=True)
    message["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2] or None)
    message.set_content("\n".join(lines) + "\n")
    return message


def send_digest(config: EmailConfig, message: EmailMessage) -> None:
    """Send ``message`` over SMTP as configured. Raises :class:`DigestError`."""
    try:
        context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
        if config.security == "tls":
            with smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout_s, context=context
            ) as smtp:
                _login_and_send(smtp, config, message)
            return
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
            smtp.ehlo()
            if config.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise DigestError("the SMTP server does not offer STARTTLS")
                smtp.starttls(context=context)
                smtp.ehlo()
            _login_and_send(smtp, config, message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DigestError(f"SMTP delivery failed ({type(exc).__name__})") from exc


def _login_and_send(smtp: smtplib.SMTP, config: EmailConfig, message: EmailMessage) -> None:
    if config.username and config.password is not None:
        smtp.login(config.username, config.password)
    smtp.send_message(message)
