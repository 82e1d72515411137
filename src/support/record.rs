//! Where levee keeps its record in an app: the `.levee/` directory and every file in it, named
//! once here. What the files hold is owned by the module that writes them (the render record by
//! `scaffold`, the managed-file hashes by `generate::managed`, the last policy result by
//! `catalog`, the swap journal by `support::appdir`).

/// The directory of the record levee keeps in each app.
pub const DIR: &str = ".levee";

/// What `levee new` rendered: template, pack, context and hashes (`levee upgrade` reads it).
pub const RENDER: &str = ".levee/render.json";

/// A copy of `app.yaml` as first written, for people.
pub const ANSWERS: &str = ".levee/answers.yaml";

/// The hash of every managed file as levee last wrote it (`levee sync`).
pub const MANAGED: &str = ".levee/managed.json";

/// The last policy result (`levee check`), which the catalog entry reports.
pub const POLICY_RESULT: &str = ".levee/policy-result.json";

/// Where an interrupted swap is recorded.
pub const JOURNAL: &str = ".levee/upgrade-journal.json";

/// Is this path (relative to the app, `/`-separated) levee's record, which no template may
/// contain and no user file may be?
pub fn is_record(path: &str) -> bool {
    path == DIR || path.starts_with(".levee/")
}
