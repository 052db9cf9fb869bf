"""Prometheus metrics at ``/metrics`` (prometheus_client, through Litestar's Prometheus plugin).

- ``eam_http_requests_total`` and ``eam_http_request_duration_seconds`` by method, route
  template and status (Litestar's middleware, grouped by route so ids do not explode the labels);
- ``eam_grant_tokens_issued_total`` by application and grant, ``eam_service_tokens_issued_total``;
- ``eam_audit_events_total`` by action and ``eam_access_request_decisions_total`` by outcome,
  counted when the transaction that wrote them commits (a rolled-back decision never counts);
- ``eam_casbin_policy_rules``: the rules a worker holds in memory (permission file, grouping
  rows, configured admins; register-access rows stay in the database);
- ``eam_sql_statements_total`` and ``eam_sql_transactions_total``: statements sent to the
  database and transactions begun, so that round trips per request can be followed (the access
  log line of each request also carries its own ``sql_statements``).

With several workers, ``eam serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory so
any worker answers for all (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import contextvars
from typing import Any

from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import Counter, Gauge
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

AUDIT_ACTIONS_KEY = "eam_audit_actions"
DECISIONS = {"approved", "rejected", "withdrawn", "expired"}

GRANT_TOKENS_ISSUED = Counter(
    "eam_grant_tokens_issued_total", "Grant tokens issued", ["application", "grant"]
)
SERVICE_TOKENS_ISSUED = Counter("eam_service_tokens_issued_total", "Service tokens issued (client credentials)")
AUDIT_EVENTS = Counter("eam_audit_events_total", "Audit events committed", ["action"])
DECISIONS_TOTAL = Counter(
    "eam_access_request_decisions_total", "Access requests leaving pending, by outcome", ["outcome"]
)
POLICY_RULES = Gauge(
    "eam_casbin_policy_rules", "Casbin rules held in memory (permissions, roles, scopes)", multiprocess_mode="mostrecent"
)

SQL_STATEMENTS = Counter("eam_sql_statements_total", "SQL statements sent to the database")
SQL_TRANSACTIONS = Counter("eam_sql_transactions_total", "Database transactions begun")
#: The statements of the request being served: ``[count]``, set by the request-log middleware.
STATEMENTS_IN_REQUEST: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("eam_sql_statements", default=None)

HTTP_METRICS = PrometheusConfig(
    app_name="eam",
    prefix="eam_http",
    group_path=True,
    exclude=["^/metrics$"],
    buckets=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
)


def note_audit_action(session: AsyncSession, action: str) -> None:
    """Remember an audit event in the session; it is counted only if the session commits."""
    session.sync_session.info.setdefault(AUDIT_ACTIONS_KEY, []).append(action)


def _count_committed(session: Session) -> None:
    for action in session.info.pop(AUDIT_ACTIONS_KEY, []):
        AUDIT_EVENTS.labels(action).inc()
        kind, _, outcome = action.partition(".")
        if kind == "access_request" and outcome in DECISIONS:
            DECISIONS_TOTAL.labels(outcome).inc()


def _forget_rolled_back(session: Session) -> None:
    session.info.pop(AUDIT_ACTIONS_KEY, None)


def install_commit_hooks() -> None:
    """Count audit events at commit (idempotent: the listeners are registered once per process)."""
    if not event.contains(Session, "after_commit", _count_committed):
        event.listen(Session, "after_commit", _count_committed)
        event.listen(Session, "after_rollback", _forget_rolled_back)


def _count_statement(*_args: Any) -> None:
    SQL_STATEMENTS.inc()
    held = STATEMENTS_IN_REQUEST.get()
    if held is not None:
        held[0] += 1


def _count_transaction(*_args: Any) -> None:
    SQL_TRANSACTIONS.inc()


def count_statements(engine: AsyncEngine) -> None:
    """Count every statement and transaction of ``engine`` (per process and per request)."""
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    event.listen(engine.sync_engine, "begin", _count_transaction)
