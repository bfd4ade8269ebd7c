"""The HTTP API: every endpoint with two users, an admin and bad input (FastAPI's TestClient, in process).

A real socket adds nothing to these checks (routing, auth, scoping, validation
are the app's); ``test_api_server.py`` runs the app under uvicorn on a loopback
port for the client and the ``workbench api`` command.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import pdbfixer_1bhl
from workbench.cli import main
from workbench.request import BatchRequest

WILD_TYPE = ("SPGIWQLDCTHLEGKVILVAVHVASGYIEAEVIPAETGQETAYFLLKLAGRWPVKTVHTDNGSNFTSTTVKAACWWAGIKQMNKELKKIIGQVRDQAEHL"
             "KTAVQMAVFIHNHKRKGGIGGYSAGERIVDIIATD")
"""1BHL's sequence, which the default template models."""
FASTA = f">wt\n{WILD_TYPE}\n>N155H\n{WILD_TYPE.replace('IKQMNKELKK', 'IKQMHKELKK')}\n"
NO_REFINE = {"refine": False}


def submit(server, user, fasta=FASTA, request=None, name="", expect=201):
    body = {"fasta": fasta, "request": NO_REFINE if request is None else request, "name": name}
    response = server.http.post("/jobs", json=body, headers=server.auth(user))
    assert response.status_code == expect, response.text
    return response.json()


def refused(response, status, *words):
    """The response is ``status`` with a one-line detail holding ``words``."""
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail, detail
    for word in words:
        assert word in detail, detail
    return detail


def test_health_and_openapi_need_no_token(server):
    assert server.http.get("/health").json()["status"] == "ok"
    spec = server.http.get("/openapi.json").json()
    assert {"/health", "/me", "/jobs", "/jobs/{job_id}", "/jobs/{job_id}/cancel", "/jobs/{job_id}/summary",
            "/jobs/{job_id}/files/{path}", "/uploads"} <= set(spec["paths"])
    assert "SummaryRow" in spec["components"]["schemas"] and "RequestJSON" in spec["components"]["schemas"]
    assert "swagger" in server.http.get("/docs").text.lower()


def test_tokens_missing_wrong_and_revoked_get_401(server):
    refused(server.http.get("/jobs"), 401, "no token")
    assert server.http.get("/jobs").headers["www-authenticate"] == "Bearer"
    refused(server.http.get("/jobs", headers={"Authorization": "Bearer wbt_nope"}), 401, "unknown or revoked")
    refused(server.http.get("/jobs", headers={"Authorization": f"Basic {server.tokens['alice']}"}), 401)
    assert server.http.get("/me", headers=server.auth("alice")).json() == {"owner": "alice", "admin": False}
    assert server.http.get("/me", headers=server.auth("root")).json() == {"owner": "root", "admin": True}
    token = next(t for t in server.store.list_tokens("alice"))
    assert main(["token", "revoke", token.id, "--store", server.store_url]) == 0
    refused(server.http.get("/me", headers=server.auth("alice")), 401, "unknown or revoked")
    refused(server.http.post("/jobs", json={"fasta": FASTA}, headers=server.auth("alice")), 401)


def test_each_user_sees_and_acts_on_their_own_jobs_only_and_an_admin_on_all(server):
    alice = submit(server, "alice", name="alice's")
    bob = submit(server, "bob", name="bob's")
    assert (alice["owner"], alice["status"], alice["predictor"], alice["name"]) == ("alice", "queued", "template",
                                                                                    "alice's")
    stored = server.store.get(alice["id"])
    assert stored.owner == "alice" and stored.inputs == {"fasta": FASTA}
    assert BatchRequest.from_json(stored.parameters) == BatchRequest.create("template", refine=False)

    def listed(user, **params):
        response = server.http.get("/jobs", params=params, headers=server.auth(user))
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()]

    assert listed("alice") == [alice["id"]] and listed("bob") == [bob["id"]]
    assert listed("root") == [bob["id"], alice["id"]]  # newest first
    assert listed("root", all_users="false") == []
    assert listed("alice", status="cancelled") == []
    assert "fasta" not in server.http.get("/jobs", headers=server.auth("alice")).json()[0]  # summaries only

    detail = server.http.get(f"/jobs/{alice['id']}", headers=server.auth("alice")).json()
    assert detail["fasta"] == FASTA and detail["request"]["refine"] is False and detail["items"] == []
    # bob cannot read, cancel, summarise or download alice's job: 404 as for a job that does not exist
    unknown = "0" * 32
    for path in (f"/jobs/{alice['id']}", f"/jobs/{alice['id']}/summary", f"/jobs/{alice['id']}/files/summary.csv"):
        assert refused(server.http.get(path, headers=server.auth("bob")), 404) == f"no job {alice['id']}"
        refused(server.http.get(path.replace(alice["id"], unknown), headers=server.auth("bob")), 404, "no job")
    refused(server.http.post(f"/jobs/{alice['id']}/cancel", headers=server.auth("bob")), 404, "no job")
    refused(server.http.get("/jobs/..%2F..%2Fetc", headers=server.auth("bob")), 404)  # no route
    refused(server.http.get("/jobs/x%0Ay", headers=server.auth("bob")), 404, "no such job")
    assert server.store.get(alice["id"]).status == "queued"

    refused(server.http.get(f"/jobs/{alice['id']}/summary", headers=server.auth("alice")), 409, "no results yet")
    cancelled = server.http.post(f"/jobs/{alice['id']}/cancel", headers=server.auth("alice")).json()
    assert cancelled["status"] == "cancelled"
    refused(server.http.post(f"/jobs/{alice['id']}/cancel", headers=server.auth("alice")), 409)
    # the admin reads and cancels bob's
    assert server.http.get(f"/jobs/{bob['id']}", headers=server.auth("root")).json()["owner"] == "bob"
    assert server.http.post(f"/jobs/{bob['id']}/cancel", headers=server.auth("root")).json()["status"] == "cancelled"
    assert listed("alice", status="cancelled") == [alice["id"]]


