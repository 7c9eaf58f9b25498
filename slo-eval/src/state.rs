//! What the daemon remembers across restarts: the state of every alert and
//! the webhook notifications not yet delivered.
//!
//! Written atomically (a temporary file in the same folder, synced, then
//! renamed over the old one), so a crash at any moment leaves either the old
//! state or the new one, never half of each.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use slo_core::ledger::Ledger;

use crate::errors::Error;
use crate::notify::Alert;

/// The format version written; older files are read if they parse.
const VERSION: u32 = 1;
/// Most undelivered webhook notifications kept per target; beyond it the
/// oldest are dropped (and counted), so a dead receiver cannot grow the file
/// without bound.
pub const MAX_OUTBOX: usize = 10_000;

/// The whole persisted state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// File format version.
    #[serde(default)]
    pub version: u32,
    /// Alerts by key (`service/slo/tier{instance labels}`).
    #[serde(default)]
    pub alerts: Ledger,
    /// Undelivered webhook notifications, by webhook name, oldest first.
    #[serde(default)]
    pub outbox: BTreeMap<String, Vec<Alert>>,
}

impl State {
    /// Reads `path`; a missing file is a fresh start. A corrupt file is an
    /// error: silently starting over could re-page everything.
    pub fn load(path: &Path) -> Result<Self, Error> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Config(format!(
                    "{}: the state file is not readable ({e}); move it away to start afresh",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let mut me = self.clone();
        me.version = VERSION;
        write_atomic(path, |w| Ok(serde_json::to_writer_pretty(w, &me)?))
    }

    /// Queues `alert` for the webhook `target`, dropping the oldest beyond
    /// [`MAX_OUTBOX`]. Returns how many were dropped.
    pub fn enqueue(&mut self, target: &str, alert: Alert) -> usize {
        let queue = self.outbox.entry(target.to_owned()).or_default();
        queue.push(alert);
        let excess = queue.len().saturating_sub(MAX_OUTBOX);
        queue.drain(..excess);
        excess
    }
}

/// Writes to `path` atomically what `write` writes: a temporary file in the
/// same folder, written through a buffer (never the whole file in memory),
/// synced, then renamed over the old one.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state")
    ));
    let f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut w = std::io::BufWriter::new(f);
    write(&mut w).map_err(|e| Error::io(&tmp, e))?;
    let f = w
        .into_inner()
        .map_err(|e| Error::io(&tmp, e.into_error()))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    // The rename is durable only once the folder is synced.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Labels;
    use crate::notify::Status;
    use slo_core::alert::AlertState;
    use slo_core::ledger::AlertRecord;

    fn firing() -> Alert {
        Alert {
            labels: Labels::new(),
            annotations: Labels::new(),
            starts_at: jiff::Timestamp::UNIX_EPOCH,
            ends_at: None,
            status: Status::Firing,
            generator_url: String::new(),
        }
    }

    #[test]
    fn round_trips_and_missing_is_fresh() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("sub/state.json");
        assert_eq!(State::load(&path).ok(), Some(State::default()));
        let mut s = State::default();
        s.alerts.insert(
            "checkout/x/page{}".into(),
            AlertRecord {
                labels: Labels::from([("slo".into(), "x".into())]),
                annotations: Labels::new(),
                state: AlertState::Firing {
                    active_since: 1,
                    started_at: 2,
                },
                instance: Labels::from([("route".into(), "/pay".into())]),
            },
        );
        let alert = firing();
        assert_eq!(s.enqueue("hook", alert), 0);
        s.save(&path).unwrap_or_else(|e| panic!("{e}"));
        let back = State::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.alerts, s.alerts);
        assert_eq!(back.outbox, s.outbox);
        assert_eq!(back.version, VERSION);
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{not json").unwrap_or_else(|e| panic!("{e}"));
        assert!(State::load(&path).is_err());
    }

    #[test]
    fn the_outbox_is_bounded() {
        let mut s = State::default();
        let alert = firing();
        let dropped: usize = (0..MAX_OUTBOX + 5)
            .map(|_| s.enqueue("h", alert.clone()))
            .sum();
        assert_eq!(dropped, 5);
        assert_eq!(s.outbox["h"].len(), MAX_OUTBOX);
    }
}
