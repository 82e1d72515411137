//! Fuzz the manifest parser: any bytes must give a typed manifest or located diagnostics, never a
//! panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("app.yaml");
    match levee::load::document::parse_bytes::<levee::model::manifest::Manifest>(path, data) {
        Ok(loaded) => {
            // A manifest that loads must serialize and load again.
            let yaml = loaded.value.to_yaml();
            let again = levee::load::document::parse_str::<levee::model::manifest::Manifest>(path, &yaml)
                .expect("a loaded manifest re-serializes to a valid one");
            assert_eq!(again.value, loaded.value);
        }
        Err(levee::load::document::LoadError::Invalid { diags, .. }) => {
            assert!(!diags.is_empty());
            let _ = levee::load::diag::render(&diags, Some(&String::from_utf8_lossy(data)), false);
        }
        Err(e) => panic!("parse_bytes never does I/O: {e}"),
    }
});
