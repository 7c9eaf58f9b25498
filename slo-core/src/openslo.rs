//! Reading OpenSLO v1.
use crate::load::Cx;
use crate::spec::Spec;
use crate::yaml::Node;

/// Reads OpenSLO documents.
pub(crate) fn spec(_cx: &mut Cx, _docs: &[Node]) -> Option<Spec> {
    None
}
