import numpy as np
import pytest

from services.detector.core import CROP_CONTEXT, Detection, QualityRules, faces_for_embedding, scale_detection, \
    select_faces
from shared.contracts import ENROLL, RECOGNIZE, ErrorCode, JobError, decode_array
from shared.models import SPECS

RULES = QualityRules(min_face_px=30, min_confidence=0.9)
BIG = Detection([10, 10, 60, 70], 0.99, {})
BIG2 = Detection([100, 10, 50, 50], 0.98, {})
SMALL = Detection([200, 10, 12, 14], 0.99, {})
DOUBTFUL = Detection([300, 10, 60, 60], 0.5, {})


def test_recognition_keeps_every_usable_face():
    assert select_faces(RECOGNIZE, [BIG, BIG2, SMALL, DOUBTFUL], RULES) == [BIG, BIG2]
    assert select_faces(RECOGNIZE, [], RULES) == []


@pytest.mark.parametrize("detections,code", [
    ([], ErrorCode.NO_FACE),
    ([DOUBTFUL], ErrorCode.NO_FACE),
    ([SMALL], ErrorCode.FACE_TOO_SMALL),
    ([BIG, BIG2], ErrorCode.MULTIPLE_FACES),
])
def test_enrollment_refuses_with_the_reason(detections, code):
    with pytest.raises(JobError) as err:
        select_faces(ENROLL, detections, RULES)
    assert err.value.code == code


def test_enrollment_accepts_one_usable_face_among_background_noise():
    assert select_faces(ENROLL, [BIG, SMALL, DOUBTFUL], RULES) == [BIG]


def test_scale_detection_maps_boxes_back_and_clips_negative_origin():
    d = scale_detection({"box": [-2, 5, 20, 10], "confidence": 0.9, "keypoints": {"nose": [4, 6]}}, 0.5)
    assert d.box == [0, 10, 36, 20]
    assert d.landmarks == {"nose": [8, 12]}


def test_context_exceeds_every_model_margin():
    assert all(CROP_CONTEXT > spec.margin for spec in SPECS.values())


def test_faces_for_embedding_crops_around_the_box():
    img = np.zeros((200, 200, 3), np.uint8)
    img[50:100, 60:110] = 255
    (face,) = faces_for_embedding(img, [Detection([60, 50, 50, 50], 0.99, {})])
    crop = decode_array(face.crop)
    x, y, w, h = face.face_box
    assert crop[y:y + h, x:x + w].min() == 255
    assert crop.shape[0] > h and crop.shape[1] > w


def test_mtcnn_networks_run_compiled_with_the_same_outputs():
    import keras
    import tensorflow as tf

    from services.detector.core import compile_stage_models

    class Stage:
        def __init__(self, model):
            self._model = model

    class Pipeline:
        def __init__(self, stages):
            self.stages = stages

    inputs = keras.Input((None, None, 3))
    net = keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs))
    pipeline = Pipeline([Stage(net), Stage(None)])
    assert compile_stage_models(pipeline) == 1
    compiled = pipeline.stages[0]._model
    assert isinstance(compiled, tf.types.experimental.PolymorphicFunction)
    for size in (12, 30, 57, 91):  # an image pyramid: many sizes
        x = np.random.default_rng(size).random((1, size, size, 3), dtype=np.float32)
        np.testing.assert_allclose(np.asarray(compiled(x)), np.asarray(net(x)), rtol=1e-5, atol=1e-6)
    assert compiled.experimental_get_tracing_count() <= 2
    assert pipeline.stages[1]._model is None


def test_crops_are_sized_for_the_embedder_not_the_photo():
    """A big face in a big photo travels at the size the embedder uses:
    small messages, and no pixels the model would not see."""
    from services.detector.core import EMBED_FACE_PX
    from shared.models import MODELS

    img = np.zeros((3000, 4000, 3), np.uint8)
    (face,) = faces_for_embedding(img, [Detection([1000, 800, 600, 700], 0.99, {})])
    crop = decode_array(face.crop)
    x, y, w, h = face.face_box
    assert max(w, h) <= EMBED_FACE_PX
    for spec in MODELS.values():  # the margin the model cuts still fits, at full input resolution
        assert max(w, h) * (1 + 2 * spec.margin) >= spec.image_size - 2
    assert crop.nbytes < 150_000
    small = Detection([10, 10, 40, 40], 0.99, {})
    (face,) = faces_for_embedding(np.zeros((100, 100, 3), np.uint8), [small])
    assert face.face_box[2:] == (40, 40)  # a small face is never enlarged
