import pytest

from resilience.settings import Settings, SettingsError, get_settings


def test_defaults_are_the_embedded_mode(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no resilience.toml here
    settings = Settings()
    assert settings.dask_address is None
    assert settings.use_prefect is True
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_database_url.endswith("resilience-data/resilience.db")


def test_toml_file_then_environment_then_arguments(tmp_path, monkeypatch):
    config = tmp_path / "site.toml"
    config.write_text(
        'data_dir = "/srv/resilience"\n'
        'database_url = "postgresql+psycopg://user@db/resilience"\n'
        'dask_address = "tcp://10.1.2.3:8786"\n'
    )
    settings = get_settings(config)
    assert str(settings.data_dir) == "/srv/resilience"
    assert settings.resolved_database_url == "postgresql+psycopg://user@db/resilience"
    assert settings.dask_address == "tcp://10.1.2.3:8786"
    monkeypatch.setenv("RESILIENCE_DASK_ADDRESS", "tcp://127.0.0.1:9999")
    assert get_settings(config).dask_address == "tcp://127.0.0.1:9999"
    assert get_settings(config, dask_address="tcp://x:1").dask_address == "tcp://x:1"


def test_default_toml_is_read_from_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "resilience.toml").write_text("use_prefect = false\n")
    assert Settings().use_prefect is False


def test_bad_settings_name_the_field(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("design_life_target_probability = 2.0\n")
    with pytest.raises(SettingsError, match="design_life_target_probability: expected less than"):
        get_settings(config)
    config.write_text("dask_adress = 'typo'\n")
    with pytest.raises(SettingsError, match="dask_adress: not a known field, found 'typo'"):
        get_settings(config)
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        get_settings(tmp_path / "missing.toml")
