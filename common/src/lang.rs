//! The language a tutorial scene prints in. Two of the five tutorials print
//! Chinese; prockit prints a faithful English translation by default and the
//! listing's own Chinese lines with `--lang zh`, so a reader can diff the
//! two. One enum keeps the flag's spelling the same in every tool.

/// `--lang`: English (the default) or the tutorial's Chinese.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English, a faithful translation of the tutorial's lines
    #[default]
    En,
    /// The tutorial's own Chinese lines
    Zh,
}

impl Lang {
    /// `english` or `chinese`, whichever this language is.
    pub fn pick<'a>(self, english: &'a str, chinese: &'a str) -> &'a str {
        match self {
            Lang::En => english,
            Lang::Zh => chinese,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_language() {
        assert_eq!(Lang::En.pick("took", "耗时"), "took");
        assert_eq!(Lang::Zh.pick("took", "耗时"), "耗时");
        assert_eq!(Lang::default(), Lang::En);
    }
}
