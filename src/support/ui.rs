//! Output: where text goes, whether it is coloured, how loud levee is.
//!
//! Colour is decided here, once, from `--color`, `NO_COLOR` and whether the stream is a terminal;
//! nothing else in levee decides it. A closed stdout (`levee ... | head`) is not an error.
//! Everything written goes through [`crate::support::text::terminal`]: no control character that came
//! from a user's file reaches the terminal or a CI log (levee's own colours and line breaks do).

use std::io::{self, IsTerminal, Write};

use clap::ValueEnum;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Output settings for one run.
#[derive(Debug, Clone)]
pub struct Ui {
    pub stdout_color: bool,
    pub stderr_color: bool,
    pub quiet: bool,
    pub verbose: u8,
}

/// Writing to stdout failed because the reader went away; the run ends quietly.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed")]
pub struct BrokenPipe;

impl Ui {
    pub(crate) fn new(color: ColorChoice, quiet: bool, verbose: u8) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |is_term: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_term && !no_color,
        };
        let ui = Ui {
            stdout_color: decide(io::stdout().is_terminal()),
            stderr_color: decide(io::stderr().is_terminal()),
            quiet,
            verbose,
        };
        console::set_colors_enabled(ui.stdout_color);
        console::set_colors_enabled_stderr(ui.stderr_color);
        ui
    }

    /// Writes to stdout. A closed pipe becomes [`BrokenPipe`].
    pub(crate) fn out(&self, text: &str) -> anyhow::Result<()> {
        let text = crate::support::text::terminal(text);
        let mut out = io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(BrokenPipe.into()),
            other => Ok(other?),
        }
    }

    /// Writes a line to stderr (status and progress), unless quiet.
    pub(crate) fn status(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr(), "{}", crate::support::text::terminal(text));
        }
    }

    /// Writes a problem line to stderr, even with `-q` (which prints only errors).
    pub(crate) fn error(&self, text: &str) {
        let _ = writeln!(io::stderr(), "{}", crate::support::text::terminal(text));
    }

    /// Writes text to stderr as it is (no line break added), even with `-q`.
    pub(crate) fn error_text(&self, text: &str) {
        let _ = write!(io::stderr(), "{}", crate::support::text::terminal(text));
    }

    /// Writes a line to stderr when `-v` was given.
    pub(crate) fn verbose(&self, text: &str) {
        if self.verbose > 0 {
            let _ = writeln!(io::stderr(), "{}", crate::support::text::terminal(text));
        }
    }

    /// Styles for text written to stdout ([`Ui::out`]): coloured when stdout is.
    pub(crate) fn stdout(&self) -> Paint {
        Paint {
            color: self.stdout_color,
        }
    }

    /// Styles for text written to stderr ([`Ui::status`], [`Ui::error`]): coloured when stderr
    /// is, whatever stdout is (`levee sync > report.txt` on a terminal still colours its errors).
    pub(crate) fn stderr(&self) -> Paint {
        Paint {
            color: self.stderr_color,
        }
    }
}

/// The styles of one output stream. Colour is decided by the stream the text goes to, so it is
/// chosen here, explicitly, never from a global default.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    color: bool,
}

impl Paint {
    fn style(self, s: &str, style: console::Style) -> String {
        style.force_styling(self.color).apply_to(s).to_string()
    }

    pub(crate) fn green(self, s: &str) -> String {
        self.style(s, console::Style::new().green().bold())
    }

    pub(crate) fn red(self, s: &str) -> String {
        self.style(s, console::Style::new().red().bold())
    }

    pub(crate) fn yellow(self, s: &str) -> String {
        self.style(s, console::Style::new().yellow().bold())
    }

    pub(crate) fn dim(self, s: &str) -> String {
        self.style(s, console::Style::new().dim())
    }
}

/// A plain table (no borders). On a terminal, comfy-table wraps long cells to its width (the
/// first two columns, ids and owners, never wrap); piped output is never wrapped.
pub(crate) fn table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::NOTHING)
        .set_header(header.to_vec());
    let term = console::Term::stdout();
    if term.is_term()
        && let Some((_, w)) = term.size_checked()
    {
        t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
            .set_width(w);
        for i in 0..header.len().min(2) {
            if let Some(c) = t.column_mut(i) {
                c.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
            }
        }
    }
    t
}
