//! How the daemon reports what the alert ledger ([`slo_core::ledger`])
//! decided: a log line for every transition and hold, the state metric's
//! code, and the Alertmanager view of a record.

use jiff::Timestamp;
use slo_core::alert::AlertState;
use slo_core::ledger::{AlertRecord, Event};
use slo_core::spec::Slo;

use crate::notify::{Alert, Status};
use crate::server::LabelSet;

/// Logs one event of the ledger's cycle: a transition (pending, firing,
/// resolved, no longer pending), a hold on unknown when it starts or its
/// reason changes, and the end of a hold.
pub fn log(e: &Event) {
    if !e.configured {
        match &e.held {
            Some(why) if e.was_held.as_ref() != Some(why) => {
                tracing::warn!(alert = %e.key, reason = %why, "alert held-unknown: kept as it is, not resolved");
            }
            Some(_) => {}
            None if e.prev.is_firing() => {
                tracing::info!(alert = %e.key, "alert resolved: its SLO or tier is no longer configured");
            }
            None => {}
        }
        return;
    }
    let who = &e.subject;
    macro_rules! log {
        ($level:ident, $msg:expr) => {
            tracing::$level!(
                service = %who.service,
                slo = %who.slo,
                instance = %who.instance,
                tier = %who.tier,
                burn_rates = %who.burn_rates,
                $msg
            )
        };
    }
    match (e.prev, e.next) {
        (AlertState::Inactive | AlertState::Resolved { .. }, AlertState::Pending { .. }) => {
            log!(info, "alert pending")
        }
        (p, AlertState::Firing { .. }) if !p.is_firing() => log!(warn, "alert firing"),
        (AlertState::Firing { .. }, AlertState::Resolved { .. }) => log!(info, "alert resolved"),
        (AlertState::Pending { .. }, AlertState::Inactive) => {
            log!(info, "alert no longer pending")
        }
        _ => {}
    }
    match &e.held {
        Some(why) if e.was_held.as_ref() != Some(why) => tracing::warn!(
            service = %who.service,
            slo = %who.slo,
            instance = %who.instance,
            tier = %who.tier,
            burn_rates = %who.burn_rates,
            reason = %why,
            state = e.next.name(),
            "alert held-unknown: kept as it is, not resolved"
        ),
        Some(_) => {}
        None if e.was_held.is_some() => log!(info, "alert evaluated again after being held"),
        None => {}
    }
}

/// The `slo_eval_alert_state` value: 0 inactive or resolved, 1 pending, 2 firing.
pub fn state_code(s: AlertState) -> i64 {
    match s {
        AlertState::Firing { .. } => 2,
        AlertState::Pending { .. } => 1,
        _ => 0,
    }
}

/// The SLO's labels on the daemon's metrics.
pub fn slo_labels(slo: &Slo) -> LabelSet {
    vec![
        ("slo_service".to_owned(), slo.service.clone()),
        ("slo".to_owned(), slo.name.clone()),
    ]
}

/// A Unix-milliseconds time as a timestamp (the epoch if out of range).
pub fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The notification for a record that started firing or resolved at
/// `now_ms` (coming from `prev`).
pub fn notification(prev: AlertState, rec: &AlertRecord, now_ms: i64, url: &str) -> Option<Alert> {
    let resolved = prev.is_firing() && matches!(rec.state, AlertState::Resolved { .. });
    to_alert(rec, url).map(|mut a| {
        if resolved {
            a.ends_at = Some(timestamp(now_ms));
        }
        a
    })
}

/// The link to the SLO's page of the web UI under `external_url`
/// (`{url}/slos/{service}/{slo}`, with `?instance=k=v,...` selecting a
/// grouped SLO's instance), from the alert's `slo_service` and `slo`
/// labels: a page leads straight to the graphs. `None` without an external
/// URL.
pub fn slo_url(url: &str, rec: &AlertRecord) -> Option<String> {
    let base = url.trim_end_matches('/');
    if base.is_empty() {
        return None;
    }
    let service = rec.labels.get(slo_core::names::SERVICE_LABEL)?;
    let slo = rec.labels.get(slo_core::names::SLO_LABEL)?;
    // Service and SLO names are `[a-z0-9._-]`: safe in a path as they are.
    let mut link = format!("{base}/slos/{service}/{slo}");
    if !rec.instance.is_empty() {
        let pairs: Vec<String> = rec
            .instance
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let query: String =
            url::form_urlencoded::byte_serialize(pairs.join(",").as_bytes()).collect();
        link.push_str(&format!("?instance={query}"));
    }
    Some(link)
}

/// The Alertmanager view of a record: `None` unless firing or resolved;
/// with an external URL, its annotations link to the SLO's page.
pub fn to_alert(rec: &AlertRecord, url: &str) -> Option<Alert> {
    let (status, started_at, ends_at) = match rec.state {
        AlertState::Firing { started_at, .. } => (Status::Firing, started_at, None),
        AlertState::Resolved {
            started_at,
            resolved_at,
            ..
        } => (Status::Resolved, started_at, Some(timestamp(resolved_at))),
        _ => return None,
    };
    let mut annotations = rec.annotations.clone();
    if let Some(link) = slo_url(url, rec) {
        annotations.insert("slo_url".to_owned(), link);
    }
    Some(Alert {
        labels: rec.labels.clone(),
        annotations,
        starts_at: timestamp(started_at),
        ends_at,
        status,
        generator_url: url.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Labels;

    #[test]
    fn alerts_link_to_their_slo_page_under_the_external_url() {
        let labels = Labels::from([
            ("slo_service".to_owned(), "checkout".to_owned()),
            ("slo".to_owned(), "availability".to_owned()),
        ]);
        let mut rec = AlertRecord {
            labels: labels.clone(),
            annotations: Labels::new(),
            state: AlertState::Firing {
                active_since: 0,
                started_at: 0,
            },
            instance: Labels::new(),
        };
        let a = to_alert(&rec, "https://slo.example/").unwrap_or_else(|| panic!("firing"));
        assert_eq!(
            a.annotations.get("slo_url").map(String::as_str),
            Some("https://slo.example/slos/checkout/availability")
        );
        assert_eq!(a.generator_url, "https://slo.example/");
        let a = to_alert(&rec, "").unwrap_or_else(|| panic!("firing"));
        assert!(!a.annotations.contains_key("slo_url"));
        // A grouped SLO's alert selects its instance on the page.
        rec.instance = Labels::from([("route".to_owned(), "/pay".to_owned())]);
        let a = to_alert(&rec, "https://slo.example").unwrap_or_else(|| panic!("firing"));
        assert_eq!(
            a.annotations.get("slo_url").map(String::as_str),
            Some("https://slo.example/slos/checkout/availability?instance=route%3D%2Fpay")
        );
    }
}
