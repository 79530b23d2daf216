"""Which failures are worth retrying: transient ones (an outage) are, permanent ones (bad input) are not.

A permanent error ends the writer with one line and exit 2: retrying an invalid statement, a refused login or
a value the schema cannot hold would only loop forever while the pod looks healthy. Everything else (nodes
down, timeouts, refused connections, DNS not answering yet) is an outage and is retried with backoff.
"""

from __future__ import annotations

import functools
import struct
from typing import Any

#: Errors raised before a request leaves the process: a value the driver cannot encode or a number no clock or
#: socket accepts. A TypeError counts only as the driver's bind() words it (a seq beyond int32 reaches bind() as
#: struct.error, re-raised as this TypeError); any other TypeError is a fault inside the driver, not our input.
_OUT_OF_RANGE = (OverflowError, struct.error)
_BIND_REFUSED = "Received an argument of invalid type for column"


@functools.cache
def _kinds() -> tuple[tuple[type[BaseException], ...], tuple[tuple[Any, str], ...]]:
    """(permanent classes, hints), imported on first use: a configuration error never loads the driver."""
    from cassandra import AuthenticationFailed, InvalidRequest, Unauthorized
    from cassandra.protocol import ConfigurationException, SyntaxException

    # Errors that mean "the request itself is wrong": the same request can never succeed. Each with what it
    # most likely means, for the one line; the server's own message follows it.
    hints = (
        (AuthenticationFailed, "Cassandra rejected CASSANDRA_USERNAME/CASSANDRA_PASSWORD"),
        (Unauthorized, "the Cassandra role of CASSANDRA_USERNAME lacks a permission"),
        (SyntaxException, "Cassandra refused a statement as invalid CQL (check KEYSPACE: a reserved word?)"),
        (ConfigurationException, "Cassandra refused the schema (check KEYSPACE and REPLICATION_FACTOR)"),
        (InvalidRequest, "Cassandra refused a request as invalid (check TOPIC, KEYSPACE, WRITER_BATCH_SIZE)"),
        (_OUT_OF_RANGE + (TypeError,), "a value is out of range"),
    )
    return tuple(kind for kind, _ in hints[:-1]), hints


class Permanent(Exception):
    """Retrying cannot help; ``str()`` is the one line to print before exiting 2."""


def inner_errors(exc: BaseException) -> list[Any]:
    """The per-host errors a NoHostAvailable (or OperationTimedOut) carries, whatever their shape.

    The driver fills ``errors`` with a dict {endpoint: exception} when it tried hosts, but with a *list* of
    host addresses when it could open no connection pool at all (Session.__init__, e.g. a wrong CASSANDRA_DC),
    and with an empty dict when no host was even tried.
    """
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict):
        return list(errors.values())
    if isinstance(errors, (list, tuple, set)):
        return list(errors)
    return []


#: What Cassandra says when it could not *check* a login or a permission (for a login it answers "Bad
#: credentials" all the same, for a permission "Unauthorized"): system_auth's replicas are not reachable at the
#: auth consistency level, e.g. while the ring comes back after every node restarted ("Unable to perform
#: authentication: ...", "Unable to perform authorization of permissions: Cannot achieve consistency level
#: LOCAL_QUORUM"). That is an outage; only a wrong name or password, or a permission the role lacks, is permanent.
_AUTH_UNAVAILABLE = ("Unable to perform auth", "Cannot achieve consistency level", "Operation timed out")


