"""writer.latency: the p99 estimate and the speculative delay that follows it, clamped."""

from writer.latency import AdaptiveSpeculativePolicy, LatencyTracker


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
