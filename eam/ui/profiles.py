"""What each profile lets a person do, in words (from the domain notes), per application."""

from __future__ import annotations

from eam.ui.i18n import N_

DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("healthstat", "data_provider/hospital"): N_("Reports with the data of your own organisation."),
    ("healthstat", "data_provider/individual"): N_("Reports with only the data you registered yourself."),
    ("healthstat", "sponsor/sponsor"): N_("All reports with data collected at hospital level (for the sponsor or coordinator of the data collection)."),
    ("healthstat", "sponsor/individual"): N_("Reports with only the data you registered yourself."),
    ("hd4dp2", "local_study_lead"): N_("Create registrations; edit and review all registrations of the project within the organisation."),
    ("hd4dp2", "local_study_associate"): N_("Create registrations; edit only your own."),
    ("hd4dp2", "local_study_support"): N_("Co-author: create and edit the registrations of the author group you are linked to (an author group is required)."),
}


def describe(application: str, key: str) -> str:
    """The description of a profile (untranslated; templates translate it), or "" if none is known."""
    return DESCRIPTIONS.get((application, key), "")
