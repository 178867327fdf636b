# Keras Playground: one image for the web server and the training workers.
#   docker build -t keras-playground .
#   docker run -p 8000:8000 keras-playground          # embedded mode, no other service
# A lab server with Redis and scalable workers: docker-compose.yml, docs/deployment.md.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PLAYGROUND_DATA_DIR=/data

WORKDIR /app
# Dependencies first, so a code change does not reinstall TensorFlow (CPU build).
COPY pyproject.toml README.md ./
COPY backend/keras_playground/__init__.py backend/keras_playground/__init__.py
RUN pip install . && pip uninstall -y keras-playground
COPY backend backend
COPY frontend frontend
# Editable: the server finds frontend/ beside the package, as in a checkout.
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 10001 playground \
    && mkdir -p /data && chown playground /data

USER playground
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4).status != 200)"]
CMD ["keras-playground", "serve", "--host", "0.0.0.0", "--port", "8000"]
