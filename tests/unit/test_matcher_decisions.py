"""One face, one person; roster first; near misses for review (pure logic)."""
import numpy as np

from services.matcher.core import FaceDecision, Thresholds, decide_faces

T = Thresholds(match=0.5, review_floor=0.35, review_margin=0.05)


def test_no_person_is_given_two_faces():
    # Both faces resemble A most; the second resembles B well enough.
    sims = np.array([[0.90, 0.20], [0.80, 0.60]], np.float32)
    assert decide_faces(sims, ["A", "B"], T) == [FaceDecision("A", 0.9), FaceDecision("B", 0.6)]


def test_the_assignment_maximises_the_whole_photo_not_each_face_greedily():
    # Greedy (face 0 first) would give A to face 0 and leave face 1 with nobody above the threshold.
    sims = np.array([[0.70, 0.65], [0.68, 0.30]], np.float32)
    assert [d.match for d in decide_faces(sims, ["A", "B"], T)] == ["B", "A"]


def test_a_face_below_the_threshold_is_nobody():
    sims = np.array([[0.30, 0.10]], np.float32)
    assert decide_faces(sims, ["A", "B"], T) == [FaceDecision()]


def test_roster_members_are_matched_first():
    # The face resembles outsider X a little more than rostered A; in a check-in A wins.
    sims = np.array([[0.60, 0.70], [0.10, 0.20]], np.float32)
    people = ["A", "X"]
    assert [d.match for d in decide_faces(sims, people, T)] == ["X", None]
    assert [d.match for d in decide_faces(sims, people, T, roster={"A"})] == ["A", None]
    # Faces left over are matched against everybody else (reported as not on the roster).
    sims = np.array([[0.60, 0.10], [0.20, 0.80]], np.float32)
    assert [d.match for d in decide_faces(sims, people, T, roster={"A"})] == ["A", "X"]


def test_a_near_miss_clearly_ahead_is_for_review():
    sims = np.array([[0.45, 0.20], [0.44, 0.42]], np.float32)
    decisions = decide_faces(sims, ["A", "B"], T)
    assert decisions[0] == FaceDecision(review="A", review_similarity=0.45)
    assert decisions[1] == FaceDecision()  # B is assigned to face 1 at 0.42, but A (0.44) is not clearly behind


def test_below_the_review_floor_nothing_is_suggested():
    assert decide_faces(np.array([[0.30, -1.0]], np.float32), ["A", "B"], T) == [FaceDecision()]


def test_in_a_check_in_the_review_suggests_a_roster_member():
    sims = np.array([[0.46, 0.20]], np.float32)
    assert decide_faces(sims, ["A", "X"], T, roster={"A"})[0].review == "A"


def test_people_without_vectors_are_never_assigned():
    sims = np.array([[-np.inf, 0.8]], np.float32)
    assert decide_faces(sims, ["A", "B"], T) == [FaceDecision("B", 0.8)]
