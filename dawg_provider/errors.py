"""The one exception hierarchy of DAWG.

Every error DAWG raises on purpose derives from `DawgError`, and its message alone
explains the problem to a person: which generator (or dashboard, or field), what
happened, and what to do about it. Lower-level errors (wasmtime traps, OS errors,
JSON decoding) are translated at the boundary where they occur, so adapters (the CLI,
the Pulumi provider, the sync job) print `str(error)` and never a traceback.

Secrets never enter these messages: callers pass names, uids and references, not
credentials. And because servers do echo what they were sent (a proxy's error page, a
registry quoting the request), the errors built from HTTP answers (`GrafanaError`,
`RegistryError`) pass their text through `scrub`: every secret value the process was
given (`register_secret`) and anything shaped like a credential (`Authorization: ...`,
`Bearer ...`, `Basic ...`, Grafana `glsa_`/`glc_` tokens) becomes `[redacted]`.
"""

from __future__ import annotations

import base64
import re
import threading
import unicodedata
from urllib.parse import quote, quote_plus

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_CREDENTIAL_SHAPED = re.compile(
    r"(?i)(?:authorization|x-api-key|x-grafana-token|api[_-]?key|cookie|password|passwd)"
    r"[\"']?\s*[:=]\s*[\"']?(?:[a-z]+(?:\s+|%20))?[^\s,;\"']+"
    r"|\b(?:bearer|basic)\s+[a-z0-9._~+/=-]{8,}"
    r"|\bgl(?:sa|c)_[a-z0-9_=+/-]+"
)
REDACTED = "[redacted]"


def register_secret(value: str | None) -> None:
    """Remember a credential this process holds, so `scrub` removes it from any message.

    Also the forms a server may echo it in: URL-quoted, JSON-escaped, base64 (with and
    without padding).
    """
    if value and len(value) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.update(_variants(value))


def register_credentials(username: str | None, password: str | None) -> None:
    """A username/password pair: the password, and the `Basic` header value built from both."""
    register_secret(password)
    if username and password:
        register_secret(f"{username}:{password}")


def _variants(value: str) -> set[str]:
    encoded = base64.b64encode(value.encode()).decode()
    forms = {value, quote(value, safe=""), quote_plus(value), value.replace("/", "\\/"), encoded}
    forms.add(encoded.rstrip("="))
    return {form for form in forms if len(form) >= 4}


def scrub(text: str, limit: int | None = None) -> str:
    """`text` without any registered secret value or credential-shaped text, then cut to
    `limit` characters: scrubbing first, so no secret straddling the cut leaks its prefix."""
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _CREDENTIAL_SHAPED.sub(REDACTED, text)
    return text if limit is None else text[:limit]


class DawgError(Exception):
    """Base of every error DAWG raises on purpose; its message is meant for people."""


class InvalidLimit(DawgError):
    """A limit (timeout, memory, output size) was given in a form DAWG cannot use."""


class PolicyViolation(DawgError):
    """A Dashboard resource asked for something the sync job's policy does not allow it."""


class InvalidReference(DawgError):
    """A generator reference could not be parsed or points at nothing usable."""


class CacheError(DawgError):
    """The cache directory cannot be used safely (wrong owner, wrong mode, not a directory)."""


class RegistryError(DawgError):
    """A registry could not be reached, refused us, or lacks what was asked for."""

    def __init__(self, reference: str, problem: str, hint: str = "") -> None:
        problem, hint = scrub(problem), scrub(hint)
        self.reference = reference
        self.problem = problem
        self.hint = hint
        message = f"{reference}: {problem}"
        if hint:
            message += f"\n  hint: {hint}"
        super().__init__(message)


class RegistryUnreachable(RegistryError):
    """The registry did not answer: connection refused, DNS, TLS or timeout."""


class RegistryAuthError(RegistryError):
    """The registry refused our credentials, or wanted credentials we do not have."""


class ArtifactNotFound(RegistryError):
    """The repository, tag or digest does not exist in the registry."""


class GrafanaError(DawgError):
    """Grafana answered a request with an error, or did not answer at all."""

    def __init__(
        self, method: str, path: str, what: str, status: int | None, message: str, word: str | None = None
    ) -> None:
        self.method = method
        self.path = path
        self.what = what
        message = scrub(message)
        self.status = status
        self.grafana_message = message
        self.word = word
        text = f"Grafana {method} {path} ({what}): "
        if status is None:
            text += message
        else:
            text += f"HTTP {status}" + (f" {word}" if word else "") + (f": {message}" if message else "")
        super().__init__(scrub(text))


class GrafanaUnreachable(GrafanaError):
    """Grafana did not answer: connection refused, reset, DNS, TLS or timeout, after retries."""


class GrafanaDown(GrafanaUnreachable):
    """Grafana failed so many requests in a row that the rest are not sent (circuit breaker open)."""


