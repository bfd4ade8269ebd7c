"""The FastAPI application: jobs submitted, listed, read, cancelled and downloaded, per user, with tokens.

Every request but ``GET /health`` carries ``Authorization: Bearer <token>``
(``workbench token create --owner NAME``); the store maps the token to its
owner. The scoping is the UI's: a job belongs to its ``owner``; owners named in
``$WORKBENCH_ADMINS`` see and cancel every job. Another user's job answers 404,
as an unknown one does, so ids do not leak. Every error body is
``{"detail": "<one line>"}``. OpenAPI: ``/openapi.json`` and ``/docs``.

A submission goes through the checks of ``workbench submit`` and the Submit
view: the request is loaded with :meth:`BatchRequest.from_json`, its file
options are confined to the allowed folders (:mod:`workbench.confine`)
before anything opens them, then :meth:`BatchRequest.validate` and the
predictor's screen run, and every FASTA record must be valid.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at run time, and
# the token dependency (``Caller``) is local to each app.


import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workbench import __version__, config
from workbench.api.models import Health, JobDetail, JobSummary, Me, SubmitBody, Upload
from workbench.confine import confine_request
from workbench.errors import WorkbenchInputError, one_line
from workbench.io.fasta import scan_fasta
from workbench.jobs.model import Job, JobStatus, is_job_id
from workbench.jobs.retry import Backoff, StoreUnavailable
from workbench.jobs.store import JobStore
from workbench.jobs.transitions import InvalidTransition
from workbench.results import ITEM_FILES, SummaryRow, open_results
from workbench.ui.uploads import FASTA_LIMIT, MB, STRUCTURE_LIMIT, UploadError, save_template

__all__ = ["create_app"]

#: How long a request waits out a database outage before answering 503.
STORE_PATIENCE = 10.0
#: Largest request body: the largest upload (a 20 MB structure; a FASTA is at most 5 MB) and room for JSON.
MAX_BODY = STRUCTURE_LIMIT + MB


class User:
    """Who is asking: the token's owner, and whether they are an admin."""

    def __init__(self, owner: str, admin: bool) -> None:
        self.owner = owner
        self.admin = admin

    def may_see(self, job: Job) -> bool:
        """The UI's rule: one's own jobs; an admin's, all."""
        return self.admin or job.owner == self.owner


def _line(problem: BaseException | str) -> str:
    """A message as one line: an exception's :func:`~workbench.errors.one_line`, line breaks folded."""
    text = one_line(problem) if isinstance(problem, BaseException) else problem
    return " ".join(text.replace("<bytes>", "FASTA").split())


def _one_line_validation(error: RequestValidationError) -> str:
    """Pydantic's list of problems as one line: ``body.request.predictor: Input should be ...``."""
    parts = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem.get("loc", ()))
        parts.append(f"{where}: {problem.get('msg', 'invalid')}" if where else str(problem.get("msg", "invalid")))
    return _line("; ".join(parts) or "invalid request")


