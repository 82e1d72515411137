//! The `levee` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: policy evaluation (regorus), YAML and JSON work
/// allocate small values by the million, and glibc's malloc and free were a quarter of
/// `levee check`'s and `catalog scan`'s time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    levee::support::exit::process_ends_with_command();
    let cli = levee::cli::Cli::parse();
    let ui = cli.ui();
    match levee::cli::run(cli, &ui) {
        Ok(status) => status.into(),
        Err(e) if e.is::<levee::support::ui::BrokenPipe>() => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{}", levee::cli::render_error(&e, ui.stderr_color));
            levee::support::exit::ExitStatus::Error.into()
        }
    }
}
