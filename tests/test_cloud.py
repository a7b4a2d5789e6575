"""``vertex-hydra submit`` and ``results`` against a fake Vertex AI on loopback.

The real ``JobServiceClient`` (REST transport, anonymous credentials) talks
plain HTTP to :mod:`vertex_fake`; nothing inside ``vertex_hydra`` is mocked and
nothing leaves the machine.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.cloud.aiplatform_v1.types import HyperparameterTuningJob
from google.protobuf import json_format
from vertex_fake import FakeVertex, serve_fake_vertex

from vertex_hydra.cli import main
from vertex_hydra.cloud import build_request_body, build_submission, fetch_results, submit_job
from vertex_hydra.cloud._api import ANONYMOUS_ENV, ENDPOINT_ENV, parse_job_name
from vertex_hydra.cloud._results import job_to_results
from vertex_hydra.errors import CloudError, ConfigurationError
from vertex_hydra.jobspec import load_job, read_job_file
from vertex_hydra.results import Measurement, StudyResults, TrialResult, render
from vertex_hydra.study_env import STUDY_ENV, StudyMetric, read_study

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "examples" / "digits"
JOB = DIGITS / "job.yaml"
REGION = "europe-west4"
NAME = f"projects/proj/locations/{REGION}/hyperparameterTuningJobs/4242"
COLLECTION = f"/v1/projects/proj/locations/{REGION}/hyperparameterTuningJobs"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENDPOINT_ENV, "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT",
                 "CLOUDSDK_AI_REGION", "GOOGLE_CLOUD_REGION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(ANONYMOUS_ENV, "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture()
def vertex() -> Iterator[FakeVertex]:
    with serve_fake_vertex() as fake:
        yield fake


@pytest.fixture(scope="module")
def _private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()  # fmt: skip


@pytest.fixture()
def service_account(_private_key_pem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Real Application Default Credentials: a service-account key file (made up, never sent anywhere).

    The generated client signs its own JWTs with the key (``always_use_jwt_access``),
    so even a refresh after a 401 stays on this machine; ``token_uri`` points at a
    closed loopback port in case anything tried to use it.
    """
    key = tmp_path / "key.json"
    key.write_text(json.dumps({
        "type": "service_account", "project_id": "proj", "private_key_id": "k1",
        "private_key": _private_key_pem, "client_email": "trainer@proj.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": f"http://127.0.0.1:{_closed_port()}/token",
    }))  # fmt: skip
    monkeypatch.delenv(ANONYMOUS_ENV)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    return key


#: A real image for the digits job, whose file holds the placeholder REGION-docker.pkg.dev/PROJECT/...
IMAGE = "europe-west4-docker.pkg.dev/proj/repo/digits:v1"


def _submit(fake: FakeVertex, *extra: str, job: Path = JOB) -> int:
    image = [] if "--image" in extra else ["--image", IMAGE]
    return main(["submit", str(job), "--project", "proj", "--region", REGION,
                 "--api-endpoint", fake.url, *image, *extra])  # fmt: skip


def _message(body: Any) -> Any:
    """Parse a JSON body (names or numbers for enums) into the real message."""
    return json_format.ParseDict(body, HyperparameterTuningJob.pb()())


# --- submit ------------------------------------------------------------------


