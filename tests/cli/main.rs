//! The one integration-test binary: every tool is run as a real process, the
//! way users and scripts run it. One binary links once and shares `support`.

mod lock_demo;
mod pipelines;
mod spin_cores;
mod subproc;
mod support;
