from services.matcher.core import ChangeLog


def test_in_order_changes_keep_up_with_the_database():
    log = ChangeLog()
    log.loaded(3)
    log.received(4)
    log.received(5)
    assert log.base == 5
    assert not log.must_reload(5) and not log.must_reload(5)


def test_out_of_order_changes_fill_the_gap():
    log = ChangeLog()
    log.received(2)
    assert log.base == 0
    log.received(1)
    assert log.base == 2 and not log.seen


def test_a_change_in_flight_gets_one_check_of_grace():
    log = ChangeLog()
    log.loaded(1)
    assert not log.must_reload(2)  # the message for 2 may still be on its way
    log.received(2)
    assert not log.must_reload(2)


def test_a_lost_change_asks_for_a_reload_on_the_second_check():
    log = ChangeLog()
    log.loaded(1)
    log.received(3)  # 2 never arrives
    assert not log.must_reload(3)
    assert log.must_reload(3)
    log.loaded(3)  # reloaded from the database
    assert log.base == 3 and not log.must_reload(3)


def test_old_versions_after_a_load_are_ignored():
    log = ChangeLog()
    log.loaded(10)
    log.received(7)
    assert log.base == 10 and not log.seen
