"""writer.latency: the p99 estimate and what follows it, clamped: the speculative delay, the loop's attempt
timeout; which coordinators are sick, and the query plans that put them last."""

from writer.latency import (
    ATTEMPT_MIN,
    PROBATION_S,
    AdaptiveSpeculativePolicy,
    AvoidSickHosts,
    HostWatch,
    LatencyTracker,
    attempt_timeout,
)


def test_p99_follows_the_recent_writes():
    tracker = LatencyTracker(size=1000, every=100, initial=0.5)
    assert tracker.p99 == 0.5  # nothing observed yet
    for i in range(1000):
        tracker.observe(0.100 if i % 100 == 0 else 0.002)  # 1 % slow
    assert 0.002 <= tracker.p99 <= 0.100
    for _ in range(1000):  # the cluster got slow: the ring forgets the fast past
        tracker.observe(0.050)
    assert tracker.p99 == 0.050


def test_the_speculative_delay_is_the_p99_clamped_and_one_attempt():
    tracker = LatencyTracker(every=1, initial=0.5)
    policy = AdaptiveSpeculativePolicy(tracker, low=0.01, high=1.0)
    assert policy.delay == 0.5
    tracker.observe(0.001)
    assert policy.delay == 0.01  # never below the floor
    for _ in range(200):
        tracker.observe(30.0)
    assert policy.delay == 1.0  # never above the ceiling (half the request timeout in the store)
    plan = policy.new_plan("ks", None)
    assert [plan.next_execution(None), plan.next_execution(None)] == [1.0, -1]


def test_the_attempt_timeout_is_one_and_a_half_p99_between_its_floor_and_the_request_timeout():
    tracker = LatencyTracker(every=1, initial=0.5)
    assert attempt_timeout(tracker, cap=5.0) == 0.75
    tracker.observe(0.001)
    assert attempt_timeout(tracker, cap=5.0) == ATTEMPT_MIN
    for _ in range(200):
        tracker.observe(30.0)
    assert attempt_timeout(tracker, cap=5.0) == 5.0


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_host_sent_requests_and_silent_longer_than_the_timeout_is_sick_until_it_answers():
    clock = Clock()
    watch = HostWatch(lambda: 0.5, clock=clock)
    watch.sent("a")
    watch.sent("b")
    clock.now += 0.4
    watch.answered("b")
    watch.sent("a")  # a second request does not restart a's wait
    assert watch.sick() == set()
    clock.now += 0.2
    assert watch.sick() == {"a"}
    watch.answered(None)  # a client-side timeout is nobody's answer
    assert watch.sick() == {"a"}
    watch.answered("a")  # thawed: its late answers arrive; it stays last while it catches up
    assert watch.sick() == {"a"}
    clock.now += PROBATION_S
    assert watch.sick() == set()
    watch.sent("b")
    clock.now += 0.1
    watch.answered("b")  # a host answering in time is never put on probation
    assert watch.sick() == set()


class Plans:
    """A child policy whose plan is always the same hosts."""

    def __init__(self, hosts):
        self.hosts = hosts

    def make_query_plan(self, working_keyspace=None, query=None):
        yield from self.hosts


def test_sick_hosts_go_last_in_every_plan_and_all_sick_changes_nothing():
    clock = Clock()
    watch = HostWatch(lambda: 0.5, clock=clock)
    policy = AvoidSickHosts(Plans(["h1", "h2", "h3"]), watch)
    assert list(policy.make_query_plan("ks", None)) == ["h1", "h2", "h3"]
    watch.sent("h1")
    clock.now += 1
    assert list(policy.make_query_plan("ks", None)) == ["h2", "h3", "h1"]
    watch.sent("h2")
    watch.sent("h3")
    clock.now += 1
    assert list(policy.make_query_plan("ks", None)) == ["h1", "h2", "h3"]


class Recorder(Plans):
    def __init__(self, hosts):
        super().__init__(hosts)
        self.calls = []

    def on_up(self, host):
        self.calls.append(("up", host))

    def on_add(self, host):
        self.calls.append(("add", host))


def test_a_sick_host_the_driver_sees_come_up_again_is_forgotten():
    clock = Clock()
    watch = HostWatch(lambda: 0.5, clock=clock)
    child = Recorder(["h1", "h2"])
    policy = AvoidSickHosts(child, watch)
    watch.sent("h1")
    clock.now += 1
    assert list(policy.make_query_plan()) == ["h2", "h1"]
    policy.on_up("h1")  # a node killed and restarted: its requests failed, none answered
    assert list(policy.make_query_plan()) == ["h1", "h2"] and child.calls == [("up", "h1")]
    watch.sent("h2")
    clock.now += 1
    policy.on_add("h2")
    assert watch.sick() == set() and child.calls[-1] == ("add", "h2")
