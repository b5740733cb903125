import pytest

from services.gateway.auth import MIN_TOKEN_LENGTH, authenticate, parse_tokens

RAO = "r" * MIN_TOKEN_LENGTH
CAMERA = "c" * 40


def test_tokens_by_name():
    assert parse_tokens("") == {}
    assert parse_tokens(f" rao:{RAO} , door-camera:{CAMERA},") == {RAO: "rao", CAMERA: "door-camera"}


@pytest.mark.parametrize("raw, problem", [
    (f"{RAO}", "entry 1 must be name:token"),
    (f":{RAO}", "entry 1 must be name:token"),
    (f"rao:{RAO},cam:short", "token of 'cam' is shorter"),
    (f"rao:{RAO},other:{RAO}", "'other' and 'rao' have the same token"),
])
def test_a_malformed_list_is_refused_without_showing_tokens(raw, problem):
    with pytest.raises(ValueError, match=problem) as err:
        parse_tokens(raw)
    assert RAO not in str(err.value)


def test_only_the_exact_bearer_token_authenticates():
    tokens = parse_tokens(f"rao:{RAO},door-camera:{CAMERA}")
    assert authenticate(tokens, f"Bearer {RAO}") == "rao"
    assert authenticate(tokens, f"bearer   {CAMERA} ") == "door-camera"
    for header in (None, "", "Bearer", f"Basic {RAO}", f"Bearer {RAO[:-1]}", f"Bearer {RAO}x", RAO):
        assert authenticate(tokens, header) is None, header