def test_submit_posts_the_job_file_to_the_regional_collection(
    vertex: FakeVertex, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _submit(vertex, "--no-check") == 0
    [request] = vertex.requests
    assert (request.method, request.path) == ("POST", COLLECTION)
    assert request.query == {"$alt": ["json;enum-encoding=int"]}
    expected = dict(read_job_file(JOB))  # the file already has displayName: digits-hpt
    container = expected["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    container["env"] = [{"name": STUDY_ENV, "value": load_job(JOB).study_env_value()}]
    container["imageUri"] = IMAGE
    assert _message(request.body) == _message(expected)
    out = capsys.readouterr().out
    assert f"Submitted {NAME}\n" in out
    assert (f"Console: https://console.cloud.google.com/agent-platform/locations/{REGION}"
            "/training/4242?project=proj") in out  # fmt: skip


def test_every_pool_carries_the_study_and_the_trial_reads_it(vertex: FakeVertex) -> None:
    multinode = JOB.parent / "job-multinode.yaml"
    assert _submit(vertex, "--no-check", job=multinode) == 0
    pools = vertex.requests[0].body["trialJobSpec"]["workerPoolSpecs"]
    assert len(pools) == 2
    for pool in pools:
        [entry] = [e for e in pool["containerSpec"]["env"] if e["name"] == STUDY_ENV]
        study = read_study({STUDY_ENV: entry["value"]})
        assert study is not None
        assert study.metrics == (StudyMetric("val/acc", "MAXIMIZE"),)
        assert study.value_types() == {
            "model.optimizer.lr": "float",
            "data.batch_size": "int",
            "model.hidden_layers": "int",
            "model.activation": "text",
        }


def test_a_user_env_entry_is_kept_and_a_conflicting_study_is_refused() -> None:
    raw = read_job_file(JOB)
    container = raw["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    container["env"] = [{"name": "WANDB_MODE", "value": "offline"}]
    body = build_request_body(raw, display_name="d")
    env = body["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["env"]
    assert [e["name"] for e in env] == ["WANDB_MODE", STUDY_ENV]
    again = build_request_body(body, display_name="d")  # idempotent: the same value is kept
    assert again["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["env"] == env
    container["env"] = [{"name": STUDY_ENV, "value": '{"version": 1}'}]
    with pytest.raises(ConfigurationError, match=r"workerPoolSpecs\[0\]\.containerSpec\.env sets "
                       r"VERTEX_HYDRA_STUDY .*Fix: remove that env entry"):  # fmt: skip
        build_request_body(raw, display_name="d")


def test_command_line_overrides_reach_the_body(vertex: FakeVertex) -> None:
    assert _submit(vertex, "--no-check", "--image", "eu.gcr.io/p/img:v2", "--display-name", "night run",
                   "--max-trial-count", "40", "--parallel-trial-count", "5",
                   "--service-account", "trainer@proj.iam.gserviceaccount.com") == 0  # fmt: skip
    body = vertex.requests[0].body
    assert body["displayName"] == "night run"
    assert (body["maxTrialCount"], body["parallelTrialCount"]) == (40, 5)
    assert body["maxFailedTrialCount"] == 2  # untouched file value
    assert body["trialJobSpec"]["serviceAccount"] == "trainer@proj.iam.gserviceaccount.com"
    container = body["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    assert container["imageUri"] == "eu.gcr.io/p/img:v2"
    assert container["command"] == ["python", "train.py"]


def test_dry_run_prints_the_exact_body_and_sends_nothing(
    vertex: FakeVertex, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _submit(vertex, "--no-check", "--dry-run", "--max-trial-count", "3") == 0
    captured = capsys.readouterr()
    assert vertex.requests == []
    printed = json.loads(captured.out)
    _message(printed)  # the real schema accepts it
    assert printed["maxTrialCount"] == 3
    assert f"Would POST this body to {vertex.url}{COLLECTION}" in captured.err
    # ...and it is the very message a real submit sends.
    assert _submit(vertex, "--no-check", "--max-trial-count", "3") == 0
    assert _message(vertex.requests[0].body) == _message(printed)


def test_display_name_defaults_to_folder_and_stem(tmp_path: Path) -> None:
    raw = read_job_file(JOB)
    del raw["displayName"]
    job = tmp_path / "nightly" / "sweep.yaml"
    job.parent.mkdir()
    job.write_text(yaml.safe_dump(raw))
    assert build_submission(job)["displayName"] == "nightly-sweep"


def test_submit_runs_check_first_and_refuses_a_bad_parameter(
    vertex: FakeVertex, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = read_job_file(JOB)
    raw["studySpec"]["parameters"][0]["parameterId"] = "model.optimizer.learning_rate"
    pool = raw["trialJobSpec"]["workerPoolSpecs"][0]
    pool["containerSpec"]["command"] = ["python", str(DIGITS / "train.py")]
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(raw))
    assert _submit(vertex, job=job) == 2
    err = capsys.readouterr().err
    assert "model.optimizer.learning_rate" in err
    assert "check found 1 problem(s)" in err and "--no-check" in err
    assert vertex.requests == []


def test_submit_checks_then_sends_a_good_job(
    vertex: FakeVertex, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _submit(vertex) == 0
    assert "check: OK" in capsys.readouterr().err
    assert len(vertex.requests) == 1


@pytest.mark.parametrize(
    ("status", "match"),
    [
        (401, r"credentials were rejected \(401 Request had invalid authentication credentials\)"
              r"\. Fix: run 'gcloud auth application-default login' again"),
        (403, r"permission denied on project 'proj' \(403 .*\)\. Fix: enable the API .*roles/aiplatform\.user"),
        (404, r"not found \(404 .*\)\. Fix: check --project \(the project ID"),
        (429, r"quota exceeded in europe-west4 \(429 .*\)\. Fix: lower parallelTrialCount"),
    ],
    ids=["401", "403", "404", "429"],
)  # fmt: skip
def test_google_errors_become_one_sentence_with_the_fix(
    vertex: FakeVertex, service_account: Path, status: int, match: str
) -> None:
    vertex.error = (
        status,
        "Request had invalid authentication credentials." if status == 401 else "no",
    )
    body = build_submission(JOB)
    with pytest.raises(CloudError, match=match):
        submit_job(body, project="proj", region=REGION, api_endpoint=vertex.url)
    with pytest.raises(CloudError, match=match):
        fetch_results(NAME, api_endpoint=vertex.url)
    # A 401 makes the session refresh its token and retry (twice) before giving up.
    assert len(vertex.requests) == (6 if status == 401 else 2)


def test_application_default_credentials_sign_the_request(
    vertex: FakeVertex, service_account: Path
) -> None:
    submit_job(build_submission(JOB), project="proj", region=REGION, api_endpoint=vertex.url)
    [request] = vertex.requests
    assert request.authorization is not None and request.authorization.startswith("Bearer ey")


def test_a_401_with_anonymous_credentials_is_still_one_sentence(vertex: FakeVertex) -> None:
    vertex.error = (401, "Request had invalid authentication credentials.")
    with pytest.raises(CloudError, match=r"the credentials could not be refreshed \(.*\)\. Fix: run "
                                         r"'gcloud auth application-default login' again"):  # fmt: skip
        submit_job(build_submission(JOB), project="proj", region=REGION, api_endpoint=vertex.url)


def test_cli_prints_the_sentence_not_a_traceback(
    vertex: FakeVertex, capsys: pytest.CaptureFixture[str]
) -> None:
    vertex.error = (403, "Permission 'aiplatform.hyperparameterTuningJobs.create' denied")
    assert _submit(vertex, "--no-check") == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"vertex-hydra submit: error: cannot create the tuning job in projects/proj/locations/{REGION}"
    )
    assert "aiplatform.hyperparameterTuningJobs.create' denied" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unreachable_endpoint() -> None:
    with pytest.raises(CloudError, match=r"the Vertex AI endpoint is unreachable \(ConnectionError\)\. Fix: check "
                                         r"your network and --region"):  # fmt: skip
        fetch_results(NAME, api_endpoint=f"http://127.0.0.1:{_closed_port()}")


def test_missing_credentials_fail_before_any_request(
    vertex: FakeVertex, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ANONYMOUS_ENV)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    missing = tmp_path / "missing-key.json"
    with pytest.raises(CloudError) as raised:
        submit_job(build_submission(JOB), project="proj", region=REGION, api_endpoint=vertex.url)
    assert str(raised.value) == (
        f"cannot authenticate to Vertex AI at {vertex.url}: GOOGLE_APPLICATION_CREDENTIALS is set "
        f"to '{missing}', which does not exist. Fix: point GOOGLE_APPLICATION_CREDENTIALS at a "
        "service-account key file you can read, or unset it and run 'gcloud auth "
        "application-default login'."
    )
    assert vertex.requests == []


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "which is a folder, not a key file"),
        ("{not json", "which is no usable key file (File {key} is not a valid json file)"),
        ('{"type": "service_account"}', "which is no usable key file"),
    ],
    ids=["folder", "not-json", "incomplete"],
)
def test_a_key_file_that_cannot_be_used_is_named_with_the_variable(
    vertex: FakeVertex, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], content: str | None, why: str,
) -> None:  # fmt: skip
    key = tmp_path / "key.json"
    if content is None:
        key.mkdir()
    else:
        key.write_text(content)
    monkeypatch.delenv(ANONYMOUS_ENV)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    assert _submit(vertex, "--no-check") == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"vertex-hydra submit: error: cannot authenticate to Vertex AI at {vertex.url}: "
        f"GOOGLE_APPLICATION_CREDENTIALS is set to '{key}', {why.format(key=key)}"
    )
    assert err.endswith("or unset it and run 'gcloud auth application-default login'.\n")
    assert len(err.splitlines()) == 1 and vertex.requests == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_key_file_is_named(
    vertex: FakeVertex, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "key.json"
    key.write_text("{}")
    key.chmod(0)
    monkeypatch.delenv(ANONYMOUS_ENV)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    with pytest.raises(CloudError, match=r"GOOGLE_APPLICATION_CREDENTIALS is set to '.*key\.json', "
                                         r"which cannot be read \(Permission denied\)\. Fix:"):  # fmt: skip
        fetch_results(NAME, api_endpoint=vertex.url)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_no_credentials_at_all_in_a_clean_environment(vertex: FakeVertex, tmp_path: Path) -> None:
    """No key file, no gcloud config, not on GCE: google.auth gives up without touching the network."""
    metadata = f"127.0.0.1:{_closed_port()}"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "CLOUDSDK_CONFIG": str(tmp_path),
           "NO_GCE_CHECK": "true", "GCE_METADATA_HOST": metadata, "GCE_METADATA_IP": metadata,
           "NO_PROXY": "127.0.0.1", "PYTHONPATH": str(ROOT)}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "vertex_hydra", "submit", str(JOB), "--project", "proj", "--region", REGION,
         "--no-check", "--image", IMAGE, "--api-endpoint", vertex.url],
        capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "no Google Cloud credentials found. Fix:" in result.stderr
    assert "Traceback" not in result.stderr
    assert vertex.requests == []


# --- images -----------------------------------------------------------------


PLACEHOLDER = (
    "trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri is the placeholder "
    "'REGION-docker.pkg.dev/PROJECT/REPO/digits:latest', not an image. Fix: replace it with your "
    "image, e.g. us-central1-docker.pkg.dev/my-project/my-repo/digits:latest, or pass --image to "
    "'vertex-hydra submit'."
)


def test_submit_refuses_a_placeholder_image_before_looking_for_credentials(
    vertex: FakeVertex, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.delenv(ANONYMOUS_ENV)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    assert main(["submit", str(JOB), "--project", "proj", "--region", REGION,
                 "--api-endpoint", vertex.url]) == 2  # fmt: skip
    captured = capsys.readouterr()
    assert captured.err == f"vertex-hydra submit: error: {PLACEHOLDER}\n"
    assert captured.out == "" and vertex.requests == []


def test_submit_refuses_a_malformed_image_option(
    vertex: FakeVertex, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _submit(vertex, "--no-check", "--image", "gcr.io/Proj/img:v1") == 2
    assert capsys.readouterr().err == (
        "vertex-hydra submit: error: --image is no container image reference: "
        "'gcr.io/Proj/img:v1' has the path component 'Proj', which must be lowercase. Fix: pass "
        "the image's full name, e.g. --image us-central1-docker.pkg.dev/my-project/my-repo/"
        "trainer:v1.\n"
    )
    assert vertex.requests == []


def test_dry_run_warns_about_the_placeholder_and_still_prints_the_body(
    vertex: FakeVertex, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submit", str(JOB), "--project", "proj", "--region", REGION, "--dry-run",
                 "--api-endpoint", vertex.url]) == 0  # fmt: skip
    captured = capsys.readouterr()
    body = json.loads(captured.out)
    container = body["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    assert container["imageUri"] == "REGION-docker.pkg.dev/PROJECT/REPO/digits:latest"
    err = captured.err.splitlines()
    assert err[0] == f"vertex-hydra submit: warning: {PLACEHOLDER}"
    assert err[1].startswith("check: OK (4 compositions, ")  # check ran, and said nothing more
    assert captured.err.count("imageUri") == 1  # one mistake, one message
    assert err[2].startswith("dry run: nothing sent.") and len(err) == 3
    assert vertex.requests == []


def test_image_option_replaces_a_malformed_image_and_check_lets_it_through(
    vertex: FakeVertex, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = read_job_file(JOB)
    container = raw["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]
    container["imageUri"] = "gcr.io/p/digits:"
    container["command"] = ["python", str(DIGITS / "train.py")]
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(raw))
    assert main(["submit", str(job), "--project", "proj", "--region", REGION,
                 "--api-endpoint", vertex.url]) == 2  # fmt: skip
    assert capsys.readouterr().err == (
        "vertex-hydra submit: error: trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri is "
        "no container image reference: 'gcr.io/p/digits:' has the tag '', which must be up to "
        "128 letters, digits, '_', '.' or '-', not starting with '.' or '-'. Fix: correct it, "
        "e.g. us-central1-docker.pkg.dev/my-project/my-repo/digits:latest, or pass --image to "
        "'vertex-hydra submit'.\n"
    )
    assert _submit(vertex, "--image", "gcr.io/p/digits:v2", job=job) == 0
    err = capsys.readouterr().err
    assert err.startswith("check: OK (4 compositions, ") and "imageUri" not in err
    body = vertex.requests[0].body
    assert body["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["imageUri"] == (
        "gcr.io/p/digits:v2"
    )


def test_image_option_replaces_the_placeholder(vertex: FakeVertex) -> None:
    assert _submit(vertex, "--no-check", "--image", f"gcr.io/p/i@sha256:{'ab' * 32}") == 0
    pool = vertex.requests[0].body["trialJobSpec"]["workerPoolSpecs"][0]
    assert pool["containerSpec"]["imageUri"] == f"gcr.io/p/i@sha256:{'ab' * 32}"


# --- submit --wait ------------------------------------------------------------


def _trial(trial_id: str, state: str, **more: Any) -> dict[str, Any]:
    return {"id": trial_id, "state": state,
            "parameters": [{"parameterId": "model.optimizer.lr", "value": 0.001}], **more}  # fmt: skip


def _final(value: float) -> dict[str, Any]:
    return {"stepCount": "5", "metrics": [{"metricId": "val/acc", "value": value}]}


def test_wait_follows_trial_states_until_the_job_ends(
    vertex: FakeVertex, capsys: pytest.CaptureFixture[str]
) -> None:
    vertex.add_job(
        NAME,
        {"state": "JOB_STATE_PENDING"},
        {"state": "JOB_STATE_RUNNING", "trials": [_trial("1", "ACTIVE")]},
        {"state": "JOB_STATE_RUNNING", "trials": [_trial("1", "ACTIVE")]},
        {"state": "JOB_STATE_RUNNING", "trials": [_trial("1", "SUCCEEDED", finalMeasurement=_final(0.91)),
                                                  _trial("2", "ACTIVE")]},
        {"state": "JOB_STATE_SUCCEEDED", "trials": [_trial("1", "SUCCEEDED", finalMeasurement=_final(0.91)),
                                                    _trial("2", "INFEASIBLE", infeasibleReason="exit 1")]},
    )  # fmt: skip
    assert (
        _submit(vertex, "--no-check", "--wait", "--poll-interval", "0.01", "--timeout", "30") == 0
    )
    out = capsys.readouterr().out
    followed = out.split("Results: vertex-hydra results " + NAME + "\n")[1]
    assert followed.splitlines() == [
        "job JOB_STATE_PENDING",
        "job JOB_STATE_RUNNING",
        "trial 1: ACTIVE",
        "trial 1: SUCCEEDED  val/acc=0.91",
        "trial 2: ACTIVE",
        "job JOB_STATE_SUCCEEDED",
        "trial 2: INFEASIBLE  (exit 1)",
    ]
    assert [r.method for r in vertex.requests] == ["POST"] + ["GET"] * 5
    assert {r.path for r in vertex.requests[1:]} == {f"/v1/{NAME}"}


def test_wait_reports_a_failed_job(vertex: FakeVertex, capsys: pytest.CaptureFixture[str]) -> None:
    vertex.add_job(
        NAME,
        {"state": "JOB_STATE_FAILED", "error": {"code": 9, "message": "too many failed trials"}},
    )
    assert _submit(vertex, "--no-check", "--wait", "--poll-interval", "0.01") == 1
    assert (
        "the job ended in JOB_STATE_FAILED: too many failed trials. Fix:" in capsys.readouterr().err
    )


def test_wait_gives_up_after_the_timeout(
    vertex: FakeVertex, capsys: pytest.CaptureFixture[str]
) -> None:
    vertex.add_job(NAME, {"state": "JOB_STATE_RUNNING"})
    assert (
        _submit(vertex, "--no-check", "--wait", "--poll-interval", "0.02", "--timeout", "0.2") == 1
    )
    assert "still running after 0.2 s and keeps running on Vertex AI" in capsys.readouterr().err
    assert 2 <= len(vertex.requests) <= 12


# --- results ------------------------------------------------------------------


def _params(lr: float, batch: float, layers: float, act: str) -> list[dict[str, Any]]:
    ids = ("model.optimizer.lr", "data.batch_size", "model.hidden_layers", "model.activation")
    params = [{"parameterId": i, "value": v} for i, v in zip(ids, (lr, batch, layers, act))]
    if layers in (2, 3):  # the conditional model.width is active: Vertex passes it
        params.insert(3, {"parameterId": "model.width", "value": 128.0})
    return params


FINISHED_JOB = {
    "state": "JOB_STATE_SUCCEEDED",
    "trials": [
        {"id": "2", "state": "INFEASIBLE", "parameters": _params(0.02, 128, 3, "tanh"),
         "infeasibleReason": "The replica workerpool0-0 exited with a non-zero status of 1.",
         "startTime": "2024-05-01T10:00:00Z", "endTime": "2024-05-01T10:00:30Z"},
        {"id": "1", "state": "SUCCEEDED", "parameters": _params(0.003, 64, 2, "gelu"),
         "finalMeasurement": _final(0.955), "startTime": "2024-05-01T10:00:00Z",
         "endTime": "2024-05-01T10:02:05.500Z",
         "measurements": [{"stepCount": "2", "metrics": [{"metricId": "val/acc", "value": 0.9}]},
                          {"stepCount": "1", "metrics": [{"metricId": "val/acc", "value": 0.8}]}]},
        {"id": "3", "state": "STOPPING", "parameters": _params(0.0001, 32, 1, "relu"),
         "finalMeasurement": _final(0.5)},
        {"id": "4", "state": "ACTIVE", "parameters": _params(0.01, 32, 2, "relu"),
         "startTime": "2024-05-01T10:03:00Z"},
    ],
}  # fmt: skip

# What `local` would hold for the same trials: the specs it reads from the job
# file, and each value in its parameter's own type.
EXPECTED = StudyResults(
    metrics=load_job(JOB).metrics,
    parameters=load_job(JOB).parameters,
    trials=[
        TrialResult("1", "SUCCEEDED", {"model.optimizer.lr": 0.003, "data.batch_size": 64,
                                       "model.hidden_layers": 2, "model.width": 128,
                                       "model.activation": "gelu"},
                    {"val/acc": 0.955}, seconds=125.5, measurements=[Measurement(1, None, {"val/acc": 0.8}),
                                                                       Measurement(2, None, {"val/acc": 0.9})]),
        TrialResult("2", "INFEASIBLE", {"model.optimizer.lr": 0.02, "data.batch_size": 128,
                                        "model.hidden_layers": 3, "model.width": 128,
                                        "model.activation": "tanh"},
                    {}, seconds=30.0,
                    error="The replica workerpool0-0 exited with a non-zero status of 1."),
        TrialResult("3", "STOPPED", {"model.optimizer.lr": 0.0001, "data.batch_size": 32,
                                     "model.hidden_layers": 1, "model.activation": "relu"},
                    {"val/acc": 0.5}),
        TrialResult("4", "ACTIVE", {"model.optimizer.lr": 0.01, "data.batch_size": 32,
                                    "model.hidden_layers": 2, "model.width": 128,
                                    "model.activation": "relu"}, {}),
    ],
)  # fmt: skip


def _served_job(vertex: FakeVertex) -> None:
    """The job as Vertex stores it: the submitted body (canonical JSON) plus trials."""
    body = build_submission(JOB)
    vertex.add_job(NAME, {**body, **FINISHED_JOB})


def test_results_converts_the_servers_trials() -> None:
    body = build_submission(JOB)
    converted = job_to_results(json.loads(json.dumps({**body, **FINISHED_JOB})))
    assert converted == EXPECTED


def test_results_renders_like_local(
    vertex: FakeVertex, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _served_job(vertex)
    workdir = tmp_path / "out"
    assert main(["results", NAME, "--workdir", str(workdir), "--api-endpoint", vertex.url]) == 0
    shown, csv = capsys.readouterr().out, (workdir / "trials.csv").read_text()
    assert [(r.method, r.path) for r in vertex.requests] == [("GET", f"/v1/{NAME}")]
    expected = io.StringIO()
    render(EXPECTED, workdir, expected)
    assert shown.startswith(expected.getvalue())
    assert shown.endswith(
        f"Study store: {workdir / 'study.db'} (vertex-hydra dashboard {workdir})\n"
    )
    import optuna

    stored = optuna.load_study(
        study_name="vertex-hydra-local", storage=f"sqlite:///{workdir / 'study.db'}"
    )
    assert [t.user_attrs["vertex_trial_id"] for t in stored.trials] == [
        t.trial_id for t in EXPECTED.trials
    ]
    assert stored.trials[0].intermediate_values == {1: 0.8, 2: 0.9}
    assert csv == (workdir / "trials.csv").read_text()
    assert "Best trial 1: val/acc=0.955" in shown
    assert "Best overrides: model.optimizer.lr=0.003 data.batch_size=64 model.hidden_layers=2 " \
           "model.width=128 model.activation=gelu" in shown  # fmt: skip
    assert csv.splitlines()[1] == "1,SUCCEEDED,0.003,64,2,128,gelu,0.955,125.5"
    assert csv.splitlines()[3] == "3,STOPPED,0.0001,32,1,,relu,0.5,"  # 1 layer: no width
    assert (workdir / "history.png").exists()


def test_results_accepts_a_bare_id_with_project_and_region(
    vertex: FakeVertex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _served_job(vertex)
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "results",
                "4242",
                "--project",
                "proj",
                "--region",
                REGION,
                "--api-endpoint",
                vertex.url,
            ]
        )
        == 0
    )
    assert (tmp_path / "vertex-hydra-results" / "4242" / "trials.csv").exists()


@pytest.mark.parametrize("status", [403, 404])
def test_a_failed_results_leaves_no_folder_behind(
    vertex: FakeVertex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], status: int,
) -> None:  # fmt: skip
    vertex.error = (status, "no")
    monkeypatch.chdir(tmp_path)
    assert main(["results", NAME, "--api-endpoint", vertex.url]) == 2
    assert main(["results", NAME, "--workdir", "a/b/c", "--api-endpoint", vertex.url]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(
        line.startswith(f"vertex-hydra results: error: cannot fetch {NAME}: ") for line in err
    )
    assert list(tmp_path.iterdir()) == []
    kept = tmp_path / "kept"
    kept.mkdir()
    assert main(["results", NAME, "--workdir", str(kept), "--api-endpoint", vertex.url]) == 2
    assert list(tmp_path.iterdir()) == [kept] and list(kept.iterdir()) == []


def test_wait_for_job_tells_the_observer_each_change(vertex: FakeVertex) -> None:
    from vertex_hydra.cloud import StateChange, wait_for_job

    vertex.add_job(
        NAME,
        {"state": "JOB_STATE_RUNNING", "trials": [_trial("1", "ACTIVE")]},
        {"state": "JOB_STATE_SUCCEEDED",
         "trials": [_trial("1", "SUCCEEDED", finalMeasurement=_final(0.5))]},
    )  # fmt: skip
    seen: list[StateChange] = []
    job = wait_for_job(NAME, observer=seen.append, poll_interval=0.01, api_endpoint=vertex.url)
    assert job is not None and job["state"] == "JOB_STATE_SUCCEEDED"
    assert seen == [
        StateChange(None, None, "JOB_STATE_RUNNING"),
        StateChange("1", None, "ACTIVE"),
        StateChange(None, "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"),
        StateChange("1", "ACTIVE", "SUCCEEDED", {"val/acc": 0.5}),
    ]


# --- messages for bad input ---------------------------------------------------


def test_results_workdir_that_cannot_be_written(
    vertex: FakeVertex, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _served_job(vertex)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert (
        main(["results", NAME, "--workdir", str(blocker / "out"), "--api-endpoint", vertex.url])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(
        f"vertex-hydra results: error: cannot write results to --workdir '{blocker / 'out'}': "
    )
    assert "Fix: pass a folder you can write to" in err and len(err.splitlines()) == 1
    assert vertex.requests == []  # refused before anything was fetched


def test_bad_resource_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigurationError, match=r"must look like projects/P/locations/R/hyperparameterTuningJobs/ID, "
                                                 r"got 'jobs/7'\. Fix: copy the name"):  # fmt: skip
        parse_job_name("jobs/7")
    assert main(["results", "jobs/7"]) == 2
    assert (
        "vertex-hydra results: error: JOB_RESOURCE_NAME must look like" in capsys.readouterr().err
    )


def test_missing_project_names_the_option_and_the_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["submit", str(JOB), "--region", REGION, "--dry-run", "--no-check"]) == 2
    assert ("--project is required and was not given (nor GOOGLE_CLOUD_PROJECT or CLOUDSDK_CORE_PROJECT "
            "set). Fix: pass e.g. --project my-project.") in capsys.readouterr().err  # fmt: skip


def test_misspelt_field_is_refused_before_sending() -> None:
    raw = read_job_file(JOB)
    raw["maxTrialCont"] = 3
    with pytest.raises(
        ConfigurationError, match=r"not a valid HyperparameterTuningJob: .*maxTrialCont.*Fix:"
    ):
        build_request_body(raw, display_name="x")


def test_image_needs_a_container_spec() -> None:
    raw = read_job_file(JOB)
    pool = raw["trialJobSpec"]["workerPoolSpecs"][0]
    del pool["containerSpec"]
    pool["pythonPackageSpec"] = {"executorImageUri": "us-docker.pkg.dev/x", "packageUris": ["gs://b/p.tar.gz"],
                                 "pythonModule": "trainer.task"}  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"--image 'img' replaces containerSpec\.imageUri, but no worker "
                                                 r"pool has a containerSpec\. Fix:"):  # fmt: skip
        build_request_body(raw, display_name="x", image="img")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            ["--poll-interval", "0"],
            "--poll-interval must be positive, got 0. Fix: e.g. --poll-interval 30.",
        ),
        (["--timeout", "-5"], "--timeout must be positive, got -5. Fix: e.g. --timeout 3600."),
        (["--timeout", "nan"], "--timeout must be positive, got nan."),
    ],
)
def test_wait_options_must_be_positive(
    vertex: FakeVertex, capsys: pytest.CaptureFixture[str], option: list[str], message: str
) -> None:
    assert _submit(vertex, "--no-check", "--wait", *option) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"vertex-hydra submit: error: {message}") and len(err.splitlines()) == 1
    assert vertex.requests == []


@pytest.mark.parametrize("option", ["--max-trial-count", "--parallel-trial-count"])
def test_trial_counts_must_be_positive(option: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{option} must be at least 1, got 0"):
        build_submission(JOB, **{option[2:].replace("-", "_"): 0})
