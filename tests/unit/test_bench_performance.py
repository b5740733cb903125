"""The pure parts of the performance harness: percentiles, metrics deltas, the goals table."""
from bench import procstat
from bench.performance_doc import goals, goals_table, table
from bench.report import latency_summary, percentile

SCRAPE_BEFORE = """\
# HELP attendance_queue_wait_seconds Time a job waited
# TYPE attendance_queue_wait_seconds histogram
attendance_queue_wait_seconds_bucket{kind="recognize",le="0.005",service="detector"} 1.0
attendance_queue_wait_seconds_bucket{kind="recognize",le="+Inf",service="detector"} 2.0
attendance_queue_wait_seconds_count{kind="recognize",service="detector"} 2.0
attendance_queue_wait_seconds_sum{kind="recognize",service="detector"} 0.5
attendance_queue_wait_seconds_count{kind="enroll",service="detector"} 7.0
attendance_queue_wait_seconds_sum{kind="enroll",service="detector"} 9.0
# HELP attendance_job_seconds Time a worker spent on one job
# TYPE attendance_job_seconds histogram
attendance_job_seconds_count{kind="recognize",service="detector"} 2.0
attendance_job_seconds_sum{kind="recognize",service="detector"} 0.2
# HELP attendance_pipeline_seconds Gateway wait
# TYPE attendance_pipeline_seconds histogram
attendance_pipeline_seconds_count{kind="recognize"} 2.0
attendance_pipeline_seconds_sum{kind="recognize"} 1.0
"""
SCRAPE_AFTER = (SCRAPE_BEFORE
                .replace('_count{kind="recognize",service="detector"} 2.0', '_count{kind="recognize",service="detector"} 12.0')
                .replace('queue_wait_seconds_sum{kind="recognize",service="detector"} 0.5',
                         'queue_wait_seconds_sum{kind="recognize",service="detector"} 1.5')
                .replace('job_seconds_sum{kind="recognize",service="detector"} 0.2',
                         'job_seconds_sum{kind="recognize",service="detector"} 0.7')
                .replace('pipeline_seconds_count{kind="recognize"} 2.0', 'pipeline_seconds_count{kind="recognize"} 6.0')
                .replace('pipeline_seconds_sum{kind="recognize"} 1.0', 'pipeline_seconds_sum{kind="recognize"} 3.0'))


def test_percentile_is_the_nearest_rank():
    values = [0.5, 0.1, 0.4, 0.2, 0.3]
    assert percentile(values, 0.0) == 0.1
    assert percentile(values, 0.5) == 0.3
    assert percentile(values, 1.0) == 0.5
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert percentile([7.0], 0.99) == 7.0


def test_latency_summary():
    summary = latency_summary([0.1, 0.2, 0.3, 0.4])
    assert summary["p50"] == 0.3 and summary["p99"] == 0.4 and summary["n"] == 4
    assert summary["mean"] == 0.25 and summary["min"] == 0.1
    assert latency_summary([]) == {"n": 0}


def test_stage_times_are_means_of_the_deltas_of_one_kind():
    before, after = procstat.samples(SCRAPE_BEFORE), procstat.samples(SCRAPE_AFTER)
    stages = procstat.stage_times(before, after)
    assert stages == {"detector": {"queue_wait_jobs": 10, "queue_wait_mean_s": 0.1,
                                   "work_jobs": 10, "work_mean_s": 0.05}}
    assert procstat.histogram_mean(before, after, "attendance_pipeline_seconds", kind="recognize") == (4, 0.5)


def test_scrapes_of_copies_add_up():
    one = procstat.samples(SCRAPE_BEFORE)
    both = procstat.add(one, one)
    key = ("attendance_job_seconds_count", (("kind", "recognize"), ("service", "detector")))
    assert both[key] == 4.0


def _figures(photos_per_second, p50):
    return {"photos_per_second": photos_per_second, "latency_seconds": {"p50": p50, "p95": p50, "p99": p50}}


def test_goals_are_ratios_to_the_baselines_met_or_not():
    baselines = {"compiled": {"sets": {"val": _figures(10.0, 0.1)}}, "seed": {"sets": {"val": _figures(2.0, 0.5)}}}
    system = {"sets": {"val": {"1": _figures(8.0, 0.08), "8": _figures(15.0, 0.5)}}}
    rows = goals(baselines, system)
    by_goal = {(r["figure"], r["baseline"]): r for r in rows}
    compiled = by_goal[("throughput at concurrency 8", "compiled")]
    assert (compiled["ratio"], compiled["met"]) == (1.5, False)
    seed = by_goal[("throughput at concurrency 8", "seed")]
    assert (seed["ratio"], seed["met"]) == (7.5, True)
    latency = by_goal[("median latency at concurrency 1", "compiled")]
    assert (latency["ratio"], latency["met"]) == (0.8, True)
    text = goals_table(rows)
    lines = text.splitlines()
    assert lines[0] == "| image set | figure | goal | measured | met? |"
    assert len(lines) == 2 + 3
    assert "| val | throughput at concurrency 8 | >= 2x compiled in-process | 15 vs 10 photos/s: **1.50x** | **no** |" \
        in lines
    assert lines[-1].endswith("| yes |")


def test_goals_without_a_baseline_are_left_out():
    system = {"sets": {"val": {"1": _figures(8.0, 0.08), "8": _figures(15.0, 0.5)}}}
    assert goals({}, system) == []
    assert table(["a", "b"], [(1, None)]) == "| a | b |\n| --- | --- |\n| 1 |  |"


def test_bottlenecks_name_the_stage_with_the_longest_queue_wait():
    from bench.performance_doc import bottlenecks

    stages = {"detector": {"queue_wait_mean_s": 0.45, "work_mean_s": 0.08},
              "embedder": {"queue_wait_mean_s": 0.007, "work_mean_s": 0.07},
              "matcher": {"queue_wait_mean_s": 0.009, "work_mean_s": 0.007}}
    text = bottlenecks({"sets": {"val": {"8": {"stages": stages}}}})
    assert "- val: jobs waited longest for the **detector** (450 ms on average)" in text
    assert bottlenecks({"sets": {}}) == ""
