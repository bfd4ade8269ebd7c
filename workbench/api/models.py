"""The HTTP API's JSON bodies: pydantic models built from the project's types.

A job's request is :class:`RequestJSON`, the fields of
:meth:`workbench.request.BatchRequest.to_json` (``predictor_options`` and
``refine_options`` stay mappings: their fields are each predictor's own options
dataclass and :class:`~workbench.refine.RefineConfig`, checked by
:meth:`~workbench.request.BatchRequest.from_json`). Summary rows and job items
are the project's own dataclasses (:class:`~workbench.results.SummaryRow`,
:class:`~workbench.jobs.JobItem`), which pydantic validates and documents as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workbench.io.fasta import DEFAULT_MAX_LENGTH
from workbench.jobs.model import Job, JobItem, JobStatus
from workbench.predict.base import DEFAULT_PREDICTOR
from workbench.request import REQUEST_VERSION, BatchRequest
from workbench.results import SummaryRow

__all__ = ["Health", "JobDetail", "JobSummary", "Me", "RequestJSON", "SubmitBody", "SummaryRow", "Upload"]

#: Longest job name accepted (the UI's limit too).
NAME_LIMIT = 200


class RequestJSON(BaseModel):
    """A :class:`~workbench.request.BatchRequest` in its JSON form (what the job store keeps)."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(default=REQUEST_VERSION, description="version of this form")
    predictor: str = Field(default=DEFAULT_PREDICTOR, description="a registered predictor: template, esmfold, ...")
    predictor_options: dict[str, Any] = Field(default_factory=dict, description="fields of the predictor's options")
    refine: bool = Field(default=True, description="relax every model")
    refine_options: dict[str, Any] = Field(default_factory=dict, description="RefineConfig fields (md_ps, ...)")
    max_length: int = Field(default=DEFAULT_MAX_LENGTH, description="longest accepted sequence, residues")

    @classmethod
    def of(cls, request: BatchRequest) -> RequestJSON:
        """The JSON form of ``request``."""
        return cls(**request.to_json())

    def to_request(self) -> BatchRequest:
        """The typed request (:meth:`BatchRequest.from_json`; ValueError, one line, for a bad one)."""
        return BatchRequest.from_json(self.model_dump())


class SubmitBody(BaseModel):
    """``POST /jobs``: a FASTA batch and what to compute."""

    model_config = ConfigDict(extra="forbid")

    fasta: str = Field(description="FASTA text; ':' separates the chains of a complex")
    request: RequestJSON = Field(default_factory=lambda: RequestJSON(), description="the batch request")
    name: str = Field(default="", max_length=NAME_LIMIT, description="a label for people")


class JobSummary(BaseModel):
    """A job as ``GET /jobs`` lists it: status and counts, not its inputs."""

    id: str
    owner: str
    name: str
    status: JobStatus
    predictor: str | None = Field(description="the request's predictor")
    progress: dict[str, int | float] = Field(description="counters: total, done, cached, failed, ...")
    attempts: int
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    has_results: bool = Field(description="a results folder is recorded (the summary and files can be read)")

    @classmethod
    def of(cls, job: Job) -> JobSummary:
        """From a store's :class:`~workbench.jobs.Job`."""
        predictor = job.parameters.get("predictor")
        progress = {key: value for key, value in job.progress.items()
                    if isinstance(value, int | float) and not isinstance(value, bool)}
        return cls(id=job.id, owner=job.owner, name=job.name, status=job.status,
                   predictor=predictor if isinstance(predictor, str) else None, progress=progress,
                   attempts=job.attempts, cancel_requested=job.cancel_requested, created_at=job.created_at,
                   started_at=job.started_at, finished_at=job.finished_at, error=job.error,
                   has_results=job.result_path is not None)


class JobDetail(JobSummary):
    """``GET /jobs/{id}``: the summary, the request, the FASTA and the per-record rows."""

    request: RequestJSON | None = Field(description="the request (None if this version cannot load it)")
    fasta: str
    items: list[JobItem]

    @classmethod
    def of_job(cls, job: Job, items: list[JobItem]) -> JobDetail:
        """From a store's job and its item rows."""
        try:
            request: RequestJSON | None = RequestJSON.of(BatchRequest.from_json(job.parameters))
        except ValueError:
            request = None
        fasta = job.inputs.get("fasta")
        return cls(**JobSummary.of(job).model_dump(), request=request,
                   fasta=fasta if isinstance(fasta, str) else "", items=items)


class Me(BaseModel):
    """``GET /me``: whom the token belongs to."""

    owner: str
    admin: bool = Field(description="sees and cancels every job ($WORKBENCH_ADMINS)")


class Health(BaseModel):
    """``GET /health`` (no token needed)."""

    status: str
    version: str


class Upload(BaseModel):
    """``POST /uploads``: where a checked structure was stored, to name in ``predictor_options``."""

    path: str
    sha256: str
