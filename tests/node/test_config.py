"""Settings come from defaults, a file, FAIRHALL_* variables and CLI flags, in that order."""

import json
import subprocess
import sys

import pytest

from server.config import ConfigError, load_settings


def test_precedence_file_then_environment_then_flags(tmp_path):
    config = tmp_path / "fairhall.toml"
    config.write_text('port = 7000\nchat_max_length = 500\nhost = "0.0.0.0"\n')
    env = {"FAIRHALL_CONFIG": str(config), "FAIRHALL_PORT": "7001", "FAIRHALL_NO_DEMO": "1"}
    settings = load_settings({"port": 7002, "redis": None}, environ=env)
    assert settings.port == 7002  # flag beats environment
    assert settings.chat_max_length == 500  # from the file
    assert settings.demo is False
    assert settings.base_url() == "http://127.0.0.1:7002"  # 0.0.0.0 is not a usable link host
    assert load_settings({}, environ=env).port == 7001  # environment beats file


def test_every_setting_has_an_environment_variable():
    env = {"FAIRHALL_REDIS": "redis://r:6379/0", "FAIRHALL_CHAT_RATE_WINDOW": "2.5",
           "FAIRHALL_CORS_ORIGINS": "https://a.example,https://b.example", "FAIRHALL_DEMO": "false"}  # fmt: skip
    settings = load_settings({}, environ=env)
    assert settings.redis == "redis://r:6379/0"
    assert settings.chat_rate_window == 2.5
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.demo is False


def test_bad_settings_are_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ConfigError, match="port"):
        load_settings({}, environ={"FAIRHALL_PORT": "eighty"})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"chat_rate_cout": 3}))
    with pytest.raises(ConfigError, match="chat_rate_cout"):
        load_settings({"config": str(bad)}, environ={})


def test_cli_reports_a_bad_setting_and_exits_2():
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", "99999"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2 and "port" in result.stderr


def test_ice_settings_from_the_environment_and_their_checks():
    env = {
        "FAIRHALL_STUN_URLS": "stun:stun.fair.example:3478",
        "FAIRHALL_TURN_URLS": "turn:turn.fair.example:3478,turns:turn.fair.example:443",
        "FAIRHALL_TURN_SECRET": "coturn-secret",
        "FAIRHALL_TURN_TTL": "600",
        "FAIRHALL_CALL_BOOTH_CAPACITY": "2",
    }
    settings = load_settings({}, environ=env)
    ice = settings.ice()
    assert ice.stun_urls == ("stun:stun.fair.example:3478",)
    assert ice.turn_urls == ("turn:turn.fair.example:3478", "turns:turn.fair.example:443")
    assert (ice.turn_secret, ice.turn_ttl) == ("coturn-secret", 600)
    assert settings.limits().call_booth_capacity == 2
    # offline default: no ICE servers at all, not even a public STUN server
    offline = load_settings({}, environ={}).ice().servers_for("p-1")
    assert offline == {"ice_servers": [], "expires_at": None}
    with pytest.raises(ConfigError, match="turn_secret"):
        load_settings({}, environ={"FAIRHALL_TURN_URLS": "turn:turn.fair.example:3478"})
    with pytest.raises(ConfigError, match="stun_urls"):
        load_settings({}, environ={"FAIRHALL_STUN_URLS": "http://stun.example"})
    with pytest.raises(ConfigError, match="call_group_capacity"):
        load_settings({}, environ={"FAIRHALL_CALL_GROUP_CAPACITY": "9"})
