//! Which spec format a file is written in, told from its first document.
//!
//! [`load::check`](crate::load::check) reads every format below into the
//! same checked [`Spec`](crate::spec::Spec), with the same diagnostics.
//!
//! ```
//! use slo_core::format::Format;
//!
//! assert_eq!(Format::of_source("version: prometheus/v1\nservice: api\n"), Format::Sloth);
//! assert_eq!(Format::of_source("apiVersion: openslo/v1\nkind: SLO\n"), Format::OpenSlo);
//! assert_eq!(Format::of_source("version: slo/v1\n"), Format::Native);
//! ```

use std::fmt;

use crate::yaml::{self, Kind, Node};

/// The spec formats this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// This project's own `version: slo/v1` (also the guess for anything
    /// unrecognised, so that its mistakes are reported against it).
    Native,
    /// Sloth's `version: prometheus/v1` spec.
    Sloth,
    /// Sloth's Kubernetes manifest: `apiVersion: sloth.slok.dev/v1`,
    /// `kind: PrometheusServiceLevel`.
    SlothKubernetes,
    /// OpenSLO (`apiVersion: openslo/...`), one or more YAML documents.
    OpenSlo,
}

/// Sloth's spec version.
pub const SLOTH_VERSION: &str = "prometheus/v1";
/// Sloth's Kubernetes API group and version.
pub const SLOTH_KUBERNETES_API: &str = "sloth.slok.dev/v1";
/// The OpenSLO version this crate reads.
pub const OPENSLO_API: &str = "openslo/v1";

impl Format {
    /// The format of a file whose first YAML document is `doc`.
    pub fn of(doc: &Node) -> Self {
        let field = |node: &Node, name: &str| -> Option<String> {
            let Kind::Map(pairs) = &node.kind else {
                return None;
            };
            pairs
                .iter()
                .find(|(k, _)| k.as_scalar() == Some(name))
                .and_then(|(_, v)| v.as_scalar().map(str::to_owned))
        };
        // OpenSLO objects are sometimes written as one YAML list.
        let object = match &doc.kind {
            Kind::Seq(items) => items.first().unwrap_or(doc),
            _ => doc,
        };
        if field(doc, "version").as_deref() == Some(SLOTH_VERSION) {
            return Format::Sloth;
        }
        match field(object, "apiVersion") {
            Some(api) if api == SLOTH_KUBERNETES_API => Format::SlothKubernetes,
            Some(api) if api.starts_with("openslo/") => Format::OpenSlo,
            _ => Format::Native,
        }
    }

    /// The format of `src`, [`Format::Native`] when it does not parse.
    pub fn of_source(src: &str) -> Self {
        yaml::parse(src)
            .ok()
            .and_then(|docs| docs.first().map(Self::of))
            .unwrap_or(Format::Native)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Native => "slo/v1",
            Format::Sloth => "Sloth prometheus/v1",
            Format::SlothKubernetes => "Sloth PrometheusServiceLevel",
            Format::OpenSlo => "OpenSLO v1",
        })
    }
}
