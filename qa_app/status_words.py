"""Statuses in words, for people: ``awaiting_release`` is "Awaiting release".

Records keep their status codes (the API and the CSS classes use them); pages, PDFs and
messages say them with this one table. A code not in it is read by a rule: underscores become
spaces and the first letter a capital.
"""

STATUS_WORDS: dict[str, str] = {
    # batches
    "draft": "Draft",
    "quarantine": "In quarantine",
    "on_hold": "On hold",
    "awaiting_release": "Awaiting release",
    "released": "Released",
    "rejected": "Rejected",
    "recalled": "Recalled",
    "discarded": "Discarded",
    # lots, formula versions, certificates
    "approved": "Approved",
    "superseded": "Superseded",
    "valid": "Valid",
    "revoked": "Revoked",
    # investigations, exports, alerts
    "open": "Open",
    "closed": "Closed",
    "running": "Running",
    "done": "Done",
    "failed": "Failed",
    "pending": "Pending",
    "sent": "Sent",
    # excursions
    "allowable": "Allowable",
    "needs_disposition": "Needs a disposition",
    "dispositioned": "Dispositioned",
    "withdrawn": "Withdrawn",
}


def status_text(code: str | None) -> str:
    """A status code as people say it: "On hold"; "—" when there is none."""
    if not code:
        return "—"
    if code in STATUS_WORDS:
        return STATUS_WORDS[code]
    words = code.replace("_", " ").strip()
    return words[:1].upper() + words[1:]