def create_app(store_url: str | None = None, results_root: str | os.PathLike[str] | None = None, *,
               file_roots: Sequence[str | os.PathLike[str]] | None = None,
               admins: frozenset[str] | None = None) -> FastAPI:
    """The HTTP API over the job store at ``store_url`` and the results under ``results_root``.

    Parameters
    ----------
    store_url : str, optional
        Job store URL (default :func:`workbench.jobs.default_url`). Its schema is upgraded on start,
        as ``workbench serve`` does (the tokens table came with revision 0002).
    results_root : path, optional
        The dispatcher's results folder (default ``$WORKBENCH_HOME/results``); files are served only from job
        folders inside it.
    file_roots : sequence of path, optional
        Folders besides ``$WORKBENCH_HOME/uploads`` (where ``POST /uploads`` stores templates) that a submitted
        request may name files in (default: ``$WORKBENCH_FILE_ROOTS``, :func:`workbench.config.file_roots`).
    admins : frozenset of str, optional
        Owners who see every job (default :func:`workbench.config.admins`).

    Returns
    -------
    FastAPI
    """
    store = JobStore(store_url, upgrade=True, retry=Backoff(give_up_after=STORE_PATIENCE))
    results = Path(os.path.realpath(results_root if results_root is not None else config.results_root()))
    roots = config.file_roots() if file_roots is None else (config.uploads_root(), *map(Path, file_roots))
    admin_names = admins if admins is not None else config.admins()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(title="protein-workbench", version=__version__, lifespan=lifespan,
                  description="Submit FASTA batches, follow and cancel jobs, read rankings and download result "
                              "files. Authenticate with `Authorization: Bearer <token>` "
                              "(`workbench token create --owner NAME`).")
    app.state.store = store

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                            content={"detail": _one_line_validation(error)})

    @app.middleware("http")
    async def _limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return JSONResponse(status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                                content={"detail": f"the request body is larger than {MAX_BODY // MB} MB"})
        return await call_next(request)

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(request: Request, error: StoreUnavailable) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                            content={"detail": f"the job store is not answering: {_line(error)}"})

    bearer = HTTPBearer(auto_error=False, description="a token from `workbench token create`")

    def user(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no token: send Authorization: Bearer <token>",
                                headers=challenge)
        owner = store.verify_token(credentials.credentials)
        if owner is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked token", headers=challenge)
        return User(owner, owner in admin_names)

    Caller = Annotated[User, Depends(user)]

    def visible_job(job_id: str, caller: User) -> Job:
        # the same answer for another user's job as for none, so ids do not leak; a malformed id is not echoed
        missing = HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}" if is_job_id(job_id) else "no such job")
        if not is_job_id(job_id):
            raise missing
        try:
            job = store.get(job_id)
        except KeyError:
            raise missing from None
        if not caller.may_see(job):
            raise missing
        return job

    def results_folder(job: Job) -> Path:
        if job.result_path is None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"job {job.id} has no results yet (it is {job.status})")
        folder = Path(os.path.realpath(job.result_path))
        if not folder.is_relative_to(results):
            raise HTTPException(status.HTTP_409_CONFLICT,
                                f"job {job.id}: its results are outside this server's results folder {results}")
        return folder

    @app.get("/health", response_model=Health, tags=["server"])
    def health() -> Health:
        """The server answers (no token needed)."""
        return Health(status="ok", version=__version__)

    @app.get("/me", response_model=Me, tags=["server"])
    def me(caller: Caller) -> Me:
        """Whom the token belongs to."""
        return Me(owner=caller.owner, admin=caller.admin)

    @app.post("/jobs", response_model=JobSummary, status_code=status.HTTP_201_CREATED, tags=["jobs"])
    def submit(body: SubmitBody, caller: Caller) -> JobSummary:
        """Queue a batch, checked as `workbench submit` and the Submit view check it."""
        def refuse(message: str) -> HTTPException:
            return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _line(message))

        if len(body.fasta.encode("utf-8", errors="replace")) > FASTA_LIMIT:
            raise refuse(f"the FASTA is larger than {FASTA_LIMIT // MB} MB")
        try:
            request = confine_request(body.request.to_request(), roots)
        except (ValueError, TypeError) as exc:  # PathNotAllowed is a ValueError
            raise refuse(_line(exc)) from None
        try:
            request.validate()
            records, errors = scan_fasta(body.fasta.encode("utf-8"), max_length=request.max_length)
        except (WorkbenchInputError, OSError, ValueError) as exc:
            raise refuse(_line(exc)) from None
        if errors:
            raise refuse(f"{len(errors)} invalid FASTA record(s), nothing queued: "
                         f"{_line(errors[0])}")
        try:
            refused = request.screen(records)
        except (WorkbenchInputError, OSError, ValueError) as exc:
            raise refuse(_line(exc)) from None
        if refused:
            first, reason = next(iter(refused.items()))
            raise refuse(f"{len(refused)} of {len(records)} record(s) cannot be modelled by the "
                         f"{request.predictor.name} predictor, nothing queued: record {first!r}: {reason}")
        try:
            job = store.submit({"fasta": body.fasta}, request.to_json(), owner=caller.owner, name=body.name)
        except ValueError as exc:
            raise refuse(_line(exc)) from None
        return JobSummary.of(job)

    @app.get("/jobs", response_model=list[JobSummary], tags=["jobs"])
    def list_jobs(caller: Caller, status_: Annotated[JobStatus | None, Query(alias="status")] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  all_users: Annotated[bool, Query(description="admins: every owner's jobs")] = True,
                  ) -> list[JobSummary]:
        """Jobs, newest first: one's own; an admin's, everyone's (``all_users=false``: only their own)."""
        owner = None if caller.admin and all_users else caller.owner
        return [JobSummary.of(job) for job in store.list_jobs(owner=owner, status=status_, limit=limit)]

    @app.get("/jobs/{job_id}", response_model=JobDetail, tags=["jobs"])
    def get_job(job_id: str, caller: Caller) -> JobDetail:
        """One job: its request, FASTA and per-record rows."""
        job = visible_job(job_id, caller)
        return JobDetail.of_job(job, store.items(job.id))

    @app.post("/jobs/{job_id}/cancel", response_model=JobSummary, tags=["jobs"])
    def cancel(job_id: str, caller: Caller) -> JobSummary:
        """Cancel a queued job now, or ask the dispatcher to stop a running one."""
        job = visible_job(job_id, caller)
        try:
            return JobSummary.of(store.request_cancel(job.id))
        except InvalidTransition as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, _line(exc)) from None

    @app.get("/jobs/{job_id}/summary", response_model=list[SummaryRow], tags=["results"])
    def summary(job_id: str, caller: Caller) -> list[SummaryRow]:
        """The rows of the job's results summary, one per FASTA record, in file order."""
        folder = results_folder(visible_job(job_id, caller))
        try:
            return open_results(folder).rows
        except (OSError, ValueError) as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, _line(exc)) from None

    @app.get("/jobs/{job_id}/files/{path:path}", tags=["results"],
             responses={200: {"content": {"application/octet-stream": {}}}})
    def download(job_id: str, path: str, caller: Caller) -> FileResponse:
        """A file of the job's results folder (``summary.csv``, ``T66I/T66I_relaxed.pdb``, ...)."""
        folder = results_folder(visible_job(job_id, caller))
        parts = path.split("/")
        if not path or path.startswith("/") or "\\" in path or "\x00" in path or any(p in ("", ".", "..")
                                                                                     for p in parts):
            raise HTTPException(status.HTTP_400_BAD_REQUEST,
                                f"not a path inside the results folder: {path!r} (relative, no '..', no '//')")
        target = Path(os.path.realpath(folder.joinpath(*parts)))
        if not target.is_relative_to(folder):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{path!r} leads outside the job's results folder")
        if not target.is_file():
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} has no file {path!r}")
        media = next((kind for name, kind in ITEM_FILES.items() if target.name.endswith(name)), None)
        return FileResponse(target, media_type=media, filename=target.name)

    @app.post("/uploads", response_model=Upload, status_code=status.HTTP_201_CREATED, tags=["jobs"],
              openapi_extra={"requestBody": {"content": {"application/octet-stream": {}}, "required": True}})
    async def upload(request: Request, caller: Caller) -> Upload:
        """Store a template structure (PDB or mmCIF, optionally gzipped; the body) under its SHA-256.

        Name the returned path in ``predictor_options`` (``{"template": path}``).
        """
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > STRUCTURE_LIMIT:
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                    f"the upload is larger than {STRUCTURE_LIMIT} bytes")
        try:  # parsing takes a while: off the event loop
            saved = await run_in_threadpool(save_template, bytes(data), config.workbench_home())
        except UploadError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"not accepted: {_line(exc)}") from None
        return Upload(path=str(saved), sha256=hashlib.sha256(saved.read_bytes()).hexdigest())

    return app

