//! Scenario parsing and compiling: any bytes, as a scenario file, give a compiled scenario
//! or diagnostics, never a panic. The bytes go through `load_bytes` (UTF-8 and BOM checks,
//! strict parse, compile: regexes, templates, bodies, WebSocket scripts), and every
//! diagnostic is formatted as `validate` would print it.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use understudy::internals::scenario::load::load_bytes;

/// An empty scenarios directory, so `file` bodies resolve against something real.
fn root() -> &'static (PathBuf, PathBuf) {
    static ROOT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("understudy-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
        std::fs::write(dir.join("sub/body.txt"), b"hello").expect("temp file");
        let canonical = dir.canonicalize().expect("canonical temp dir");
        (dir, canonical)
    })
}

fuzz_target!(|data: &[u8]| {
    let (dir, canonical) = root();
    let outcome = load_bytes(
        dir,
        canonical,
        Path::new("sub/fuzz.json"),
        Ok(data.to_vec()),
        &Default::default(),
    );
    match outcome.result {
        Ok(scenario) => {
            // What the admin API shows of it.
            let _ = serde_json::to_string(&scenario.document());
            for route in &scenario.routes {
                let _ = route.is_stateful();
            }
        }
        Err(diags) => {
            assert!(
                !diags.is_empty(),
                "a failed load names at least one problem"
            );
            for d in diags {
                let _ = d.to_string();
            }
        }
    }
});
