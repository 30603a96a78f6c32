//! A one-line status on stderr for long runs (the benchmarks), shown only
//! where someone looks: stderr a terminal that understands escape codes
//! (not `TERM=dumb`). It is drawn in place and erased before the tool
//! writes its own output, so nothing of it stays on the screen or reaches a
//! file or a pipe. No colours (nothing for `NO_COLOR` to turn off).

use std::io::{self, IsTerminal, Write};

#[derive(Debug)]
pub struct Status {
    /// stderr is a terminal to draw on.
    live: bool,
    /// A status line is on the screen now.
    shown: bool,
}

impl Status {
    /// A status line on stderr, if stderr is a terminal.
    pub fn on_stderr() -> Status {
        let terminal = io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|term| term != "dumb");
        Status::new(terminal)
    }

    fn new(live: bool) -> Status {
        Status { live, shown: false }
    }

    /// Shows `text` in place of the last status.
    pub fn show(&mut self, text: &str) {
        if self.live {
            self.shown = true;
            let _ = write!(io::stderr(), "\r{text}\x1b[K");
            let _ = io::stderr().flush();
        }
    }

    /// Erases the status, before the tool writes its output.
    pub fn clear(&mut self) {
        if std::mem::take(&mut self.shown) {
            let _ = write!(io::stderr(), "\r\x1b[K");
            let _ = io::stderr().flush();
        }
    }
}

impl Drop for Status {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_a_terminal_nothing_is_shown_or_erased() {
        let mut status = Status::new(false);
        status.show("measuring");
        assert!(!status.shown);
        status.clear();
        let mut live = Status::new(true);
        live.show("measuring");
        assert!(live.shown);
        live.clear();
        assert!(!live.shown, "erased once");
    }
}
