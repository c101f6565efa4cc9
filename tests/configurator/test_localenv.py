"""The local .env that scripts/run writes on first start."""

from __future__ import annotations

from pathlib import Path

from configurator.localenv import write_local_env


def test_local_env_has_fresh_keys_and_lets_this_machine_read_metrics(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    assert write_local_env(path)
    assert not write_local_env(path)  # never overwritten
    lines = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    assert lines["METRICS_ALLOWED_NETWORKS"] == "127.0.0.1/32,::1/128"
    assert len(lines["SECRET_KEY"]) >= 50
    assert oct(path.stat().st_mode & 0o777) == "0o600"