@pytest.mark.parametrize(("fasta", "request_json", "words"), [
    (">a\nMK1\n", NO_REFINE, ["invalid FASTA record", "'a'"]),
    ("", NO_REFINE, ["FASTA"]),
    ("not fasta at all", NO_REFINE, ["FASTA"]),
    (f">wt\n{WILD_TYPE}\n>bad\nMK*Z1\n", NO_REFINE, ["1 invalid FASTA record", "'bad'"]),
    (FASTA, {"predictor": "nope"}, ["nope"]),
    (FASTA, {"predictor": "template", "predictor_options": {"bogus": 1}}, ["bogus"]),
    (FASTA, {"predictor": "template", "refine_options": {"md_ps": "lots"}}, ["cannot load the batch request"]),
    (FASTA, {"predictor": "template", "colour": "blue"}, ["colour"]),
    (FASTA, {"version": 99}, ["newer"]),
    (">far\n" + "W" * 120 + "\n", NO_REFINE, ["cannot be modelled by the template predictor", "'far'"]),
])
def test_bad_input_is_refused_in_one_line_and_nothing_is_queued(server, fasta, request_json, words):
    refused(server.http.post("/jobs", json={"fasta": fasta, "request": request_json}, headers=server.auth("alice")),
            422, *words)
    assert server.store.list_jobs() == []


def test_bad_bodies_are_refused_in_one_line(server):
    headers = server.auth("alice")
    refused(server.http.post("/jobs", json={"request": NO_REFINE}, headers=headers), 422, "fasta")
    refused(server.http.post("/jobs", content=b"{not json", headers=headers | {"Content-Type": "application/json"}),
            422)
    refused(server.http.post("/jobs", json={"fasta": FASTA, "name": "x" * 500}, headers=headers), 422, "name")
    refused(server.http.post("/jobs", json={"fasta": FASTA, "request": NO_REFINE, "name": "a\x00b"},
                             headers=headers), 422, "control character")
    refused(server.http.post("/uploads", content=b"x" * (22 * 1024 * 1024), headers=headers), 413, "larger than")
    refused(server.http.post("/jobs", json={"fasta": ">a\n" + "A" * (5 * 1024 * 1024) + "\n"}, headers=headers), 422,
            "larger than 5 MB")
    refused(server.http.get("/jobs", params={"limit": 0}, headers=headers), 422, "limit")
    refused(server.http.get("/jobs", params={"status": "sleeping"}, headers=headers), 422, "status")
    assert server.store.list_jobs() == []


