"""One outage's recovery timers and throttled log lines, apart from the loop's lock-guarded state.

An outage (writer.loop) lasts until a write issued during it succeeds. While it lasts, the main thread checks
DNS every RESOLVE_EVERY seconds, rebuilds the session when the seeds moved or WRITER_RESOLVE_AFTER passed,
and turns /healthz red when a rebuild did not help; a rebuild runs on its own thread and moves these timers.
"""

from __future__ import annotations

#: Seconds between DNS checks of the seeds during an outage (``store.moved``): a lookup, cheap.
RESOLVE_EVERY = 2.0


class Outage:
    """The timers of ONE outage: made when it begins, dropped when it ends, never reset or reused.

    The rebuild thread keeps the instance it was started for, so a rebuild that ends after its outage is over
    (a write succeeded meanwhile) can only move that dead instance's timers: the next outage starts from its
    own. Timers shared across outages let a late rebuild leave the next outage with a rebuild time set and no
    DNS-check time, and the loop died comparing with None.
    """

    __slots__ = ("since", "rebuild_next", "resolve_next", "rebuild_first", "still_down_logged", "moved_logged",
                 "rebuild_failed_logged", "unhealthy_logged")

    def __init__(self, since: float, resolve_after: float):
        self.since = since
        self.rebuild_next = since + resolve_after  # the slow fallback: rebuild whatever DNS says
        self.resolve_next = since + RESOLVE_EVERY  # the next DNS check of the seeds
        self.rebuild_first: float | None = None  # health() counts from the first rebuild attempt
        # When each throttled line was last logged, so that a long outage logs one line per interval, not per try.
        self.still_down_logged = since
        self.moved_logged = self.rebuild_failed_logged = float("-inf")
        self.unhealthy_logged = False  # once per outage