class GrafanaDeadline(GrafanaUnreachable):
    """The time allowed for a sync pass or a Pulumi operation ran out before Grafana answered."""


class GrafanaUnsupported(GrafanaError):
    """This Grafana cannot do what was asked (nested folders off, no v2 API, ...)."""


class GrafanaUnauthorized(GrafanaError):
    """401: the token or password is missing, wrong, expired, or for another org."""


class GrafanaForbidden(GrafanaError):
    """403: authenticated, but not allowed to do this."""


class GrafanaNotFound(GrafanaError):
    """404 for something that must exist (a folder, a dashboard being updated)."""


class GrafanaConflict(GrafanaError):
    """409 or 412: someone else changed it, or a title or uid is taken."""


class GrafanaInvalidRequest(GrafanaError):
    """400 or 422: Grafana refused the request as invalid; its message says why."""


class GrafanaServerError(GrafanaError):
    """5xx (or 429) that persisted through the retries."""


class GeneratorError(DawgError):
    """A generator could not be loaded or run, or what it produced is unusable."""

    def __init__(self, generator: str, problem: str, hint: str = "") -> None:
        self.generator = generator
        self.problem = problem
        self.hint = hint
        message = f"generator {generator}: {problem}"
        if hint:
            message += f"\n  hint: {hint}"
        super().__init__(message)


class InvalidModule(GeneratorError):
    """The bytes are not a WebAssembly module that speaks a contract DAWG runs."""


class GeneratorTimeout(GeneratorError):
    """The generator ran past its wall-clock deadline and was stopped."""


class MemoryLimitExceeded(GeneratorError):
    """The generator needed more linear memory than its cap allows."""


class OutputTooLarge(GeneratorError):
    """The generator wrote more to stdout than the output cap allows."""


class GeneratorCrashed(GeneratorError):
    """The generator trapped (unreachable, stack overflow, out-of-bounds access ...)."""


class GeneratorFailed(GeneratorError):
    """The generator exited with a non-zero code, usually rejecting its config."""

    def __init__(self, generator: str, exit_code: int, stderr: str, hint: str = "", what: str = "") -> None:
        self.exit_code = exit_code
        self.stderr = stderr
        detail = stderr_excerpt(stderr)
        problem = what or f"exited with code {exit_code}"
        problem += f": {detail}" if detail else " and wrote nothing to stderr"
        super().__init__(generator, problem, hint)


class ConfigInvalid(GeneratorFailed):
    """The config does not match the schema its generator declares; the generator never ran."""

    def __init__(self, generator: str, problems: list[str]) -> None:
        # Exit code 1 is the contract's "config rejected", so every adapter that already
        # maps it (the sync job's ConfigInvalid condition, the Pulumi check's `config`
        # field) treats a schema failure the same way, without knowing about schemas.
        self.problems = problems
        self.exit_code = 1
        self.stderr = ""
        listing = "".join(f"\n  - {problem}" for problem in problems)
        GeneratorError.__init__(
            self,
            generator,
            f"config does not match the generator's config schema:{listing}",
            "`dawg docs GENERATOR` prints the fields it takes",
        )


class InvalidArtifact(GeneratorError):
    """What a registry served is not a usable generator (media type, layers, size)."""


class DigestMismatch(InvalidArtifact):
    """Bytes did not hash to the digest that named them; they are never run."""


class InvalidOutput(GeneratorError):
    """The generator succeeded but its stdout is not a usable dashboard."""


class InvalidDashboard(InvalidOutput):
    """The generated dashboard breaks Grafana's dashboard model (an error of the output policy)."""


def stderr_excerpt(stderr: str, head: int = 4, tail: int = 12, max_chars: int = 2500) -> str:
    """The first and last lines of a generator's stderr, short enough for an error message."""
    lines = [line.rstrip() for line in stderr.strip().splitlines()]
    if not lines:
        return ""
    if len(lines) > head + tail:
        lines = [*lines[:head], f"... ({len(lines) - head - tail} lines omitted) ...", *lines[-tail:]]
    text = "\n".join(lines)
    if len(text) > max_chars:
        text = text[: max_chars // 2] + "\n...\n" + text[-max_chars // 2 :]
    if "\n" in text:
        return "\n    " + text.replace("\n", "\n    ")
    return text


_UNSAFE = re.compile(r"[^\n\t\x20-\x7e]")
_NEWLINE = re.compile(r"\n(?!    )")
"""A newline not yet followed by the indent: `printable` of printable text is the same text."""


def printable(text: str) -> str:
    """`text` safe for one log or report entry: control and format characters (ESC, CR,
    NUL, bidirectional overrides ...) escaped, and each newline followed by an indent,
    so text from a CR can neither drive a terminal nor forge a line of its own."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
        return char

    return _NEWLINE.sub("\n    ", _UNSAFE.sub(escape, text))
