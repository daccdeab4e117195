# One image for the four apps; the command picks the app: `lgsp run gateway|dossier|documents|reporting`.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PATH="/app/.venv/bin:$PATH"

WORKDIR /app
RUN pip install --no-cache-dir uv

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY lgsp ./lgsp
COPY lgsp_kit ./lgsp_kit
COPY contracts ./contracts
COPY gateway ./gateway
COPY services ./services
COPY scenarios ./scenarios
# The project installed as a package (not an editable link to these sources), as from its wheel.
RUN uv sync --frozen --no-dev --no-editable

RUN useradd --system --uid 10001 lgsp && mkdir -p /app/var && chown lgsp /app/var
USER lgsp
ENV LGSP_DATA_DIR=/app/var
EXPOSE 8000 8001 8002 8003
CMD ["lgsp", "run", "gateway"]
