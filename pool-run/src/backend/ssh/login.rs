//! `-S` logins as GNU parallel writes them: `[N/][user@]host[:port]`, or `:`
//! for this machine, given on the command line (comma-separated) or in
//! `--sshloginfile` files.

use std::path::PathBuf;

/// One `-S` entry: `[N/][user@]host[:port]`, or `:` for this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshLogin {
    /// `N/`: job slots on that host (else -j, else its CPU count).
    pub slots: Option<usize>,
    /// `[user@]host`, or `:`.
    pub target: String,
    pub port: Option<u16>,
}

impl SshLogin {
    pub fn parse(text: &str) -> Result<SshLogin, String> {
        let bad = || format!("invalid sshlogin '{text}' (expected [N/][user@]host[:port] or :)");
        let (slots, rest) = match text.split_once('/') {
            Some((n, rest)) => (
                Some(n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(bad)?),
                rest,
            ),
            None => (None, text),
        };
        if rest == ":" {
            return Ok(SshLogin {
                slots,
                target: ":".to_string(),
                port: None,
            });
        }
        let (target, port) = match rest.rsplit_once(':') {
            Some((target, port)) => (target, Some(port.parse::<u16>().map_err(|_| bad())?)),
            None => (rest, None),
        };
        if target.is_empty() || target.contains(char::is_whitespace) || target.starts_with('-') {
            return Err(bad());
        }
        Ok(SshLogin {
            slots,
            target: target.to_string(),
            port,
        })
    }

    pub fn is_local(&self) -> bool {
        self.target == ":"
    }

    /// How the joblog's Host column and `{host}` show it.
    pub fn name(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.target),
            None => self.target.clone(),
        }
    }
}

/// Every login from `-S` values (each may hold several, comma-separated)
/// and `--sshloginfile` files (one per line, `#` comments).
pub fn parse_logins(values: &[String], files: &[PathBuf]) -> Result<Vec<SshLogin>, String> {
    let mut texts: Vec<String> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    for file in files {
        let content = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read the sshloginfile '{}': {e}", file.display()))?;
        texts.extend(
            content
                .lines()
                .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
                .filter(|l| !l.is_empty()),
        );
    }
    texts.iter().map(|t| SshLogin::parse(t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshlogins_parse_like_gnu_parallel() {
        let login = SshLogin::parse("4/root@127.0.0.2:2222").unwrap();
        assert_eq!(login.slots, Some(4));
        assert_eq!(login.target, "root@127.0.0.2");
        assert_eq!(login.port, Some(2222));
        assert_eq!(login.name(), "root@127.0.0.2:2222");
        let plain = SshLogin::parse("server").unwrap();
        assert_eq!((plain.slots, plain.port), (None, None));
        assert!(SshLogin::parse(":").unwrap().is_local());
        assert_eq!(SshLogin::parse("2/:").unwrap().slots, Some(2));
        for bad in [
            "",
            "0/host",
            "x/host",
            "host:port",
            "-oProxyCommand=x",
            "a b",
        ] {
            assert!(SshLogin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logins_come_from_commas_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("logins");
        std::fs::write(&file, "# hosts\nb\n\n2/c:22 # the third\n").unwrap();
        let logins = parse_logins(&["a,:".to_string()], &[file]).unwrap();
        let names: Vec<String> = logins.iter().map(SshLogin::name).collect();
        assert_eq!(names, ["a", ":", "b", "c:22"]);
        assert_eq!(logins[3].slots, Some(2));
    }
}