#: How Cassandra words a write its disk-usage guardrail refuses (data_disk_usage_percentage_fail_threshold of
#: data_disk_usage_max_disk_size, set from the PVC's size in cassandra.yml): "Guardrail replica_disk_usage
#: violated: Write request failed because disk usage exceeds failure threshold", an InvalidRequest.
#:
#: An outage, not a permanent error, although the driver calls it an invalid request. The request is fine; a
#: replica's disk is full, and Cassandra takes the same write again as soon as usage is back under the threshold
#: (its monitor samples every 30 s): an operator frees space (`nodetool clearsnapshot`, compaction, dropping
#: data) or raises the limit, and nothing about the writer changes. Retrying in place resumes within a backoff of
#: that moment, where an exit would put the pod in CrashLoopBackOff (up to 5 min between restarts) and read as a
#: fault of the writer. Nothing is acknowledged while writes are refused, so nothing is lost; the outage's first
#: line says which guardrail and what to do (DISK_FULL_HINT).
DISK_FULL = "Guardrail replica_disk_usage violated"
DISK_FULL_HINT = ("Cassandra's disk-usage guardrail refuses writes (a replica's data disk is over "
                  "data_disk_usage_percentage_fail_threshold of data_disk_usage_max_disk_size): free space on the "
                  "Cassandra nodes or raise the limit; this writer keeps retrying and resumes when writes are "
                  "accepted again, nothing acknowledged is lost")


def disk_full(exc: BaseException) -> bool:
    """``exc`` (or every host of a NoHostAvailable) is Cassandra's disk-usage guardrail refusing a write."""
    return DISK_FULL in str(exc) or any(DISK_FULL in str(err) for err in inner_errors(exc))


def _is_permanent(err: BaseException, permanent: tuple[type[BaseException], ...]) -> bool:
    from cassandra import AuthenticationFailed, Unauthorized

    if isinstance(err, (AuthenticationFailed, Unauthorized)) and any(text in str(err) for text in _AUTH_UNAVAILABLE):
        return False
    if DISK_FULL in str(err):
        return False
    if isinstance(err, TypeError):
        return str(err).startswith(_BIND_REFUSED)
    return isinstance(err, permanent + _OUT_OF_RANGE)


def permanent_cause(exc: BaseException) -> BaseException | None:
    """The permanent error behind ``exc`` (itself, or what every host of a NoHostAvailable said), or None."""
    permanent, _ = _kinds()
    if _is_permanent(exc, permanent):
        return exc
    inner = [err for err in inner_errors(exc) if isinstance(err, BaseException)]
    if inner and len(inner) == len(inner_errors(exc)) and all(_is_permanent(e, permanent) for e in inner):
        return inner[0]  # every host gave the same kind of refusal (e.g. bad credentials on each node)
    return None


@functools.cache
def _answers() -> tuple[type[BaseException], type]:
    from cassandra import RequestExecutionException
    from cassandra.protocol import ErrorMessage

    return RequestExecutionException, ErrorMessage


def cassandra_answered(exc: BaseException) -> bool:
    """Did a Cassandra node itself answer (Unavailable, a replica timeout, overloaded, bootstrapping ...),
    directly or for one of the hosts of a NoHostAvailable? Then the writer reaches the cluster and the
    cluster is short of replicas: waiting is right, and restarting the writer could not help."""
    answered = _answers()
    return (isinstance(exc, answered) or any(isinstance(err, answered) for err in inner_errors(exc))
            or disk_full(exc))  # the guardrail's refusal is Cassandra's own answer, whatever the driver's class


def check(exc: BaseException, doing: str) -> None:
    """Raise Permanent with one line when ``exc`` (raised while ``doing``) cannot be fixed by retrying."""
    if isinstance(exc, Permanent):  # already classified, with its own line (e.g. a CASSANDRA_DC no node has)
        raise exc
    cause = permanent_cause(exc)
    if cause is None:
        return
    hint = next(text for kind, text in _kinds()[1] if isinstance(cause, kind))
    raise Permanent(f"writer: {hint} while {doing} ({describe(cause)})") from exc


def describe(exc: BaseException) -> str:
    """``Class: message`` on one line, whole: the reason of a NoHostAvailable is in its per-host errors, at the
    end, so each host is rendered as ``address: Class: message`` after the summary instead of the dict's repr."""
    from cassandra.cluster import NoHostAvailable

    inner = getattr(exc, "errors", None)
    if isinstance(exc, NoHostAvailable) and isinstance(inner, dict) and inner and exc.args:
        hosts = "; ".join(f"{host}: {describe(err) if isinstance(err, BaseException) else err}"
                          for host, err in inner.items())
        text = f"{' '.join(str(exc.args[0]).split())} ({hosts})"
    else:
        text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
