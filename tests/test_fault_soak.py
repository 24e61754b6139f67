"""The fault soak (bench/fault_soak.py), shortened: 300 messages and 30 s of SIGKILLs, on
PostgreSQL, through gunicorn and two `flask mail worker` processes (one three minutes ahead)
and an SMTP server that answers late, gives 421s and drops connections.

Every message arrives; a Message-ID arrives twice only where a kill explains it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.live import ROOT

pytestmark = pytest.mark.slow
# The soak's own deadlines add up to less than this; past it, something hangs.
DEADLINE = 240


def test_no_message_lost_or_sent_twice_under_kills_and_smtp_faults(postgres_url, tmp_path):
    result = tmp_path / "result.json"
    command = [
        sys.executable,
        str(ROOT / "bench/fault_soak.py"),
        "--database-url",
        postgres_url,
        "--messages",
        "300",
        "--kill-seconds",
        "30",
        "--drain-seconds",
        "60",
        "--keep",
        str(tmp_path / "soak"),
        "--json",
        str(result),
    ]
    soak = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = soak.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        soak.terminate()  # the soak stops its processes and drops its database on SIGTERM
        output, _ = soak.communicate(timeout=60)
        pytest.fail(f"the soak did not finish in {DEADLINE} s:\n{output}")
    assert result.exists(), f"the soak did not run to its verdict:\n{output}"
    summary = json.loads(result.read_text())
    assert summary["drained"], output
    assert summary["missing"] == 0, output
    assert summary["delivered_unique"] == 300, output
    assert summary["unexplained"] == 0, output
    assert soak.returncode == 0, output
