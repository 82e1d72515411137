//! The `levee` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
