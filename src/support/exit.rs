//! Exit codes, decided in one place.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | the check found problems (invalid manifest, policy denial, drift, upgrade conflicts) |
//! | 2 | usage error, unreadable input, or I/O failure |
//! | 130 | the user stopped an interactive run (Ctrl-C); nothing was written |

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Everything is fine.
    Success,
    /// The command ran and found problems.
    Problems,
    /// The command could not do its job: bad usage, unreadable input, I/O failure.
    Error,
    /// The user stopped it (Ctrl-C at a prompt), as shells report an interrupted command.
    Interrupted,
}

impl ExitStatus {
    pub(crate) fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Problems => 1,
            ExitStatus::Error => 2,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s.code())
    }
}

/// An error that ends a command with exit code 2: a message, its causes and a hint.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
    pub hint: Option<String>,
}

impl UsageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Set by the `levee` binary: the process ends when its command returns.
static ENDS_WITH_COMMAND: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Called by the `levee` binary before it runs a command: big values the command is done with
/// need not be freed piece by piece, since the process ends right after (see [`release`]).
pub fn process_ends_with_command() {
    ENDS_WITH_COMMAND.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Frees `value`, or, in a `levee` process about to end, leaves its memory to the OS: freeing
/// a compiled policy engine node by node (its syntax trees, its caches) was a tenth of a
/// one-manifest `levee check`. In a longer-lived process (the tests, a library user) it is
/// freed as usual.
pub(crate) fn release<T>(value: T) {
    if ENDS_WITH_COMMAND.load(std::sync::atomic::Ordering::Relaxed) {
        std::mem::forget(value);
    } else {
        drop(value);
    }
}
