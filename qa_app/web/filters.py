"""Template helpers: local times with their zone, and the roles of the signed-in user."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """A UTC timestamp shown in the pharmacy's time zone, with the zone named."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(current_app.config["QA_TIMEZONE"])).strftime(fmt)


def init_app(app: Flask) -> None:
    ZoneInfo(app.config["QA_TIMEZONE"])  # an unknown zone fails at start-up, not on a page
    app.add_template_filter(local_time, "local_time")

    @app.context_processor
    def pharmacy():
        return {"pharmacy_name": app.config["QA_PHARMACY_NAME"]}
