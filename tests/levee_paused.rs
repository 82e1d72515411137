//! `levee` with slow catalog writes, for the crash-safety and race tests only (a test target,
//! never installed). `levee_paused MS ARGS...` runs `levee ARGS...` with every catalog write held
//! `MS` milliseconds between writing its temporary file and renaming it into place, so a test can
//! kill the process in that window or race another command against it. The shipped binary has no
//! such setting: the pause is set here, through the library (`levee::catalog::pause_writes`).
//!
//! Run by `cargo test` with no milliseconds first, it checks itself: a registration under a
//! 700 ms pause takes at least that long, and writes the entry.

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    match args
        .get(1)
        .and_then(|a| a.to_str())
        .and_then(|a| a.parse::<u64>().ok())
    {
        Some(ms) => levee_paused(ms, &args),
        None => self_check(),
    }
}

fn levee_paused(ms: u64, args: &[OsString]) -> ExitCode {
    levee::catalog::pause_writes(Duration::from_millis(ms));
    let argv = args.iter().take(1).chain(args.iter().skip(2)).cloned();
    let cli = levee::cli::Cli::parse_from(argv);
    let ui = cli.ui();
    match levee::cli::run(cli, &ui) {
        Ok(status) => status.into(),
        Err(e) => {
            eprint!("{}", levee::cli::render_error(&e, ui.stderr_color));
            levee::support::exit::ExitStatus::Error.into()
        }
    }
}

fn self_check() -> ExitCode {
    let tmp = tempfile::tempdir().expect("tmp");
    let app = tmp.path().join("paused-app");
    std::fs::create_dir_all(&app).expect("mkdir");
    std::fs::write(
        app.join("app.yaml"),
        "name: paused-app\nowner: jane.doe@acme.corp\nclassification: internal\nlifecycle: {tier: prototype, expires: 2026-03-20}\n",
    )
    .expect("app.yaml");
    let catalog = tmp.path().join("catalog");
    let start = Instant::now();
    let out = std::process::Command::new(std::env::current_exe().expect("own path"))
        .arg("700")
        .args(["-q", "catalog", "register", "--catalog"])
        .arg(&catalog)
        .arg(&app)
        .env("LEVEE_TODAY", "2026-03-01")
        .env("NO_COLOR", "1")
        .env_remove("LEVEE_ORG")
        .current_dir(tmp.path())
        .output()
        .expect("run levee_paused");
    let took = start.elapsed();
    let written = catalog.join("paused-app.json").is_file();
    if out.status.success() && written && took >= Duration::from_millis(700) {
        println!("levee_paused: a registration waited {took:?} under a 700 ms pause; ok");
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "levee_paused: status {}, entry written: {written}, took {took:?} (expected >= 700 ms)\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        ExitCode::FAILURE
    }
}