def test_files_outside_the_allowed_folders_are_never_named_in_a_job(server, tmp_path):
    outside = tmp_path / "secret.pdb"
    outside.write_bytes(pdbfixer_1bhl().read_bytes())  # a readable structure: only its place is wrong
    uploads = server.home / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "link.pdb").symlink_to(outside)
    (uploads / "etc").symlink_to("/etc")
    for path in ["/etc/shadow", "/etc/passwd", str(outside), "etc/passwd", "../secret.pdb",
                 str(uploads / "link.pdb"), str(uploads / "etc" / "passwd"), f"{uploads}/../../secret.pdb",
                 f"{server.roots}/../secret.pdb"]:
        response = server.http.post("/jobs", json={"fasta": FASTA, "request": {
            "predictor": "template", "refine": False, "predictor_options": {"template": path}}},
            headers=server.auth("alice"))
        refused(response, 422, "template")
        assert "outside the folders" in response.json()["detail"] or "not an absolute path" in \
            response.json()["detail"]
    assert server.store.list_jobs() == []
    # inside an allowed folder, and uploaded: queued, naming the real path
    allowed = submit(server, "alice", request={"predictor": "template", "refine": False,
                                               "predictor_options": {"template": str(server.roots / "1bhl.pdb")}})
    assert server.store.get(allowed["id"]).parameters["predictor_options"]["template"] == str(
        (server.roots / "1bhl.pdb").resolve())
    upload = server.http.post("/uploads", content=pdbfixer_1bhl().read_bytes(), headers=server.auth("bob"))
    assert upload.status_code == 201, upload.text
    saved = Path(upload.json()["path"])
    assert saved.parent == uploads and saved.is_file()
    submit(server, "bob", request={"predictor": "template", "refine": False,
                                   "predictor_options": {"template": str(saved)}})
    refused(server.http.post("/uploads", content=b"HELLO", headers=server.auth("bob")), 422, "not accepted")
    refused(server.http.post("/uploads", content=b"HELLO"), 401)


def test_a_finished_job_is_summarised_and_its_files_downloaded_inside_its_folder_only(server, tmp_path):
    import pandas as pd

    from workbench.results import write_summary

    job = submit(server, "alice")
    out = server.results / job["id"]
    (out / "wt").mkdir(parents=True)
    (out / "wt" / "wt_relaxed.pdb").write_text("ATOM\n")
    table = pd.DataFrame([{"name": "wt", "id": "wt", "item": "0123456789abcdef", "length": 151, "chains": 1,
                           "status": "done", "rank": 1, "folder": "wt", "mean_plddt": 91.5},
                          {"name": "N155H", "id": "N155H", "item": None, "length": 151, "chains": 1,
                           "status": "failed", "error": "no model", "mean_plddt": float("nan")}])
    write_summary(table, out, {"counts": {"done": 1}})
    server.store.claim_next("worker", 60)
    server.store.finish(job["id"], "worker", out)
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    (out / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (out / "tmp").symlink_to(tmp_path)
    (out / "inside.csv").symlink_to(out / "summary.csv")

    headers = server.auth("alice")
    rows = server.http.get(f"/jobs/{job['id']}/summary", headers=headers).json()
    assert [(r["id"], r["status"], r["rank"], r["mean_plddt"], r["error"]) for r in rows] == [
        ("wt", "done", 1, 91.5, None), ("N155H", "failed", None, None, "no model")]
    csv = server.http.get(f"/jobs/{job['id']}/files/summary.csv", headers=headers)
    assert csv.status_code == 200 and csv.content == (out / "summary.csv").read_bytes()
    pdb = server.http.get(f"/jobs/{job['id']}/files/wt/wt_relaxed.pdb", headers=headers)
    assert pdb.content == b"ATOM\n" and pdb.headers["content-type"].startswith("chemical/x-pdb")
    assert server.http.get(f"/jobs/{job['id']}/files/inside.csv", headers=headers).status_code == 200
    refused(server.http.get(f"/jobs/{job['id']}/files/missing.txt", headers=headers), 404, "no file")
    refused(server.http.get(f"/jobs/{job['id']}/files/wt", headers=headers), 404)  # a folder
    base = f"/jobs/{job['id']}/files/"
    for path in ["..%2F..%2Fsecret.txt", "%2E%2E/%2E%2E/secret.txt", "wt/%2E%2E/%2E%2E/secret.txt",
                 "%2Fetc%2Fpasswd", "/etc/passwd", "wt//wt_relaxed.pdb", "wt%5C..%5Csecret.txt"]:
        refused(server.http.get(base + path, headers=headers), 400, "results folder")
    for path in ["leak.txt", "tmp/secret.txt"]:  # symbolic links out of the folder
        response = server.http.get(base + path, headers=headers)
        refused(response, 400, "outside the job's results folder")
        assert b"TOPSECRET" not in response.content
    # bob gets nothing of it; the admin gets it all
    refused(server.http.get(base + "summary.csv", headers=server.auth("bob")), 404, "no job")
    assert server.http.get(base + "summary.csv", headers=server.auth("root")).content == csv.content


def test_results_recorded_outside_the_servers_results_folder_are_not_served(server, tmp_path):
    job = submit(server, "alice")
    server.store.claim_next("worker", 60)
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    server.store.finish(job["id"], "worker", tmp_path)  # a row naming another folder (/, a home...)
    response = server.http.get(f"/jobs/{job['id']}/files/secret.txt", headers=server.auth("alice"))
    refused(response, 409, "outside this server's results folder")
    assert b"TOPSECRET" not in response.content
