"""lab.stall.longest_stall on hand-made (time, seq) samples."""

from lab.stall import Stall, longest_stall


def test_too_few_readings_have_no_stall():
    assert longest_stall([]) is None
    assert longest_stall([(0.0, 1)]) is None
    assert longest_stall([(0.0, None), (1.0, 5), (2.0, None)]) is None


def test_a_writer_that_never_stops_stalls_one_interval():
    assert longest_stall([(0.0, 1), (1.0, 2), (2.0, 3), (3.0, 4)]) == Stall(1.0, 0.0, 1.0, 1)


def test_a_stall_in_the_middle():
    samples = [(0.0, 1), (1.0, 2), (2.0, 2), (3.0, 2), (4.5, 3), (5.0, 4)]
    assert longest_stall(samples) == Stall(seconds=3.5, start=1.0, end=4.5, seq=2, open=False)


def test_samples_out_of_order_are_sorted_first():
    samples = [(4.5, 3), (0.0, 1), (3.0, 2), (1.0, 2), (5.0, 4), (2.0, 2)]
    assert longest_stall(samples) == Stall(3.5, 1.0, 4.5, 2)


def test_a_stall_still_open_at_the_end():
    samples = [(0.0, 1), (1.0, 2), (2.0, 2), (5.0, 2)]
    assert longest_stall(samples) == Stall(seconds=4.0, start=1.0, end=5.0, seq=2, open=True)


def test_an_open_stall_shorter_than_an_earlier_one_does_not_win():
    samples = [(0.0, 1), (4.0, 2), (5.0, 2)]
    assert longest_stall(samples) == Stall(4.0, 0.0, 4.0, 1, open=False)


def test_failed_reads_inside_a_stall_neither_end_nor_start_one():
    samples = [(0.0, 1), (1.0, 2), (2.0, None), (3.0, None), (4.0, 2), (6.0, 3)]
    assert longest_stall(samples) == Stall(5.0, 1.0, 6.0, 2)


def test_failed_reads_at_the_end_do_not_extend_an_open_stall():
    samples = [(0.0, 1), (2.0, 1), (3.0, None), (9.0, None)]
    assert longest_stall(samples) == Stall(2.0, 0.0, 2.0, 1, open=True)
