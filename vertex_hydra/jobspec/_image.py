"""The container image reference grammar, for every ``containerSpec.imageUri``.

The grammar is Docker distribution's ``reference`` (the one Artifact Registry
and Vertex AI accept): ``[registry[:port]/]path(/path)*[:tag][@digest]``, path
components in lowercase. An image written with uppercase path components, such
as ``REGION-docker.pkg.dev/PROJECT/REPO/digits:latest``, is a placeholder left
for the user to replace. ``check`` and ``submit`` both judge images here.

Example:
    >>> image_problem("us-central1-docker.pkg.dev/my-proj/repo/img:v1") is None
    True
    >>> is_placeholder("REGION-docker.pkg.dev/PROJECT/REPO/digits:latest")
    True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["image_problem", "is_placeholder", "container_images", "ImageFinding", "image_findings"]

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
_REFERENCE = re.compile(
    rf"(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
_NAME_MAX = 255  # Docker's limit on the name (registry and path)


def image_problem(uri: str) -> str | None:
    """What makes ``uri`` no container image reference, or ``None`` when it is one.

    Returns:
        A clause such as ``"'a//b' has an empty path component"``, to put in a sentence.

    Example:
        >>> image_problem("gcr.io/p/i@sha256:" + "0" * 64) is None
        True
        >>> image_problem("localhost:5000/a/b") is None
        True
        >>> image_problem("gcr.io/p/Img:v1")
        "'gcr.io/p/Img:v1' has the path component 'Img', which must be lowercase"
        >>> image_problem("gcr.io/p/i:-v1")
        "'gcr.io/p/i:-v1' has the tag '-v1', which must be up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
    """
    if not uri.strip():
        return "the image reference is empty"
    if uri != uri.strip():
        return f"{uri!r} has spaces around it"
    match = _REFERENCE.fullmatch(uri)
    if match is not None:
        name = (match["domain"] + "/" if match["domain"] else "") + match["path"]
        if len(name) > _NAME_MAX:
            return f"{uri[:40]!r}... has a name longer than {_NAME_MAX} characters"
        return None
    return f"{uri!r} {_why(uri)}"


def _why(uri: str) -> str:
    """The first part of ``uri`` that breaks the grammar (``uri`` does not match it)."""
    rest, _, digest = uri.partition("@")
    if "@" in uri and not re.fullmatch(_DIGEST, digest):
        return f"has the digest {digest!r}, which must look like sha256:<64 hex digits>"
    components = rest.split("/")
    last = components[-1]
    if ":" in last:
        last, _, tag = last.partition(":")
        if not re.fullmatch(_TAG, tag):
            return (
                f"has the tag {tag!r}, which must be up to 128 letters, digits, '_', '.' or '-', "
                "not starting with '.' or '-'"
            )
    components[-1] = last
    if len(components) > 1 and re.fullmatch(_DOMAIN, components[0]) and (
        "." in components[0] or ":" in components[0] or components[0] == "localhost"
        or components[0].lower() != components[0]
    ):  # fmt: skip
        components = components[1:]
    for component in components:
        if not component:
            return "has an empty path component (a leading, trailing or double '/')"
        if not re.fullmatch(_PATH_COMPONENT, component):
            if re.fullmatch(_PATH_COMPONENT, component.lower()):
                return f"has the path component {component!r}, which must be lowercase"
            return (
                f"has the path component {component!r}, which must be lowercase letters and "
                "digits, separated by '.', '_', '__' or dashes"
            )
    return "is no image reference ([registry[:port]/]path[:tag][@digest])"


def is_placeholder(uri: str) -> bool:
    """Whether ``uri`` is an image written in capitals to be replaced (``PROJECT/REPO``).

    Example:
        >>> is_placeholder("REGION-docker.pkg.dev/PROJECT/REPO/digits:latest")
        True
        >>> is_placeholder("gcr.io/p/i:v1"), is_placeholder("gcr.io//i")
        (False, False)
    """
    return image_problem(uri) is not None and image_problem(uri.lower()) is None


def container_images(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each worker pool's ``containerSpec.imageUri`` that is a string, with its field path.

    Example:
        >>> container_images({"trialJobSpec": {"workerPoolSpecs": [
        ...     {"containerSpec": {"imageUri": "gcr.io/p/i"}}, {"pythonPackageSpec": {}}]}})
        [('trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri', 'gcr.io/p/i')]
    """
    trial = raw.get("trialJobSpec")
    pools = trial.get("workerPoolSpecs") if isinstance(trial, Mapping) else None
    found: list[tuple[str, str]] = []
    for index, pool in enumerate(pools if isinstance(pools, list) else []):
        spec = pool.get("containerSpec") if isinstance(pool, Mapping) else None
        uri = spec.get("imageUri") if isinstance(spec, Mapping) else None
        if isinstance(uri, str):
            found.append((f"trialJobSpec.workerPoolSpecs[{index}].containerSpec.imageUri", uri))
    return found


@dataclass(frozen=True)
class ImageFinding:
    """A ``containerSpec.imageUri`` that is no image reference.

    Args:
        field: Where it is, e.g. ``trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri``.
        uri: The value written there.
        problem: What :func:`image_problem` says about it.

    Example:
        >>> finding = image_findings({"trialJobSpec": {"workerPoolSpecs": [{"containerSpec": {
        ...     "imageUri": "REGION-docker.pkg.dev/PROJECT/REPO/digits:latest"}}]}})[0]
        >>> finding.placeholder
        True
        >>> print(finding)  # doctest: +NORMALIZE_WHITESPACE
        trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri is the placeholder
        'REGION-docker.pkg.dev/PROJECT/REPO/digits:latest', not an image. Fix: replace it with
        your image, e.g. us-central1-docker.pkg.dev/my-project/my-repo/digits:latest, or pass
        --image to 'vertex-hydra submit'.
    """

    field: str
    uri: str
    problem: str

    @property
    def placeholder(self) -> bool:
        """Whether the image is a placeholder in capitals (see :func:`is_placeholder`)."""
        return is_placeholder(self.uri)

    def __str__(self) -> str:
        example = _EXAMPLE.format(name=_last_name(self.uri))
        if self.placeholder:
            return (
                f"{self.field} is the placeholder {self.uri!r}, not an image. Fix: replace it "
                f"with your image, e.g. {example}, or pass --image to 'vertex-hydra submit'."
            )
        return (
            f"{self.field} is no container image reference: {self.problem}. Fix: correct it, "
            f"e.g. {example}, or pass --image to 'vertex-hydra submit'."
        )


_EXAMPLE = "us-central1-docker.pkg.dev/my-project/my-repo/{name}:latest"


def _last_name(uri: str) -> str:
    """The image's own name (``digits``) when it has a valid one, else ``trainer``."""
    name = uri.split("@")[0].rsplit("/", 1)[-1].split(":")[0].lower()
    return name if re.fullmatch(_PATH_COMPONENT, name) else "trainer"


def image_findings(raw: Mapping[str, Any]) -> list[ImageFinding]:
    """Every worker pool's ``containerSpec.imageUri`` that breaks the reference grammar.

    Example:
        >>> image_findings({"trialJobSpec": {"workerPoolSpecs": [
        ...     {"containerSpec": {"imageUri": "gcr.io/p/i:v1"}}]}})
        []
    """
    found = []
    for field, uri in container_images(raw):
        problem = image_problem(uri)
        if problem is not None:
            found.append(ImageFinding(field, uri, problem))
    return found
