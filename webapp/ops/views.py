from flask import render_template, request

from webapp.auth.decorators import role_required
from webapp.auth.service import audit_request
from webapp.csv_export import csv_download
from webapp.ops import audit_trail, bp, keyset, provider_log
from webapp.params import one_page, page_number
from webapp.providers import REGISTRY


@bp.route("/audit")
@role_required("admin")
def audit():
    filters = audit_trail.AuditFilters.from_args(request.args)
    page = page_number(request.args)
    rows, has_next = one_page(audit_trail.entries(filters), page, audit_trail.PER_PAGE)
    return render_template("ops/audit.html", rows=rows, has_next=has_next, page=page, args=request.args,
                           actions=audit_trail.actions(), actors=audit_trail.actors())


@bp.route("/audit.csv")
@role_required("admin")
def audit_export():
    filters = audit_trail.AuditFilters.from_args(request.args)
    audit_request("audit.export", "audit_log", request.query_string.decode("ascii", "replace")[:500])
    return csv_download("audit-trail.csv", audit_trail.CSV_HEADER, audit_trail.csv_rows(filters))


@bp.route("/provider-log")
@role_required("supervisor")
def provider_log_index():
    filters = provider_log.LogFilters.from_args(request.args)
    rows, before = keyset.page(provider_log.exchanges(filters), provider_log.ChannelLog.id, request.args)
    return render_template("ops/provider_log.html", rows=rows, before=before, args=request.args,
                           providers=sorted(REGISTRY), statuses=provider_log.STATUSES)
