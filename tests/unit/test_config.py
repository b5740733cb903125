import pytest

from shared import config


def test_defaults():
    s = config.load({})
    assert s.gateway_port == 8080
    assert s.mongo_db == "attendance"
    assert s.match_threshold is None
    assert s.facenet_h5.endswith("facenet_keras.h5")


def test_environment_overrides_and_types():
    s = config.load({"GATEWAY_PORT": "9000", "MATCH_THRESHOLD": "0.7", "EMBEDDER_MODEL": "20170512-110547",
                     "FACENET_H5_PATH": "/x.h5"})
    assert s.gateway_port == 9000 and s.match_threshold == 0.7
    assert s.embedder_model == "20170512-110547" and s.facenet_h5 == "/x.h5"


def test_empty_threshold_means_model_default():
    assert config.load({"MATCH_THRESHOLD": ""}).match_threshold is None


def test_malformed_value_names_the_variable():
    with pytest.raises(ValueError, match="GATEWAY_PORT"):
        config.load({"GATEWAY_PORT": "eighty"})


def test_nonsense_limits_are_refused():
    with pytest.raises(ValueError, match="MAX_DELIVERIES"):
        config.load({"MAX_DELIVERIES": "0"})
