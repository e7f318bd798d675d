# Kerve server: `kerve-server` on 0.0.0.0:50051 as a non-root user, with the
# model store on the /data volume and a grpc.health.v1 health check.
#
#   docker build -t kerve .
#   docker run -p 50051:50051 -v kerve-data:/data kerve
#   docker run --rm --entrypoint python kerve -m kerve.demo --server HOST:PORT
#
# Arguments after the image name are server flags, for example --log-level DEBUG.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/kerve
WORKDIR /src

# Dependencies go in their own layer, listed from pyproject.toml alone, so a
# change to the code reuses it instead of downloading TensorFlow again.
COPY pyproject.toml ./
RUN python -c "import tomllib; \
    project = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
    print(*project['dependencies'], sep='\n')" > requirements.txt \
 && /opt/kerve/bin/pip install -r requirements.txt

COPY README.md ./
COPY client ./client
COPY server ./server
RUN /opt/kerve/bin/pip install --no-deps . \
 && /opt/kerve/bin/pip check

FROM python:3.11-slim

RUN groupadd --system --gid 10001 kerve \
 && useradd --system --uid 10001 --gid kerve --home-dir /home/kerve \
        --create-home --shell /usr/sbin/nologin kerve \
 && mkdir /data /home/kerve/.keras \
 && chown kerve:kerve /data /home/kerve/.keras

# The virtual environment links to the base image's Python, which is the same
# in both stages.
COPY --from=build /opt/kerve /opt/kerve

# KERVE_DATA_DIR is the model store. A new named volume on /data starts with
# the ownership set above, so the kerve user can write to it. A bind mount
# keeps its host ownership and must be writable by uid 10001.
ENV PATH=/opt/kerve/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KERAS_BACKEND=tensorflow \
    KERAS_HOME=/home/kerve/.keras \
    KERVE_HOST=0.0.0.0 \
    KERVE_PORT=50051 \
    KERVE_DATA_DIR=/data

USER kerve
WORKDIR /home/kerve
VOLUME ["/data"]
EXPOSE 50051

# The probe reads KERVE_HOST and KERVE_PORT as the server does. A server
# started with --port needs the same port in the probe's --address.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "kerve_server.healthcheck"]

# Exec form, so the server is PID 1 and receives SIGTERM itself. It then
# reports NOT_SERVING, cancels training runs and gives running calls
# KERVE_GRACE_PERIOD_SECONDS (default 5) before it exits 0.
# SIGTERM during start-up (while TensorFlow is imported) ends it at once.
ENTRYPOINT ["kerve-server"]
