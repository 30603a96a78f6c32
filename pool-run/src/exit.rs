//! pool-run's exit codes, GNU parallel's scheme: 0 all jobs succeeded, 1-100
//! the number of failed jobs, 101 more than 100 failed, 255 any other error
//! (usage errors included).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `n` jobs failed (0 = all succeeded).
    Failed(u64),
    /// pool-run itself failed, or the command line was wrong.
    Error,
}

impl From<Exit> for u8 {
    fn from(value: Exit) -> u8 {
        match value {
            Exit::Failed(n) => u8::try_from(n.min(101)).unwrap_or(101),
            Exit::Error => 255,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_job_counts_map_like_gnu_parallel() {
        assert_eq!(u8::from(Exit::Failed(0)), 0);
        assert_eq!(u8::from(Exit::Failed(3)), 3);
        assert_eq!(u8::from(Exit::Failed(100)), 100);
        assert_eq!(u8::from(Exit::Failed(101)), 101);
        assert_eq!(u8::from(Exit::Failed(5000)), 101);
        assert_eq!(u8::from(Exit::Error), 255);
    }
}
