//! Per-core usage of the whole machine, from sysinfo: what a user would see in
//! `top`, beside the CPU time spin-cores itself used. Usage is measured
//! between two refreshes, so each `Machine` remembers its last one.

use sysinfo::System;

#[derive(Debug)]
pub struct Machine {
    /// None where /proc/stat cannot be read: samples then show no cores.
    system: Option<System>,
}

impl Machine {
    /// Starts measuring now.
    pub fn start() -> Machine {
        let mut system = System::new().ok();
        if let Some(system) = system.as_mut() {
            system.refresh_cpu_usage();
        }
        Machine { system }
    }

    /// Each core's busy percent since the last call (or the start).
    pub fn per_core(&mut self) -> Vec<f32> {
        match self.system.as_mut() {
            Some(system) => {
                system.refresh_cpu_usage();
                system.cpus().iter().map(sysinfo::Cpu::usage).collect()
            }
            None => Vec::new(),
        }
    }
}

/// `97% 100%`, for the text lines.
pub fn format_cores(cores: &[f32]) -> String {
    if cores.is_empty() {
        return "n/a".to_string();
    }
    cores
        .iter()
        .map(|usage| format!("{usage:.0}%"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_one_figure_per_cpu_within_range() {
        let mut machine = Machine::start();
        let mark = std::time::Instant::now();
        while mark.elapsed() < sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
            std::hint::black_box(0u64);
        }
        let cores = machine.per_core();
        assert!(!cores.is_empty());
        assert!(cores.iter().all(|c| (0.0..=100.5).contains(c)), "{cores:?}");
        assert_eq!(format_cores(&[97.4, 100.0]), "97% 100%");
    }
}
