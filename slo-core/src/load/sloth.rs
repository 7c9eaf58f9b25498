//! Reading Sloth specs: `version: prometheus/v1` files and Kubernetes
//! `PrometheusServiceLevel` manifests (`apiVersion: sloth.slok.dev/v1`).
//!
//! Both hold the same body (the manifest under `spec:`, with camelCase
//! field names). It maps onto a [`Spec`] one to one:
//!
//! | Sloth | slo/v1 |
//! |---|---|
//! | `service`, `labels`, `slos[].name`, `description`, `labels` | the same |
//! | `objective` (a percent) | `objective` |
//! | `sli.events.{error_query,total_query}` | `sli.events` |
//! | `sli.raw.error_ratio_query` | `sli.raw` |
//! | `alerting.{name,labels,annotations}` | the same |
//! | `alerting.page_alert` / `ticket_alert` `{disable,labels,annotations}` | `page` / `ticket` |
//! | (Sloth's defaults) | `period: 30d`, `windows: google-30d` |
//!
//! Sloth's default period and windows are Google's 30-day table (pages at
//! 14.4x over 1h/5m and 6x over 6h/30m, tickets at 3x over 1d/2h and 1x over
//! 3d/6h), the same as the `google-30d` preset, so a converted SLO alerts on
//! the same conditions. SLI plugins (`sli.plugin`) and SLO plugins
//! (`slo_plugins`, `plugins`) run Go code inside Sloth: they are reported as
//! errors rather than silently dropped. One spec per file.
//!
//! ```
//! let spec = slo_core::load::load_str(r#"
//! version: prometheus/v1
//! service: myservice
//! slos:
//!   - name: requests-availability
//!     objective: 99.9
//!     sli:
//!       events:
//!         error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
//!         total_query: sum(rate(http_requests_total[{{.window}}]))
//!     alerting:
//!       name: MyServiceHighErrorRate
//!       ticket_alert: {disable: true}
//! "#).map_err(|d| d[0].to_string())?;
//! let slo = &spec.slos[0];
//! assert_eq!(slo.period.to_string(), "30d");
//! // Only the two page pairs are left: 14.4x over 1h/5m, 6x over 6h/30m.
//! assert_eq!(slo.policy.pairs().len(), 2);
//! # Ok::<(), String>(())
//! ```

use crate::diagnostic::Diagnostic;
use crate::format::Format;
use crate::load::checks::Draft;
use crate::load::walk::{Cx, Fields, empty_map};
use crate::policy::Preset;
use crate::spec::{Alerting, DEFAULT_PERIOD, Labels, Sli, Slo, Spec};
use crate::yaml::{Kind, Node};

