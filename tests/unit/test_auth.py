import pytest

from services.gateway.auth import (ADMIN, BOOTSTRAP_NAME, MIN_TOKEN_LENGTH, Principal, allows, authenticate,
                                   environment_keys, hash_key, new_key, parse_tokens, required_scope)

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
    keys = environment_keys(f"rao:{RAO},door-camera:{CAMERA}", "")
    nobody = lambda digest: None  # noqa: E731
    assert authenticate(keys, nobody, f"Bearer {RAO}") == Principal("rao", ADMIN)
    assert authenticate(keys, nobody, f"bearer   {CAMERA} ").name == "door-camera"
    for header in (None, "", "Bearer", f"Basic {RAO}", f"Bearer {RAO[:-1]}", f"Bearer {RAO}x", RAO):
        assert authenticate(keys, nobody, header) is None, header


def test_database_keys_are_looked_up_by_hash_only():
    key = new_key()
    seen = []

    def lookup(digest):
        seen.append(digest)
        return Principal("door", "recognize") if digest == hash_key(key) else None

    assert authenticate({}, lookup, f"Bearer {key}") == Principal("door", "recognize")
    assert seen == [hash_key(key)] and key not in seen
    assert authenticate({}, lookup, "Bearer atk_guess") is None


def test_the_bootstrap_admin_key():
    keys = environment_keys("", "b" * 32)
    assert authenticate(keys, lambda d: None, "Bearer " + "b" * 32) == Principal(BOOTSTRAP_NAME, ADMIN)
    with pytest.raises(ValueError, match="API_ADMIN_KEY is shorter"):
        environment_keys("", "short")


def test_scopes_include_the_lesser_ones():
    assert allows("admin", "operator") and allows("operator", "recognize") and allows("recognize", "recognize")
    assert not allows("recognize", "operator") and not allows("operator", "admin")


@pytest.mark.parametrize("endpoint, scope", [
    ("persons.recognize", "recognize"), ("attendance.checkin", "recognize"),
    ("attendance.session_report", "operator"), ("attendance.mark", "operator"),
    ("persons.list_persons", "operator"), ("persons.create_person", "admin"), ("persons.delete_person", "admin"),
    ("keys.create_key", "admin"), ("something.new", "admin"), (None, "admin"),
])
def test_each_route_needs_its_scope_and_unknown_ones_admin(endpoint, scope):
    assert required_scope(endpoint) == scope
