import numpy as np

from services.embedder.backends import backend_of
from services.embedder.models import Embedder
from services.embedder.preprocessing import fixed_standardize, l2_normalize, prewhiten
from shared.models import MODELS, MSCELEB_128, SPECS, VGGFACE2_512, threshold_for


def model_input(crop, face_box, spec):
    return Embedder(backend_of(spec.name), forward=None).model_input(crop, face_box)


def test_prewhiten_gives_zero_mean_unit_std():
    x = prewhiten(np.random.default_rng(0).integers(0, 255, (160, 160, 3)).astype(np.uint8))
    assert abs(x.mean()) < 1e-4 and abs(x.std() - 1) < 1e-3


def test_fixed_standardization_maps_to_minus_one_one():
    x = fixed_standardize(np.array([[[0, 127.5, 255]]]))
    assert np.allclose(x, [[[-1, 0, 1]]])


def test_each_model_gets_its_own_standardisation():
    crop = np.full((100, 100, 3), 200, np.uint8)
    a = model_input(crop, [20, 20, 60, 60], SPECS[VGGFACE2_512])
    b = model_input(crop, [20, 20, 60, 60], SPECS[MSCELEB_128])
    assert a.shape == b.shape == (160, 160, 3)
    assert np.allclose(a, (200 - 127.5) / 127.5)
    assert np.allclose(b, 0)  # a flat image prewhitens to zero


def test_l2_normalize():
    v = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert np.allclose(v[0], [0.6, 0.8]) and np.all(np.isfinite(v))


def test_threshold_override_and_defaults():
    assert threshold_for(MSCELEB_128, None) == SPECS[MSCELEB_128].default_threshold
    assert threshold_for(MSCELEB_128, 0.9) == 0.9


def test_compiled_forward_equals_the_eager_model_and_traces_once():
    """The embedder runs the model as one graph (10x faster than eager calls):
    same numbers, and one trace whatever the batch size (no retracing per job)."""
    import keras

    from services.embedder.backends.keras_graph import compiled_forward

    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(inputs)))
    forward = compiled_forward(model, 16)
    for n in (1, 3, 7):
        batch = np.random.default_rng(n).random((n, 16, 16, 3), dtype=np.float32)
        np.testing.assert_allclose(np.asarray(forward(batch)), np.asarray(model(batch, training=False)), rtol=1e-6)
    assert forward.experimental_get_tracing_count() == 1


def test_every_registered_model_has_a_backend_declaring_it():
    for name, spec in MODELS.items():
        backend = backend_of(name)
        assert backend.SPEC is spec
        assert callable(backend.standardize) and callable(backend.load)
        x = backend.standardize(np.full((spec.image_size, spec.image_size, 3), 90, np.uint8))
        assert x.shape == (spec.image_size, spec.image_size, 3) and x.dtype == np.float32


def test_embedder_feeds_its_backend_and_normalises():
    seen = []

    def forward(batch):
        seen.append(batch.shape)
        return np.tile([3.0, 4.0] + [0.0] * 126, (len(batch), 1))

    emb = Embedder(backend_of(MSCELEB_128), forward)
    out = emb.embed([(np.zeros((90, 80, 3), np.uint8), [10, 10, 50, 60])] * 2)
    assert seen == [(2, 160, 160, 3)]
    assert np.allclose(out[:, :2], [0.6, 0.8])
    assert emb.embed([]).shape == (0, 128)
