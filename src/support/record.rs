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

/// The largest render record levee reads (a record is a few tens of kilobytes).
const MAX_RENDER_BYTES: u64 = 8 << 20;

/// The render record of the app in `app_dir` as JSON: `Ok(None)` when there is none; `Err` with
/// what is wrong ("it is not JSON: ...") when `.levee/` or the record is a symlink or not a
/// regular file, is too large, or cannot be read or parsed. The one reader for the modules that
/// read a part of it (the template's settings, the pack's declarations).
pub(crate) fn read_render(app_dir: &std::path::Path) -> Result<Option<serde_json::Value>, String> {
    // Neither the record nor its directory is followed through a symlink.
    if std::fs::symlink_metadata(app_dir.join(DIR)).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(format!(
            "{DIR} is a symlink; levee reads its own record only from the app's directory"
        ));
    }
    let path = app_dir.join(RENDER);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    if !meta.is_file() {
        return Err(
            "it is not a regular file (levee reads its own record only as a file, never through a symlink)"
                .into(),
        );
    }
    let bytes = crate::support::input::read(&path, MAX_RENDER_BYTES).map_err(|e| {
        if crate::support::input::is_too_large(&e) {
            format!(
                "it is over {} MiB; a record is a few kilobytes",
                MAX_RENDER_BYTES >> 20
            )
        } else {
            format!("cannot read it: {e}")
        }
    })?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("it is not JSON: {e}"))
}

/// Is this path (relative to the app, `/`-separated) levee's record, which no template may
/// contain and no user file may be?
pub(crate) fn is_record(path: &str) -> bool {
    path == DIR || path.starts_with(".levee/")
}
