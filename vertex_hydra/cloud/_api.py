"""The thin layer between ``vertex_hydra`` and Vertex AI's ``JobService``.

It names jobs, creates the real ``google.cloud.aiplatform_v1.JobServiceClient``
(REST transport, at the regional endpoint), calls it, and turns Google's exceptions into one-sentence
:class:`~vertex_hydra.errors.CloudError` messages. Jobs travel as REST JSON
dicts (camelCase), the same shape the job file has.

``google.cloud`` is imported inside functions only: ``import vertex_hydra``
must not pay for it.

Two environment variables point the client elsewhere, for emulators and for
the loopback tests: ``VERTEX_HYDRA_API_ENDPOINT`` (a host, or a URL such as
``http://127.0.0.1:8080``) and ``VERTEX_HYDRA_ANONYMOUS_CREDENTIALS=1``.

Example:
    >>> name = parse_job_name("projects/p/locations/europe-west4/hyperparameterTuningJobs/42")
    >>> name.region, name.job_id
    ('europe-west4', '42')
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from vertex_hydra.errors import CloudError, ConfigurationError

__all__ = [
    "ENDPOINT_ENV",
    "ANONYMOUS_ENV",
    "KEY_FILE_ENV",
    "key_file_problem",
    "TERMINAL_JOB_STATES",
    "JobName",
    "parse_job_name",
    "console_url",
    "regional_endpoint",
    "make_client",
    "vertex_errors",
    "create_job",
    "get_job",
]

ENDPOINT_ENV = "VERTEX_HYDRA_API_ENDPOINT"
ANONYMOUS_ENV = "VERTEX_HYDRA_ANONYMOUS_CREDENTIALS"
#: The key file Application Default Credentials read first, when set.
KEY_FILE_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
#: Job states after which Vertex AI changes nothing more.
TERMINAL_JOB_STATES = frozenset(
    {
        "JOB_STATE_SUCCEEDED",
        "JOB_STATE_FAILED",
        "JOB_STATE_CANCELLED",
        "JOB_STATE_EXPIRED",
        "JOB_STATE_PARTIALLY_SUCCEEDED",
    }
)
_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)"
    r"/hyperparameterTuningJobs/(?P<job_id>[^/]+)$"
)
_LOGIN = "run 'gcloud auth application-default login'"


@dataclass(frozen=True)
class JobName:
    """The parts of ``projects/P/locations/R/hyperparameterTuningJobs/ID``.

    Example:
        >>> str(JobName("p", "us-central1", "7"))
        'projects/p/locations/us-central1/hyperparameterTuningJobs/7'
    """

    project: str
    region: str
    job_id: str

    def __str__(self) -> str:
        return (
            f"projects/{self.project}/locations/{self.region}"
            f"/hyperparameterTuningJobs/{self.job_id}"
        )


def parse_job_name(name: str) -> JobName:
    """Split a tuning job's resource name into project, region and id.

    Raises:
        ConfigurationError: ``name`` is not a tuning job's resource name.

    Example:
        >>> parse_job_name("projects/p/locations/us-central1/hyperparameterTuningJobs/7").project
        'p'
    """
    match = _NAME.match(name.strip())
    if match is None:
        raise ConfigurationError(
            f"JOB_RESOURCE_NAME must look like projects/P/locations/R/hyperparameterTuningJobs/ID, "
            f"got {name!r}. Fix: copy the name 'vertex-hydra submit' printed, or pass the bare "
            "job ID with --project and --region."
        )
    return JobName(**match.groupdict())


def console_url(name: JobName) -> str:
    """The Google Cloud console page of a tuning job.

    The form is the one ``google.cloud.aiplatform.HyperparameterTuningJob``
    (google-cloud-aiplatform 2.x) prints as its dashboard URI.

    Example:
        >>> console_url(JobName("p", "us-central1", "7"))
        'https://console.cloud.google.com/agent-platform/locations/us-central1/training/7?project=p'
    """
    return (
        f"https://console.cloud.google.com/agent-platform/locations/{name.region}"
        f"/training/{name.job_id}?project={name.project}"
    )


def regional_endpoint(region: str) -> str:
    """The host of Vertex AI's API in ``region``, unless ``VERTEX_HYDRA_API_ENDPOINT`` is set.

    Example:
        >>> regional_endpoint("us-central1")  # doctest: +SKIP
        'us-central1-aiplatform.googleapis.com'
    """
    return os.environ.get(ENDPOINT_ENV) or f"{region}-aiplatform.googleapis.com"


def make_client(region: str, api_endpoint: str | None = None) -> Any:
    """A ``JobServiceClient`` on the REST transport at ``region``'s endpoint.

    Credentials come from Application Default Credentials, or are anonymous
    when ``VERTEX_HYDRA_ANONYMOUS_CREDENTIALS=1`` (emulators and tests).

    Raises:
        CloudError: No credentials were found, or ``GOOGLE_APPLICATION_CREDENTIALS``
            names a file that is missing, unreadable or no key file.

    Example:
        >>> client = make_client("us-central1")  # doctest: +SKIP
    """
    from google.cloud import aiplatform_v1

    credentials: Any = None
    if os.environ.get(ANONYMOUS_ENV, "").lower() in ("1", "true", "yes"):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    endpoint = api_endpoint or regional_endpoint(region)
    key = os.environ.get(KEY_FILE_ENV)
    problem = None if credentials is not None or not key else key_file_problem(key)
    if key and problem is not None:  # google.auth says "not found", or IsADirectoryError
        raise CloudError(
            _key_file_message(f"authenticate to Vertex AI at {endpoint}", key, problem)
        )
    with vertex_errors(f"authenticate to Vertex AI at {endpoint}"):
        # REST: the transport gcloud uses, and one that speaks plain HTTP to a loopback fake.
        return aiplatform_v1.JobServiceClient(
            credentials=credentials,
            transport="rest",
            client_options={"api_endpoint": endpoint},
        )


@contextmanager
def vertex_errors(action: str, *, project: str = "", region: str = "") -> Iterator[None]:
    """Turn Google's exceptions raised inside the block into one-sentence :class:`CloudError`.

    Args:
        action: What the block does, e.g. ``"create the tuning job"``.
        project: The project, named in the fix where it helps.
        region: The region, named in the fix where it helps.

    Example:
        >>> with vertex_errors("get the job"):  # doctest: +SKIP
        ...     client.get_hyperparameter_tuning_job(name=name)
    """
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions
    from requests import exceptions as http_exceptions

    try:
        yield
    except (auth_exceptions.RefreshError, auth_exceptions.InvalidOperation) as error:
        # A revoked or expired login fails while refreshing its token, before any 401.
        raise CloudError(
            f"cannot {action}: the credentials could not be refreshed ({error}). Fix: {_LOGIN} "
            "again, or check the key file in GOOGLE_APPLICATION_CREDENTIALS."
        ) from error
    except auth_exceptions.DefaultCredentialsError as error:
        key = os.environ.get(KEY_FILE_ENV)
        if key:
            why = key_file_problem(key) or f"which is no usable key file ({_first_text(error)})"
            raise CloudError(_key_file_message(action, key, why)) from error
        raise CloudError(
            f"cannot {action}: no Google Cloud credentials found. Fix: {_LOGIN}, or set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file."
        ) from error
    except api_exceptions.GoogleAPICallError as error:
        raise CloudError(_http_message(action, error, project, region)) from error
    except (auth_exceptions.TransportError, http_exceptions.ConnectionError) as error:
        raise CloudError(
            f"cannot {action}: the Vertex AI endpoint is unreachable ({type(error).__name__}). "
            "Fix: check your network and --region (and --api-endpoint or VERTEX_HYDRA_API_ENDPOINT "
            "if you set one)."
        ) from error


def key_file_problem(path: str) -> str | None:
    """Why the file ``GOOGLE_APPLICATION_CREDENTIALS`` names cannot be read, or ``None``.

    Example:
        >>> key_file_problem("/no/such/key.json")
        'which does not exist'
    """
    if not os.path.exists(path):
        return "which does not exist"
    if os.path.isdir(path):
        return "which is a folder, not a key file"
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        return f"which cannot be read ({error.strerror})"
    return None


def _key_file_message(action: str, key: str, why: str) -> str:
    return (
        f"cannot {action}: {KEY_FILE_ENV} is set to {key!r}, {why}. Fix: point {KEY_FILE_ENV} "
        f"at a service-account key file you can read, or unset it and {_LOGIN}."
    )


def _first_text(error: BaseException) -> str:
    """The first argument of a google.auth error (it may carry the cause as a second one)."""
    return str(error.args[0] if error.args else error).strip().rstrip(".")


def _http_message(action: str, error: Any, project: str, region: str) -> str:
    code = error.code or 0
    said = f"({code} {_google_text(error)})"
    where = f"project {project!r}" if project else "the project"
    if code == 401:
        return f"cannot {action}: the credentials were rejected {said}. Fix: {_LOGIN} again."
    if code == 403:
        return (
            f"cannot {action}: permission denied on {where} {said}. Fix: enable the API "
            "('gcloud services enable aiplatform.googleapis.com') and grant your account "
            "roles/aiplatform.user on the project."
        )
    if code == 404:
        return (
            f"cannot {action}: not found {said}. Fix: check --project (the project ID, "
            "not its display name), --region (e.g. us-central1) and the job name."
        )
    if code == 429:
        return (
            f"cannot {action}: quota exceeded in {region or 'the region'} {said}. Fix: lower "
            "parallelTrialCount or the machine/accelerator size, try another --region, or "
            "request more quota under IAM & Admin > Quotas."
        )
    if code == 400:
        return (
            f"cannot {action}: Vertex AI rejected the job {said}. Fix: correct the field "
            "named in the message in the job file, then submit again."
        )
    return (
        f"cannot {action}: Vertex AI answered {said}. Fix: retry later; if it persists, "
        "see https://status.cloud.google.com."
    )


def _google_text(error: Any) -> str:
    """Google's own message, without the URL that api-core prefixes to it."""
    response = getattr(error, "response", None)
    try:
        text = response.json()["error"]["message"] if response is not None else None
    except (ValueError, KeyError, TypeError, AttributeError):
        text = None
    return str(text or error.message).strip().rstrip(".")


