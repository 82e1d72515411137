//! From manifest + org config to the files levee owns in an app: the gate plan, the CI pipeline,
//! the policy bundle, the sandbox manifests, and the list of managed files that joins them.

pub mod backstage;
pub mod deploy;
pub mod managed;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod sandbox;
pub mod templates;
