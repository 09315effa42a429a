# One image for every service, API and worker alike; the command picks the process.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# The locked runtime set only (no dev tools, no local broker), in its own layer: it changes
# when the lock does, not with every source edit.
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN pip install -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY common ./common
COPY services ./services
COPY gateway ./gateway
COPY kitchen ./kitchen
RUN pip install --no-deps . && useradd --system --uid 10001 kitchen
USER kitchen
EXPOSE 8000
CMD ["uvicorn", "gateway.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