def create_job(client: Any, parent: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Create the tuning job ``body`` under ``parent`` (``projects/P/locations/R``).

    Returns:
        The created job as REST JSON, with its ``name``.

    Example:
        >>> create_job(client, "projects/p/locations/us-central1", body)["name"]  # doctest: +SKIP
        'projects/123/locations/us-central1/hyperparameterTuningJobs/456'
    """
    from google.cloud.aiplatform_v1.types import HyperparameterTuningJob
    from google.protobuf import json_format

    message = HyperparameterTuningJob()
    json_format.ParseDict(dict(body), HyperparameterTuningJob.pb(message))
    created = client.create_hyperparameter_tuning_job(
        parent=parent, hyperparameter_tuning_job=message
    )
    result: dict[str, Any] = json_format.MessageToDict(HyperparameterTuningJob.pb(created))
    return result


def get_job(client: Any, name: str) -> dict[str, Any]:
    """Fetch a tuning job, trials included, as REST JSON.

    Example:
        >>> get_job(client, str(name))["state"]  # doctest: +SKIP
        'JOB_STATE_RUNNING'
    """
    from google.cloud.aiplatform_v1.types import HyperparameterTuningJob
    from google.protobuf import json_format

    job = client.get_hyperparameter_tuning_job(name=name)
    result: dict[str, Any] = json_format.MessageToDict(HyperparameterTuningJob.pb(job))
    return result
