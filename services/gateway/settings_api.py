"""HTTP API of the matching thresholds (admin): calibration from the gallery,
and the thresholds every matcher uses, changed at run time without a restart."""
from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, jsonify, request

from services.gateway.errors import ApiError
from services.gateway.gallery_changes import announce
from services.gateway.http import as_bool, json_body
from services.gateway.pipeline import PipelineClient
from shared import calibration
from shared.config import Settings
from shared.models import MODELS, review_floor_for, threshold_for
from shared.storage import Storage


def settings_blueprint(settings: Settings, pipeline: PipelineClient, storage: Storage) -> Blueprint:
    bp = Blueprint("settings", __name__, url_prefix="/api/v1")

    def effective(model: str) -> dict:
        stored = storage.thresholds(model)
        match = stored.get("match_threshold", threshold_for(model, settings.match_threshold))
        return {"match_threshold": match, "review_floor": stored.get("review_floor", review_floor_for(model, match)),
                "source": "settings" if stored else ("MATCH_THRESHOLD" if settings.match_threshold is not None
                                                     else "model default")}

    def gallery_by_model() -> dict[str, tuple[list, list]]:
        out: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
        for model, _, person_id, vector in storage.iter_faces():
            out[model][0].append(vector)
            out[model][1].append(person_id)
        return out

    def model_of(body: dict, known) -> str:
        model = body.get("model") or (max(known, key=lambda m: len(known[m][0])) if known else None)
        if not isinstance(model, str) or model not in MODELS:  # a list or object is no model (and unhashable)
            raise ApiError(400, "bad_field", f"model must be one of {', '.join(MODELS)}")
        return model

    def fraction(body: dict, key: str, default=None) -> float | None:
        value = body.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ApiError(400, "bad_field", f"{key} must be a number from 0 to 1")
        return float(value)

    def store(model: str, match: float, floor: float) -> dict:
        if floor > match:
            raise ApiError(400, "bad_field", "review_floor must not be above match_threshold")
        storage.set_thresholds(model, {"match_threshold": match, "review_floor": floor})
        announce(storage, pipeline, "settings")
        return effective(model)

    @bp.get("/settings/thresholds")
    def get_thresholds():
        return jsonify({"thresholds": {model: effective(model) for model in MODELS}})

    @bp.put("/settings/thresholds")
    def put_thresholds():
        body = json_body()
        model = model_of(body, gallery_by_model() if not body.get("model") else {})
        match = fraction(body, "match_threshold")
        if match is None:
            raise ApiError(400, "missing_field", "match_threshold is required")
        floor = fraction(body, "review_floor", review_floor_for(model, match))
        return jsonify({"model": model, **store(model, match, floor)})

    @bp.post("/calibration")
    def calibrate():
        """Leave-one-out over the enrolled photos; ``apply: true`` stores the suggestion."""
        body = request.get_json(silent=True) or {}
        if not isinstance(body, dict):
            raise ApiError(400, "bad_json", "send a JSON object")
        rate = fraction(body, "target_false_match_rate", 0.001)
        gallery = gallery_by_model()
        model = model_of(body, gallery)
        vectors, owners = gallery.get(model, ([], []))
        try:
            result = calibration.calibrate(vectors, owners, rate) if vectors else None
        except ValueError as exc:
            result, reason = None, str(exc)
        else:
            reason = "no enrolled photos of this model"
        if result is None:
            raise ApiError(409, "not_enough_data", f"cannot calibrate: {reason}")
        applied = None
        if as_bool(body.get("apply", False)):
            applied = store(model, result["match_threshold"], result["review_floor"])
        return jsonify({"model": model, "current": effective(model) if applied is None else applied,
                        "suggested": result, "applied": applied is not None})

    return bp
