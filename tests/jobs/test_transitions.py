"""Job transitions as pure functions: every allowed and every refused transition, without a database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from workbench.jobs.model import Job, JobStatus
from workbench.jobs.transitions import (
    InvalidTransition,
    acknowledge_cancel,
    claim,
    expire,
    fail,
    finish,
    release,
    renew,
    report_progress,
    request_cancel,
)

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
LEASE = 60
SOON = T0 + timedelta(seconds=30)  # lease still valid
LATE = T0 + timedelta(seconds=LEASE + 1)  # lease expired
JOB_ID = "0123456789abcdef0123456789abcdef"


def queued(**changes) -> Job:
    job = Job(id=JOB_ID, owner="ana", name="screen", inputs={"fasta": ">a\nMKV"}, parameters={"relax": True},
              status=JobStatus.QUEUED, progress={}, attempts=0, lease_owner=None, lease_expires=None,
              cancel_requested=False, created_at=T0 - timedelta(hours=1), started_at=None, finished_at=None,
              result_path=None, error=None, version=7)
    return dataclasses.replace(job, **changes)


def running(**changes) -> Job:
    base = dict(status=JobStatus.RUNNING, attempts=1, lease_owner="w1", lease_expires=T0 + timedelta(seconds=LEASE),
                started_at=T0)
    return queued(**{**base, **changes})


def terminal(status: JobStatus) -> Job:
    return queued(status=status, attempts=1, started_at=T0, finished_at=T0)


NOTE = f"lease of w1 expired at {(T0 + timedelta(seconds=LEASE)).isoformat()}"

ALLOWED = [
    ("claim", queued(), lambda j: claim(j, "w1", T0, LEASE),
     dict(status=JobStatus.RUNNING, attempts=1, lease_owner="w1", lease_expires=T0 + timedelta(seconds=LEASE),
          started_at=T0)),
    ("claim again keeps started_at", queued(attempts=1, started_at=T0 - timedelta(minutes=5), error=NOTE),
     lambda j: claim(j, "w2", T0, LEASE),
     dict(status=JobStatus.RUNNING, attempts=2, lease_owner="w2", started_at=T0 - timedelta(minutes=5), error=NOTE)),
    ("renew", running(), lambda j: renew(j, "w1", SOON, LEASE),
     dict(status=JobStatus.RUNNING, lease_owner="w1", lease_expires=SOON + timedelta(seconds=LEASE))),
    ("renew with cancel pending", running(cancel_requested=True), lambda j: renew(j, "w1", SOON, LEASE),
     dict(cancel_requested=True, lease_expires=SOON + timedelta(seconds=LEASE))),
    ("report progress", running(), lambda j: report_progress(j, "w1", {"total": 10, "done": 3}),
     dict(status=JobStatus.RUNNING, progress={"total": 10, "done": 3})),
    ("finish", running(error=NOTE), lambda j: finish(j, "w1", SOON, "/out/job"),
     dict(status=JobStatus.DONE, finished_at=SOON, result_path="/out/job", error=None, lease_owner=None,
          lease_expires=None)),
    ("finish after lease ran out, not yet taken back", running(), lambda j: finish(j, "w1", LATE, "/out/job"),
     dict(status=JobStatus.DONE, finished_at=LATE)),
    ("fail", running(), lambda j: fail(j, "w1", SOON, "CUDA out of memory"),
     dict(status=JobStatus.FAILED, finished_at=SOON, error="CUDA out of memory", lease_owner=None,
          lease_expires=None)),
    ("cancel queued", queued(), lambda j: request_cancel(j, SOON),
     dict(status=JobStatus.CANCELLED, cancel_requested=True, finished_at=SOON)),
    ("cancel running", running(), lambda j: request_cancel(j, SOON),
     dict(status=JobStatus.RUNNING, cancel_requested=True, lease_owner="w1", finished_at=None)),
    ("acknowledge cancel", running(cancel_requested=True), lambda j: acknowledge_cancel(j, "w1", SOON),
     dict(status=JobStatus.CANCELLED, finished_at=SOON, lease_owner=None, lease_expires=None)),
    ("expire back to queue", running(), lambda j: expire(j, LATE, 3),
     dict(status=JobStatus.QUEUED, attempts=1, lease_owner=None, lease_expires=None, error=NOTE, finished_at=None)),
    ("expire exactly at the lease end", running(), lambda j: expire(j, T0 + timedelta(seconds=LEASE), 3),
     dict(status=JobStatus.QUEUED)),
    ("expire gives up", running(attempts=3), lambda j: expire(j, LATE, 3),
     dict(status=JobStatus.FAILED, finished_at=LATE, error=f"gave up after 3 attempts: {NOTE}", lease_owner=None)),
    ("expire with cancel pending", running(attempts=3, cancel_requested=True), lambda j: expire(j, LATE, 3),
     dict(status=JobStatus.CANCELLED, finished_at=LATE, lease_owner=None, error=None)),
    ("release", running(attempts=2), lambda j: release(j, "w1", SOON),
     dict(status=JobStatus.QUEUED, attempts=2, lease_owner=None, lease_expires=None, finished_at=None)),
    ("release with cancel pending", running(cancel_requested=True), lambda j: release(j, "w1", SOON),
     dict(status=JobStatus.CANCELLED, finished_at=SOON, lease_owner=None)),
]


@pytest.mark.parametrize(("label", "job", "action", "expected"), ALLOWED, ids=[case[0] for case in ALLOWED])
def test_allowed(label, job, action, expected):
    new = action(job)
    assert new.version == job.version + 1
    for field, value in expected.items():
        assert getattr(new, field) == value, field
    unchanged = {"id", "owner", "name", "inputs", "parameters", "created_at"}
    assert all(getattr(new, field) == getattr(job, field) for field in unchanged)


REFUSED = [
    ("claim", running(), lambda j: claim(j, "w2", SOON, LEASE), "only a queued job"),
    ("claim", terminal(JobStatus.DONE), lambda j: claim(j, "w2", SOON, LEASE), "only a queued job"),
    ("claim", queued(cancel_requested=True), lambda j: claim(j, "w1", SOON, LEASE), "a cancel was requested"),
    ("renew", running(), lambda j: renew(j, "w2", SOON, LEASE), "the lease is held by 'w1', not 'w2'"),
    ("renew", running(), lambda j: renew(j, "w1", LATE, LEASE), "already expired"),
    ("renew", queued(), lambda j: renew(j, "w1", SOON, LEASE), "only a running job"),
    ("report progress", running(), lambda j: report_progress(j, "w2", {}), "held by 'w1'"),
    ("report progress", terminal(JobStatus.DONE), lambda j: report_progress(j, "w1", {}), "only a running job"),
    ("finish", running(), lambda j: finish(j, "w2", SOON, "/out"), "held by 'w1'"),
    ("finish", queued(), lambda j: finish(j, "w1", SOON, "/out"), "only a running job"),
    ("finish", terminal(JobStatus.DONE), lambda j: finish(j, "w1", SOON, "/out"), "only a running job"),
    ("fail", running(), lambda j: fail(j, "w2", SOON, "boom"), "held by 'w1'"),
    ("fail", terminal(JobStatus.CANCELLED), lambda j: fail(j, "w1", SOON, "boom"), "only a running job"),
    ("cancel", terminal(JobStatus.DONE), lambda j: request_cancel(j, SOON), "only a queued or running job"),
    ("cancel", terminal(JobStatus.FAILED), lambda j: request_cancel(j, SOON), "only a queued or running job"),
    ("cancel", terminal(JobStatus.CANCELLED), lambda j: request_cancel(j, SOON), "only a queued or running job"),
    ("cancel", running(cancel_requested=True), lambda j: request_cancel(j, SOON), "already requested"),
    ("acknowledge cancel", running(), lambda j: acknowledge_cancel(j, "w1", SOON), "no cancel was requested"),
    ("acknowledge cancel", running(cancel_requested=True), lambda j: acknowledge_cancel(j, "w2", SOON),
     "held by 'w1'"),
    ("acknowledge cancel", queued(), lambda j: acknowledge_cancel(j, "w1", SOON), "only a running job"),
    ("expire", running(), lambda j: expire(j, SOON, 3), "runs until"),
    ("expire", queued(), lambda j: expire(j, LATE, 3), "only a running job"),
    ("expire", terminal(JobStatus.DONE), lambda j: expire(j, LATE, 3), "only a running job"),
    ("release", running(), lambda j: release(j, "w2", SOON), "held by 'w1'"),
    ("release", queued(), lambda j: release(j, "w1", SOON), "only a running job"),
]


@pytest.mark.parametrize(("action_name", "job", "action", "reason"), REFUSED,
                         ids=[f"{case[0]} {case[1].status} {case[3]}" for case in REFUSED])
def test_refused(action_name, job, action, reason):
    with pytest.raises(InvalidTransition) as caught:
        action(job)
    message = str(caught.value)
    assert message.startswith(f"job {JOB_ID} ({job.status.value}): cannot {action_name}: ")
    assert reason in message
    assert (caught.value.job_id, caught.value.status, caught.value.action) == (JOB_ID, job.status, action_name)
    assert isinstance(caught.value, ValueError)


def test_versions_count_every_transition():
    job = queued(version=0)
    job = claim(job, "w1", T0, LEASE)
    job = report_progress(job, "w1", {"done": 1})
    job = renew(job, "w1", SOON, LEASE)
    job = expire(job, SOON + timedelta(seconds=LEASE), max_attempts=3)
    job = claim(job, "w2", LATE, LEASE)
    job = finish(job, "w2", LATE, "/out")
    assert (job.version, job.attempts, job.status, job.started_at) == (6, 2, JobStatus.DONE, T0)


def test_progress_is_copied():
    progress = {"done": 1}
    job = report_progress(running(), "w1", progress)
    progress["done"] = 2
    assert job.progress == {"done": 1}


@pytest.mark.parametrize("action", [
    lambda: claim(queued(), "w1", datetime(2025, 1, 1), LEASE),
    lambda: claim(queued(), "w1", T0, 0),
    lambda: renew(running(), "w1", SOON, -5),
    lambda: expire(running(), LATE, 0),
    lambda: finish(running(), "w1", datetime(2025, 1, 1), "/out"),
], ids=["naive now", "zero lease", "negative lease", "zero max_attempts", "naive finish time"])
def test_bad_arguments(action):
    with pytest.raises(ValueError) as caught:
        action()
    assert not isinstance(caught.value, InvalidTransition)


def test_progress_must_be_a_dict():
    with pytest.raises(TypeError, match="progress must be a dict"):
        report_progress(running(), "w1", [1, 2])


def test_other_timezones_compare_correctly():
    tokyo = timezone(timedelta(hours=9))
    job = running()
    assert renew(job, "w1", SOON.astimezone(tokyo), LEASE).lease_expires == SOON + timedelta(seconds=LEASE)
    with pytest.raises(InvalidTransition, match="runs until"):
        expire(job, SOON.astimezone(tokyo), 3)


def test_job_checks_its_fields():
    assert queued(status="running").status is JobStatus.RUNNING
    with pytest.raises(ValueError, match="not a valid JobStatus"):
        queued(status="paused")
    with pytest.raises(ValueError, match="created_at must be a timezone-aware datetime"):
        queued(created_at=datetime(2025, 1, 1))
