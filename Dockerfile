# mailbot in a container: the daemon as a non-root user, its state on a volume.
#   docker build -t mailbot .
#   docker run -d --name mailbot -v mailbot-data:/var/lib/mailbot \
#     -v /etc/mailbot/mailbot.toml:/etc/mailbot/mailbot.toml:ro --env-file /etc/mailbot/mailbot.env mailbot
#   docker exec mailbot mailbot doctor
# The configuration sets [templates] path = "/usr/share/mailbot/templates" (or a mounted copy an admin edits),
# [database] url = "sqlite:////var/lib/mailbot/mailbot.db" or a PostgreSQL URL, [storage] path under
# /var/lib/mailbot, and [metrics] listen = "0.0.0.0:9464" to be scraped from outside.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml README.md /tmp/mailbot/
COPY mailbot /tmp/mailbot/mailbot
RUN pip install '/tmp/mailbot[postgresql]' && rm -rf /tmp/mailbot

COPY templates /usr/share/mailbot/templates
COPY config/mailbot.example.toml /usr/share/mailbot/mailbot.example.toml

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/mailbot --shell /usr/sbin/nologin mailbot \
    && mkdir -p /var/lib/mailbot /etc/mailbot \
    && chown mailbot:mailbot /var/lib/mailbot \
    && chmod 0750 /var/lib/mailbot

USER mailbot
WORKDIR /var/lib/mailbot
VOLUME ["/var/lib/mailbot"]
ENV MAILBOT_CONFIG=/etc/mailbot/mailbot.toml
EXPOSE 9464
# SIGTERM lets the pass in hand finish; give it time (docker stop -t 90).
STOPSIGNAL SIGTERM
ENTRYPOINT ["mailbot"]
CMD ["run"]
