# protein-workbench for servers (Docker, Podman, any OCI runtime), built from this repository:
#     docker build -t protein-workbench .
#     docker run --rm -v "$PWD/out:/data" protein-workbench        # the README's main job, into ./out
#     docker run --rm protein-workbench workbench --help
# CPU only and without torch by default. ESMFold on the CPU: --build-arg EXTRAS="[esmfold]"
# --build-arg TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" (the pin of the test
# extra); a GPU image: --build-arg EXTRAS="[gpu,esmfold]" and run with --gpus all. compose.yaml runs the
# web UI, the dispatcher and PostgreSQL from this image.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WORKBENCH_HOME=/data/workbench

ARG TORCH=""
ARG EXTRAS=""

WORKDIR /opt/workbench
COPY pyproject.toml README.md ./
COPY workbench ./workbench
COPY kernels ./kernels
COPY pipelines ./pipelines
COPY examples ./examples
COPY containers/entrypoint.sh /usr/local/bin/workbench-entrypoint

# torch first (when asked for), so the extras never pull an unpinned one
RUN if [ -n "$TORCH" ]; then pip install $TORCH; fi \
    && pip install "/opt/workbench$EXTRAS" \
    && workbench --version

RUN useradd --create-home --uid 10001 workbench \
    && mkdir -p /data && chown workbench:workbench /data
USER workbench
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8501

ENTRYPOINT ["workbench-entrypoint"]
CMD ["workbench", "run", "/opt/workbench/examples/data/integrase_variants.fasta", "-o", "/data/integrase-screen"]
