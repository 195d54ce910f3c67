"""Schemathesis (PyPI) against the OpenAPI document: a bounded run of generated requests, valid
and invalid, for every operation; none may answer 5xx or drop the connection."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import backend_kind

ST = Path(sys.executable).parent / "st"


@pytest.mark.skipif(backend_kind() == "local" and os.environ.get("DEPOT_TEST_DB") == "postgres",
                    reason="what is checked is the API's validation, on each database once: "
                           "PostgreSQL's run is in the aws round")
def test_generated_requests_get_no_server_error(runner_factory, tmp_path):
    server = runner_factory.start()
    done = subprocess.run(
        [str(ST), "--no-color", "run", server.api_url + "docs/api.json",
         "--url", server.base_url,
         "--auth", f"{server.username}:{server.password}",
         "--checks", "not_a_server_error",
         "--phases", "coverage,fuzzing",
         "--max-examples", "3",
         "--seed", "1",
         "--request-timeout", "30",
         # A sync, an ACS refresh, a replication or a vulnerability scan reaches out to the
         # remote's, upstream's or OSV's URL: generated URLs are no place to send traffic.
         "--exclude-path-regex", "(sync|refresh|replicate|scan)/$"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)  # it keeps a cache there
    tail = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, tail
    counts = re.search(r"(\d+) generated, (\d+) passed", tail)
    assert counts, tail
    generated, passed = map(int, counts.groups())
    assert generated >= 1000 and passed == generated, tail
    # Nothing the fuzzer sent made the server log a panic or an internal error.
    log = server.log_text()
    assert "panicked" not in log
    assert "internal error" not in log
