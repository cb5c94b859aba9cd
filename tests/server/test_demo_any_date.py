"""`make run` loads the demo whatever the date: early in the plan, today, or after it ends.

The demo's reports follow the plans' periods up to the day it is loaded, so each
date brings periods, targets and deadlines the others do not (a target whose
deadline has passed, a field added to the catalogue since). A demo that fails to
load leaves a new user with nothing to try.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from demo_loaded import demo_app, loading_demo
from sqlalchemy import func, select

from forms.issues import unexplained
from server.models.reporting import Report, Status
from server.services import reporting
from server.services.accounts import get_user

pytestmark = pytest.mark.slow  # builds the whole demo


@pytest.mark.parametrize("now", [
    datetime(2026, 12, 6, 3, 0, tzinfo=UTC),   # late in the plan: most targets due
    datetime(2027, 3, 1, 3, 0, tzinfo=UTC),    # after the plan's last deadline
], ids=["late-in-the-plan", "after-the-plan"])
def test_the_demo_loads_and_every_handed_in_report_is_explained(migrated, tmp_path, now):
    with (demo_app(migrated, tmp_path) as app,
          loading_demo(app, "en", now) as (session, summary)):
        assert summary.units_created > 0 and summary.reports.statuses[Status.APPROVED] > 0
        handed_in = session.scalars(select(Report).where(
            Report.status.in_([Status.SUBMITTED, Status.APPROVED]))).all()
        assert handed_in
        admin = get_user(session, "admin")
        for report in handed_in[:200]:  # as the service sees them today
            view = reporting.load(session, admin, report.assignment.key,
                                  report.unit.code, report.period)
            figures, general = unexplained(reporting.issues_for(view), report.explanations
                                           or {}, report.remarks)
            assert not figures, (report.unit.code, report.period)
        assert session.scalar(select(func.count()).select_from(Report)) >= len(handed_in)
