import io

import pytest

from attendance_cli import bulk, output
from attendance_cli.main import UsageError, when

HEADER = "rollNo,name,fatherName,department,contact\n"


def make_folder(tmp_path, people: dict[str, int]):
    for roll_no, count in people.items():
        (tmp_path / "photos" / roll_no).mkdir(parents=True)
        for i in range(count):
            (tmp_path / "photos" / roll_no / f"{i}.jpg").write_bytes(b"\xff\xd8\xff")
    return tmp_path / "photos"


def write_csv(tmp_path, text):
    path = tmp_path / "details.csv"
    path.write_text(text)
    return path


def test_a_clean_plan(tmp_path):
    folder = make_folder(tmp_path, {"R1": 2, "R2": 1})
    plan = bulk.plan(folder, write_csv(tmp_path, HEADER + "R1,Ann,Al,CSD,1\nR2,Bob,,CSD,\n"))
    assert [(p.fields["rollNo"], len(p.photos), p.line) for p in plan.people] == [("R1", 2, 2), ("R2", 1, 3)]
    assert plan.problems == [] and plan.warnings == []


def test_missing_columns_stop_everything(tmp_path):
    folder = make_folder(tmp_path, {"R1": 1})
    with pytest.raises(bulk.CsvError, match="missing column.*fatherName.*contact"):
        bulk.plan(folder, write_csv(tmp_path, "rollNo,name,department\nR1,Ann,CSD\n"))


def test_bad_lines_are_reported_with_their_numbers(tmp_path):
    folder = make_folder(tmp_path, {"R1": 1, "R2": 1, "R3": 0, "EXTRA": 1})
    text = HEADER + "R1,Ann,,,\nR2,Bob,,,\nR1,Ann again,,,\n,Nobody,,,\nR3,Cy,,,\nR4,Di,,,\n"
    plan = bulk.plan(folder, write_csv(tmp_path, text))
    assert [p.fields["rollNo"] for p in plan.people] == ["R2"]
    assert plan.problems == [
        "line 2: duplicate rollNo R1 (also on line 4)",
        "line 4: duplicate rollNo R1 (also on line 2)",
        "line 5: rollNo and name are required",
        f"line 6: no photos ({', '.join(sorted(bulk.PHOTO_SUFFIXES))}) in {folder / 'R3'}",
        f"line 7: no photo folder {folder / 'R4'}",
    ]
    assert plan.warnings == [f"folder {folder / 'EXTRA'} has no line in details.csv; not enrolled"]


def test_prototype_record_line_and_unknown_faces():
    record = {"rollNo": "21CSD6749", "name": "John Doe", "fatherName": "Alex Doe", "department": "CSD",
              "contact": "9876543210", "images_count": 40}
    assert output.record_line(record) == (
        "{'rollNo': '21CSD6749', 'name': 'John Doe', 'fatherName': 'Alex Doe', 'department': 'CSD', "
        "'contact': '9876543210', 'images_count': 40}")
    text = output.faces({"faces": [
        {"box": [1, 2, 3, 4], "match": record, "similarity": 0.81, "candidates": []},
        {"box": [5, 6, 7, 8], "match": None, "similarity": 0.2,
         "candidates": [{"rollNo": "X", "name": "Xi", "similarity": 0.2}]}]})
    assert output.record_line(record) in text and "unknown (nearest: Xi 0.20)" in text


def test_progress_without_a_terminal_prints_a_line_per_step():
    stream = io.StringIO()
    bar = output.Progress(2, stream=stream, width=4)
    bar.step("one")
    bar.step("two")
    assert stream.getvalue() == "[##..] 1/2 one\n[####] 2/2 two\n"


def test_times_accept_clock_or_iso():
    assert when("09:30").split("T")[1].startswith("09:30:00")
    assert when("2026-11-25T09:00:00+00:00") == "2026-11-25T09:00:00+00:00"
    with pytest.raises(UsageError):
        when("half past nine")
