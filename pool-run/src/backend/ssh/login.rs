//! `-S` logins as GNU parallel writes them: `[@groups/][N/][user@]host[:port]`,
//! or `:` for this machine, given on the command line (comma-separated) or
//! in `--sshloginfile` files. `@g1+g2/` puts a login in host groups (every
//! login is also in the groups named by itself); a lone `-S @g` keeps only
//! the logins of group g.

use std::path::PathBuf;

/// One `-S` entry: `[N/][user@]host[:port]`, or `:` for this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshLogin {
    /// `N/`: job slots on that host (else -j, else its CPU count).
    pub slots: Option<usize>,
    /// `[user@]host`, or `:`.
    pub target: String,
    pub port: Option<u16>,
    /// Its host groups (--hostgroups): those of `@g1+g2/`, the login as
    /// written after them, and its name.
    pub groups: Vec<String>,
}

impl SshLogin {
    pub fn parse(text: &str) -> Result<SshLogin, String> {
        let (mut groups, text) = split_groups(text);
        let mut login = SshLogin::parse_plain(text)?;
        groups.push(text.to_string());
        groups.push(login.name());
        groups.sort();
        groups.dedup();
        login.groups = groups;
        Ok(login)
    }

    fn parse_plain(text: &str) -> Result<SshLogin, String> {
        let bad = || {
            format!("invalid sshlogin '{text}' (expected [@groups/][N/][user@]host[:port] or :)")
        };
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
                groups: Vec::new(),
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
            groups: Vec::new(),
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
    // A lone `@g1+g2` chooses groups instead of naming a login.
    let (selectors, texts): (Vec<&String>, Vec<&String>) = texts
        .iter()
        .partition(|t| t.starts_with('@') && !t.contains('/'));
    let chosen: Vec<String> = selectors.iter().flat_map(|t| split_groups(t).0).collect();
    let logins: Vec<SshLogin> = texts
        .iter()
        .map(|t| SshLogin::parse(t))
        .collect::<Result<_, _>>()?;
    if chosen.is_empty() {
        return Ok(logins);
    }
    let kept: Vec<SshLogin> = logins
        .into_iter()
        .filter(|login| login.groups.iter().any(|g| chosen.contains(g)))
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "no sshlogin is in the host group(s) {}",
            chosen.join("+")
        ));
    }
    Ok(kept)
}

/// `@g1+g2/rest` into the groups and the rest (`@g1+g2` alone: no rest).
fn split_groups(text: &str) -> (Vec<String>, &str) {
    let Some(tagged) = text.strip_prefix('@') else {
        return (Vec::new(), text);
    };
    let (names, rest) = tagged.split_once('/').unwrap_or((tagged, ""));
    let groups = names
        .split('+')
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect();
    (groups, rest)
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
    fn host_groups_come_from_the_prefix_the_login_and_its_name() {
        let login = SshLogin::parse("@a+b/2/root@h:22").unwrap();
        assert_eq!(login.slots, Some(2));
        assert_eq!(login.name(), "root@h:22");
        assert_eq!(login.groups, ["2/root@h:22", "a", "b", "root@h:22"]);
        assert_eq!(SshLogin::parse("h").unwrap().groups, ["h"]);
        let logins = ["@a/x,@b/y,@a+c/z,@c".to_string()];
        let names: Vec<String> = parse_logins(&logins, &[])
            .unwrap()
            .iter()
            .map(SshLogin::name)
            .collect();
        assert_eq!(names, ["z"], "-S @c keeps group c only");
        let none = parse_logins(&["x,@zz".to_string()], &[]);
        assert!(none.is_err_and(|e| e.contains("zz")));
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
