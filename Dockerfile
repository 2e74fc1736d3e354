# One image for every Plugyard service; docker-compose.yml runs it as `plugyard service NAME`.
FROM python:3.11-slim

# The uv the Makefile pins, installing exactly what uv.lock pins.
RUN pip install --no-cache-dir uv==0.13.8
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1
WORKDIR /app

# Third-party dependencies first, in their own layer, so that a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --all-packages --no-install-workspace

# Not editable, so that our packages are byte-compiled into the venv too: the service user cannot
# write __pycache__ under /app.
COPY . .
RUN uv sync --frozen --no-dev --all-packages --no-editable

RUN useradd --system --create-home --uid 10001 plugyard && mkdir /data /bus && chown plugyard /data /bus
USER plugyard
ENV PATH=/app/.venv/bin:$PATH \
    PLUGYARD_DATA_DIR=/data
ENTRYPOINT ["plugyard"]
CMD ["--help"]
