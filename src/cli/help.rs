//! `levee completions SHELL` and `levee man`: shell completions (clap_complete) and roff man
//! pages (clap_mangen), generated from the same definition `--help` prints.

use std::path::PathBuf;

use clap::Args;

use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::Ui;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command's page (`levee man new` prints levee-new(1)); default: levee(1).
    pub command: Option<String>,
    /// Write every page (levee.1, levee-new.1, ...) into this directory instead of printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script for a shell.
pub(super) fn completions(args: &CompletionsArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let mut cmd = super::Cli::whole();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "levee", &mut out);
    ui.out(&String::from_utf8_lossy(&out))?;
    Ok(ExitStatus::Success)
}

/// Prints a man page, or writes them all.
pub(super) fn man(args: &ManArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let mut cmd = super::Cli::whole();
    cmd.build();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| UsageError::new(format!("cannot create {}: {e}", dir.display())))?;
        clap_mangen::generate_to(cmd, dir).map_err(|e| {
            UsageError::new(format!(
                "cannot write the man pages into {}: {e}",
                dir.display()
            ))
        })?;
        ui.status(&format!("wrote the man pages into {}", dir.display()));
        return Ok(ExitStatus::Success);
    }
    let page = match &args.command {
        None => cmd,
        Some(name) => {
            let sub = cmd.find_subcommand(name).cloned().ok_or_else(|| {
                let names: Vec<String> = cmd
                    .get_subcommands()
                    .map(|s| s.get_name().to_string())
                    .filter(|n| n != "help")
                    .collect();
                UsageError::new(format!("levee has no command `{name}`"))
                    .hint(format!("one of: {}", names.join(", ")))
            })?;
            let title: &'static str =
                Box::leak(format!("levee-{}", sub.get_name()).into_boxed_str());
            sub.name(title).bin_name(title).display_name(title)
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    ui.out(&String::from_utf8_lossy(&out))?;
    Ok(ExitStatus::Success)
}
