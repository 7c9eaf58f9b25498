//! The UI as `slo-eval run` serves it, next to `/metrics`: the daemon's own
//! SLOs (its shard's), fed by its cycles and its alert ledger, so a page
//! view costs Prometheus nothing and shows exactly what the daemon decided.
//! Graphs and replays read Prometheus as `serve` does. A spec reload swaps
//! the whole UI; until the next cycle the new one says it has not
//! evaluated yet.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use slo_core::alert::AlertState;
use slo_core::evaluation::InstanceResult;
use slo_core::load::SloPlace;
use slo_core::spec::Spec;
use slo_core::time::Timestamp;
use tower::ServiceExt;

use super::{Cycle, Source, Ui, router};
use crate::prometheus::{Client, Endpoint};
use crate::specs::SpecFile;

/// One spec file as the daemon loaded it: its path, text, the SLOs this
/// daemon evaluates from it (the daemon's own spec, shared), and where each
/// is defined.
#[derive(Debug)]
pub(crate) struct LoadedFile {
    pub(crate) path: PathBuf,
    pub(crate) source: String,
    pub(crate) spec: Arc<Spec>,
    pub(crate) places: Vec<SloPlace>,
}

impl LoadedFile {
    /// The files of `spec_files` that hold a spec.
    pub(crate) fn of(spec_files: Vec<SpecFile>) -> Vec<LoadedFile> {
        spec_files
            .into_iter()
            .filter_map(|f| {
                Some(LoadedFile {
                    spec: Arc::new(f.spec?),
                    path: f.path,
                    source: f.source,
                    places: f.places,
                })
            })
            .collect()
    }
}

/// What one cycle decided, by SLO (`service`, `slo`).
pub(crate) type Results = Vec<((String, String), Result<Vec<InstanceResult>, String>)>;

/// The UI in use and its router.
type Served = Option<(Arc<Ui>, Router)>;

/// The daemon's UI: swapped whole on reload, fed each cycle.
#[derive(Clone, Debug, Default)]
pub(crate) struct Live(Arc<RwLock<Served>>);

impl Live {
    /// Serves `files`' SLOs from now on (replays read `endpoint`).
    pub(crate) fn load(&self, files: Vec<LoadedFile>, endpoint: &Endpoint, client: Arc<Client>) {
        let ui = Arc::new(Ui::new(
            files,
            Source::Prometheus {
                endpoint: endpoint.clone(),
                client,
                concurrency: 1,
            },
        ));
        let served = (Arc::clone(&ui), router(ui));
        if let Ok(mut current) = self.0.write() {
            *current = Some(served);
        }
    }

    /// Makes one cycle's decisions and alert states what the pages show.
    /// An SLO without a result (loaded after the cycle began) reads as not
    /// evaluated yet, never as healthy.
    pub(crate) fn publish(
        &self,
        at: Timestamp,
        results: Results,
        states: BTreeMap<String, AlertState>,
    ) {
        let Some(ui) = self.ui() else { return };
        let mut by_slo: BTreeMap<(String, String), _> = results.into_iter().collect();
        let results = ui
            .entries
            .iter()
            .map(|e| {
                by_slo
                    .remove(&(e.slo.service.clone(), e.slo.name.clone()))
                    .unwrap_or_else(|| Err("not evaluated yet".to_owned()))
            })
            .collect();
        if let Ok(mut c) = ui.cycle.write() {
            let next = Cycle::next(&c, at, results, states);
            *c = Arc::new(next);
        }
    }

    fn ui(&self) -> Option<Arc<Ui>> {
        self.0
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|(ui, _)| Arc::clone(ui)))
    }

    /// A router answering every path with the UI in use (a fallback for
    /// the daemon's own routes).
    pub(crate) fn router(&self) -> Router {
        Router::new().fallback(dispatch).with_state(self.clone())
    }
}

async fn dispatch(State(live): State<Live>, request: Request) -> Response {
    let router = live
        .0
        .read()
        .ok()
        .and_then(|c| c.as_ref().map(|(_, r)| r.clone()));
    match router {
        Some(r) => match r.oneshot(request).await {
            Ok(response) => response,
            Err(e) => match e {},
        },
        None => super::html::not_found("the UI is not loaded yet").into_response(),
    }
}
