r"""A Python client of the HTTP API (:mod:`workbench.api.app`), with httpx.

Examples
--------
>>> from workbench.request import BatchRequest
>>> client = WorkbenchClient("http://127.0.0.1:8000", "wbt_...")  # doctest: +SKIP
>>> job = client.submit(">a\nMKV...\n", BatchRequest.create("esmfold"), name="demo")  # doctest: +SKIP
>>> client.get(job.id).status  # doctest: +SKIP
<JobStatus.QUEUED: 'queued'>
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter

from workbench.api.models import Health, JobDetail, JobSummary, Me, RequestJSON, SubmitBody, Upload
from workbench.jobs.model import JobStatus
from workbench.request import BatchRequest
from workbench.results import SummaryRow

__all__ = ["ApiError", "WorkbenchClient"]

_ROWS = TypeAdapter(list[SummaryRow])
_JOBS = TypeAdapter(list[JobSummary])


class ApiError(RuntimeError):
    """The server refused a request: its HTTP status and its one-line reason.

    Attributes
    ----------
    status : int
    detail : str
    """

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class WorkbenchClient:
    """Submit, follow, cancel and download jobs of a workbench HTTP API.

    Parameters
    ----------
    base_url : str
        ``http://127.0.0.1:8000`` (what ``workbench api`` prints).
    token : str
        From ``workbench token create --owner NAME``.
    timeout : float
        Seconds per request.
    transport : httpx.BaseTransport, optional
        For tests (an in-process ASGI app).
    """

    def __init__(self, base_url: str, token: str, *, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"},
                                  timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> WorkbenchClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, url, **kwargs)
        if response.is_error:
            try:
                detail = str(response.json().get("detail", response.text))
            except ValueError:
                detail = response.text.strip() or response.reason_phrase
            raise ApiError(response.status_code, detail)
        return response

    def health(self) -> Health:
        """``GET /health``."""
        return Health.model_validate_json(self._call("GET", "/health").content)

    def me(self) -> Me:
        """``GET /me``: the token's owner and whether they are an admin."""
        return Me.model_validate_json(self._call("GET", "/me").content)

    def submit(self, fasta: str, request: BatchRequest | None = None, *, name: str = "") -> JobSummary:
        """Queue a FASTA batch (``POST /jobs``); the request defaults to :class:`BatchRequest`'s defaults."""
        body = SubmitBody(fasta=fasta, request=RequestJSON.of(request or BatchRequest()), name=name)
        return JobSummary.model_validate_json(self._call("POST", "/jobs", content=body.model_dump_json(),
                                                         headers={"Content-Type": "application/json"}).content)

    def upload_template(self, path: str | os.PathLike[str]) -> Upload:
        """Store a template structure on the server (``POST /uploads``); name ``.path`` in the request."""
        return Upload.model_validate_json(self._call("POST", "/uploads", content=Path(path).read_bytes(),
                                                     headers={"Content-Type": "application/octet-stream"}).content)

    def list_jobs(self, status: JobStatus | str | None = None, limit: int = 100) -> list[JobSummary]:
        """``GET /jobs``: one's own jobs (an admin's: everyone's), newest first."""
        params: dict[str, str | int] = {"limit": limit} | ({"status": str(status)} if status is not None else {})
        return _JOBS.validate_json(self._call("GET", "/jobs", params=params).content)

    def get(self, job_id: str) -> JobDetail:
        """``GET /jobs/{id}``."""
        return JobDetail.model_validate_json(self._call("GET", f"/jobs/{job_id}").content)

    def cancel(self, job_id: str) -> JobSummary:
        """``POST /jobs/{id}/cancel``."""
        return JobSummary.model_validate_json(self._call("POST", f"/jobs/{job_id}/cancel").content)

    def summary(self, job_id: str) -> list[SummaryRow]:
        """``GET /jobs/{id}/summary``: the results summary's rows."""
        return _ROWS.validate_json(self._call("GET", f"/jobs/{job_id}/summary").content)

    def download(self, job_id: str, path: str, to: str | os.PathLike[str] | None = None) -> bytes:
        """``GET /jobs/{id}/files/{path}``: the file's bytes, also written to ``to`` when given."""
        data = self._call("GET", f"/jobs/{job_id}/files/{path}").content
        if to is not None:
            from workbench.files import atomic_write_bytes

            atomic_write_bytes(Path(to), data)
        return data
