"""gunicorn.conf.py sizes its workers on the CPUs the process may use, not the host's."""

from __future__ import annotations

import os

import pytest

from tests.conftest import shipped_gunicorn_settings


@pytest.fixture(scope="module")
def conf() -> dict:
    return shipped_gunicorn_settings()


def affinity() -> int:
    return len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("max 100000\n", None),  # no quota: the affinity decides
        ("50000 100000\n", 1),  # half a CPU: one
        ("150000 100000\n", 2),  # 1.5 CPUs: rounded up
        ("100000000 100000\n", None),  # more than the machine: the affinity decides
        ("garbage\n", None),
    ],
)
def test_a_cgroup_v2_quota_caps_the_cpus(conf, tmp_path, cpu_max, expected):
    (tmp_path / "cpu.max").write_text(cpu_max)
    got = conf["usable_cpus"](tmp_path / "cpu.max", tmp_path / "v1")
    assert got == (min(expected, affinity()) if expected else affinity())


def test_a_cgroup_v1_quota_is_read_when_there_is_no_v2_file(conf, tmp_path):
    v1 = tmp_path / "cpu"
    v1.mkdir()
    (v1 / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert conf["usable_cpus"](tmp_path / "absent", v1) == 1
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert conf["usable_cpus"](tmp_path / "absent", v1) == affinity()


def test_workers_follow_the_usable_cpus_unless_set(conf):
    if "WEB_CONCURRENCY" in os.environ:
        assert conf["workers"] == int(os.environ["WEB_CONCURRENCY"])
    else:
        assert conf["workers"] == min(2 * conf["usable_cpus"]() + 1, 8)
