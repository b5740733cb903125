import pytest

from services.gateway.errors import ApiError
from services.gateway.persons import clean_fields


def test_create_requires_roll_no_and_name_and_trims():
    assert clean_fields({"rollNo": " 21CSD6749 ", "name": "John Doe"}, creating=True) == {
        "rollNo": "21CSD6749", "name": "John Doe"}
    with pytest.raises(ApiError, match="name is required"):
        clean_fields({"rollNo": "1"}, creating=True)


@pytest.mark.parametrize("raw", [
    {"rollNo": "a b", "name": "x"},
    {"rollNo": "../etc", "name": "x"},
    {"rollNo": "1", "name": "x", "age": "3"},
    {"rollNo": "1", "name": "x" * 500},
])
def test_bad_fields_are_400(raw):
    with pytest.raises(ApiError) as err:
        clean_fields(raw, creating=True)
    assert err.value.status == 400


def test_update_cannot_change_roll_no_or_count():
    with pytest.raises(ApiError, match="rollNo cannot be changed"):
        clean_fields({"rollNo": "2"}, creating=False)
    with pytest.raises(ApiError, match="images_count"):
        clean_fields({"images_count": "9"}, creating=False)
    assert clean_fields({"contact": "123"}, creating=False) == {"contact": "123"}