/// Field names, which differ between the two flavours.
struct Dialect {
    slo_plugins: &'static str,
    plugins: &'static str,
    events: [&'static str; 2],
    error_ratio_query: &'static str,
    page: &'static str,
    ticket: &'static str,
}

const PLAIN: Dialect = Dialect {
    slo_plugins: "slo_plugins",
    plugins: "plugins",
    events: ["error_query", "total_query"],
    error_ratio_query: "error_ratio_query",
    page: "page_alert",
    ticket: "ticket_alert",
};

const KUBERNETES: Dialect = Dialect {
    slo_plugins: "sloPlugins",
    plugins: "plugins",
    events: ["errorQuery", "totalQuery"],
    error_ratio_query: "errorRatioQuery",
    page: "pageAlert",
    ticket: "ticketAlert",
};

/// The fields of Sloth's `page_alert` and `ticket_alert` (no `for`).
const TIER_FIELDS: &[&str] = &["disable", "labels", "annotations"];

/// Reads a Sloth file (either flavour) whose documents are `docs`.
pub(super) fn spec(cx: &mut Cx, docs: &[Node]) -> Option<Spec> {
    let [doc, rest @ ..] = docs else {
        return None;
    };
    if let Some(second) = rest.first() {
        cx.error(
            second.location,
            "",
            "more than one YAML document: read one Sloth spec per file (split them into files)",
        );
    }
    match Format::of(doc) {
        Format::SlothKubernetes => manifest(cx, doc),
        _ => {
            let f = cx.fields(
                doc,
                "",
                &["version", "service", "labels", PLAIN.slo_plugins, "slos"],
            )?;
            body(cx, &f, &PLAIN)
        }
    }
}

/// A `PrometheusServiceLevel` manifest.
fn manifest(cx: &mut Cx, doc: &Node) -> Option<Spec> {
    let top = cx.fields(
        doc,
        "",
        &["apiVersion", "kind", "metadata", "spec", "status"],
    )?;
    match cx.string(&top, "kind", Some("`kind: PrometheusServiceLevel`")) {
        Some(kind) if kind != "PrometheusServiceLevel" => {
            let loc = top.get("kind").map_or(doc.location, |n| n.location);
            cx.error(
                loc,
                "kind",
                format!("unsupported kind `{kind}`: expected `PrometheusServiceLevel`"),
            );
        }
        _ => {}
    }
    // Kubernetes object metadata (name, namespace, labels) names the
    // manifest, not the SLOs: only its shape is checked.
    if let Some(meta) = top.get("metadata")
        && !matches!(meta.kind, Kind::Map(_))
    {
        cx.error(
            meta.location,
            "metadata",
            format!("expected a mapping, found {}", meta.describe()),
        );
    }
    let Some(node) = top.get("spec") else {
        cx.missing(&top, "spec", "the service and its SLOs");
        return None;
    };
    let f = cx.fields(node, "spec", &["service", "labels", "sloPlugins", "slos"])?;
    body(cx, &f, &KUBERNETES)
}

/// The service, its labels and its SLOs.
fn body(cx: &mut Cx, f: &Fields<'_>, d: &Dialect) -> Option<Spec> {
    plugins(cx, f, d.slo_plugins);
    let service = cx.service(f, "service");
    let labels = cx.user_labels(f, "labels");
    let slos = cx.slos(f, "slos", |cx, item, path| {
        slo(cx, item, path, d, service.as_deref().unwrap_or(""), &labels)
    });
    Some(Spec {
        service: service?,
        labels,
        slos,
    })
}

fn plugins(cx: &mut Cx, f: &Fields<'_>, name: &str) {
    if f.get(name).is_some() {
        cx.push(
            Diagnostic::error(
                f.key_location(name),
                f.path(name),
                "Sloth SLO plugins are not supported: they run Go code inside Sloth that changes the generated rules",
            )
            .with_help("remove the plugin chain; labels and alert settings have fields of their own"),
        );
    }
}

fn slo(
    cx: &mut Cx,
    node: &Node,
    path: &str,
    d: &Dialect,
    service: &str,
    file_labels: &Labels,
) -> Option<Slo> {
    let f = cx.fields(
        node,
        path,
        &[
            "name",
            "description",
            "objective",
            "labels",
            "sli",
            "alerting",
            d.plugins,
        ],
    )?;
    plugins(cx, &f, d.plugins);
    let name = cx.slo_name(&f, "name");
    if let (Some(n), Some(node)) = (&name, f.get("name")) {
        cx.place(service, n, node.location);
    }
    let description = cx.string(&f, "description", None);
    let objective = cx.objective_percent(&f, "objective");
    let mut labels = file_labels.clone();
    labels.extend(cx.user_labels(&f, "labels"));
    let sli = match f.get("sli") {
        None => {
            cx.missing(&f, "sli", "one of events or raw");
            None
        }
        Some(n) => sli(cx, n, &f.path("sli"), d),
    };
    let alerting_node = f.get("alerting").filter(|n| !n.is_null());
    let empty = empty_map(node.location);
    let alerting = alerting(cx, alerting_node.unwrap_or(&empty), &f.path("alerting"), d);
    // Sloth's windows and period: Google's 30-day table. A pair that can
    // never fire is the objective's doing, so it is blamed there.
    let period = DEFAULT_PERIOD;
    let specs = Preset::Workbook.windows();
    let blame_at = f.get("objective").map_or(node.location, |n| n.location);
    let blame = specs
        .iter()
        .map(|_| (f.path("objective"), blame_at))
        .collect();
    let alerting = alerting?;
    let whole = alerting_node.map_or(node.location, |n| n.location);
    cx.finish(Draft {
        service: Some(service.to_owned()),
        name,
        description,
        objective,
        period,
        labels,
        sli,
        alerting,
        windows: specs,
        blame,
        whole: (whole, &f.path("alerting")),
        group_by_at: None,
        slice_at: None,
    })
}

fn sli(cx: &mut Cx, node: &Node, path: &str, d: &Dialect) -> Option<Sli> {
    let kinds = ["events", "raw", "plugin"];
    let f = cx.fields(node, path, &kinds)?;
    let (kind, value) = cx.one_kind(&f, &kinds)?;
    let path = f.path(kind);
    match kind {
        "events" => cx.events(value, &path, d.events),
        "raw" => cx.raw(value, &path, d.error_ratio_query),
        _ => {
            cx.push(
                Diagnostic::error(
                    f.key_location(kind),
                    path,
                    "Sloth SLI plugins are not supported: they build their queries in Go inside Sloth",
                )
                .with_help(format!(
                    "write the plugin's queries as an `events` SLI ({} and {}, with {{{{.window}}}})",
                    d.events[0], d.events[1]
                )),
            );
            None
        }
    }
}

fn alerting(cx: &mut Cx, node: &Node, path: &str, d: &Dialect) -> Option<Alerting> {
    let f = cx.fields(
        node,
        path,
        &["name", "labels", "annotations", d.page, d.ticket],
    )?;
    cx.alert_fields(&f, [d.page, d.ticket], TIER_FIELDS)
}
