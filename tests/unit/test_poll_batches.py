"""The tick's polls grouped into tasks: one wait per batch, never two polls of a host."""

from worker.settings import Settings
from worker.upkeep import poll_batch_budget, poll_batches


def test_polls_with_one_wait_go_together_in_batches_of_the_size():
    # Three hosts' turns: 0 s, 1 s, 2 s; 45 feeds at each turn.
    due = [(turn * 1000 + n, float(turn)) for turn in range(3) for n in range(45)]
    batches = poll_batches(due, size=20)
    assert [(wait, len(ids)) for wait, ids in batches] == [
        (0.0, 20), (0.0, 20), (0.0, 5), (1.0, 20), (1.0, 20), (1.0, 5),
        (2.0, 20), (2.0, 20), (2.0, 5)]
    assert sorted(i for _, ids in batches for i in ids) == sorted(i for i, _ in due)
    assert batches[3][1][0] == 1000  # a turn's feeds in the order the tick gave them


def test_no_polls_no_batches():
    assert poll_batches([]) == []


def test_a_batch_stops_starting_polls_in_time_for_its_last_to_finish():
    settings = Settings(_env_file=None, task_soft_time_limit=300, total_timeout=30)
    assert poll_batch_budget(settings) == 240
    tight = Settings(_env_file=None, task_soft_time_limit=40, total_timeout=30)
    assert poll_batch_budget(tight) == 0  # one poll a task, the rest sent on
