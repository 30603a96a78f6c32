//! The supervisor: the loop that moves jobs through the stages. It takes
//! job specs from the source while a slot is free and admission allows,
//! has the back-end prepare each and the job table spawn it, sleeps in one
//! poll until something happens, and hands every finished job to the
//! back-end (did it run?), the tally (count it, retry it, stop?) and the
//! output sink (log it, print it). It names no back-end and no output mode.

use std::io::{self, Write};
use std::os::unix::ffi::OsStringExt;

use common::cli::Failure;
use common::proc;
use common::signal::{Signal, SignalWatcher};

use crate::backend::{self, Backend, Ended, Launch, PlaceId, Verdict};
use crate::config::Config;
use crate::exit::Exit;
use crate::gate::{Gate, Memory, Shortage};
use crate::job::{JobSpec, Record};
use common::terminal::Terminal;

use crate::job_env::JobEnv;
use crate::jobs::{Finished, Jobs};
use crate::output::timeline::Outcome;
use crate::output::{Captured, Output};
use crate::perl::Perl;
use crate::placement::Placement;
use crate::progress::Counts;
use crate::slots::Slots;
use crate::source::Source;
use crate::tally::{Stop, Tally, Why};
use crate::template::Fill;
use crate::watchdog::Watchdog;

struct Supervisor<'a> {
    cfg: &'a Config,
    /// Runs the templates' perl expressions, when they have any.
    perl: Option<Perl>,
    /// PARALLEL_SEQ and the other per-job variables.
    job_env: JobEnv,
    /// --tty, -o: the terminal, handed to the oldest running job.
    terminal: Option<Terminal>,
    /// The job whose group has the terminal now.
    terminal_holder: Option<u32>,
    /// --onall: the next job waits for its host's slot to come free.
    pinned_waiting: bool,
    /// This pass found no slot for the next job: it waits in the queue.
    held_back: bool,
    /// Which slot the next job takes (its hosts, --limit).
    placement: Placement,
    /// -p: the terminal the questions go to and the answers come from.
    prompt: Option<io::BufReader<std::fs::File>>,
    signals: SignalWatcher,
    source: Source,
    slots: Slots,
    gate: Gate,
    tally: Tally,
    jobs: Jobs,
    out: Output,
    backend: Box<dyn Backend>,
}

/// How the loop ended.
enum End {
    /// Every job is done (or the run halted): exit with this code.
    Code(u8),
    /// Ctrl-C or SIGTERM: the jobs are stopped; die of the same signal.
    Signal(Signal),
}

/// -p: `COMMAND ?...` on the terminal (opened on the first question), and
/// whether the answer starts with y or Y (GNU parallel's prompt).
fn confirmed(
    prompt: &mut Option<io::BufReader<std::fs::File>>,
    command_line: &[u8],
) -> Result<bool, Failure> {
    use std::io::BufRead;
    let failed = |e: io::Error| Failure::io(Exit::Error, "--interactive: the terminal", &e);
    if prompt.is_none() {
        let tty = std::fs::File::options()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(failed)?;
        *prompt = Some(io::BufReader::new(tty));
    }
    let Some(prompt) = prompt.as_mut() else {
        return Ok(false);
    };
    let mut question = command_line.to_vec();
    question.extend_from_slice(b" ?...");
    prompt.get_mut().write_all(&question).map_err(failed)?;
    let mut answer = String::new();
    prompt.read_line(&mut answer).map_err(failed)?;
    Ok(answer.starts_with(['y', 'Y']))
}

/// One line of pool-run's own on stderr (a failed write has nowhere to go).
fn note(text: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr(), "pool-run: {text}");
}

/// An I/O error of pool-run's own: the run ends with GNU's error code.
fn io_failure(what: &str, err: &io::Error) -> Failure {
    Failure::io(Exit::Error, what, err)
}

pub fn run(cfg: &Config) -> Result<u8, Failure> {
    let signals = SignalWatcher::new(&[
        Signal::INT,
        Signal::TERM,
        Signal::HUP,
        Signal::CHLD,
        Signal::USR1,
    ])
    .map_err(|e| io_failure("watching signals", &e))?;
    // Orphans of a job (its background grandchildren) become ours, so a
    // stopped run can reap them too.
    let _ = proc::become_subreaper();
    // Jobs get stdin, stdout and stderr, and nothing else we inherited.
    let _ = proc::close_inherited_fds_on_exec();
    let mut out = Output::new(cfg)?;
    // The order matters: the watchdog is forked, and the ssh masters are
    // spawned, while pool-run has one thread; the stdin thread comes last.
    let mut watchdog = if cfg.dry_run {
        None
    } else {
        Some(Watchdog::start().map_err(|e| io_failure("starting the watchdog", &e))?)
    };
    // --shard / --bin: the splitter lives as long as the run.
    let (_splitter, spread) = match cfg.spread.as_ref().filter(|_| !cfg.dry_run) {
        Some(spread) => {
            let started = spread
                .start(cfg.job_slots())
                .map_err(|e| Failure::new(Exit::Error, e))?;
            (Some(started.splitter), started.inputs)
        }
        None => (None, Vec::new()),
    };
    let backend = backend::from_config(cfg, spread)?;
    if let Some(watchdog) = watchdog.as_mut() {
        backend.guard(watchdog);
    }
    let per_place: Vec<usize> = backend.places().iter().map(|p| p.slots).collect();
    // Before the first thread (perl's stderr, stdin's reader).
    let job_env = JobEnv::install(cfg.process_slot_var.as_deref());
    let perl = if !cfg.needs_perl() {
        None
    } else {
        Some(
            Perl::start(&cfg.perl_codes, cfg.job_slots())
                .map_err(|e| Failure::new(Exit::Error, e))?,
        )
    };
    let mut source = Source::open(cfg)?;
    if cfg.onall {
        // GNU parallel runs one job at a time on each host under --onall.
        let places: Vec<usize> = (0..per_place.len()).filter(|&p| per_place[p] > 0).collect();
        source.run_on_all(&places);
    }
    out.set_total(source.total());
    let terminal = if cfg.tty_stdin {
        Terminal::controlling()
    } else {
        None
    };
    let mut sup = Supervisor {
        cfg,
        perl,
        job_env,
        terminal,
        terminal_holder: None,
        pinned_waiting: false,
        placement: Placement::default(),
        held_back: false,
        prompt: None,
        signals,
        slots: Slots::new(&per_place),
        gate: Gate::new(cfg),
        tally: Tally::new(cfg),
        jobs: Jobs::new(
            cfg.timeout,
            cfg.termseq.clone(),
            out.captures(),
            watchdog,
            cfg.nice,
            cfg.max_runs != Some(1),
        )?
        .with_round_robin(cfg.pipe.as_ref().is_some_and(|p| p.round_robin)),
        source,
        out,
        backend,
    };
    match sup.run_loop() {
        Ok(End::Code(code)) => Ok(code),
        Ok(End::Signal(signal)) => {
            // Dying of the signal skips destructors: end the ssh masters
            // (and their socket directory) first.
            sup.backend.close();
            drop(sup);
            Ok(common::signal::reraise(signal))
        }
        Err(failure) => {
            sup.stop_all();
            Err(failure)
        }
    }
}

impl Supervisor<'_> {
    fn run_loop(&mut self) -> Result<End, Failure> {
        loop {
            self.source.fill(self.slots.capacity())?;
            // --limit is asked again on every pass, host by host.
            self.placement.new_pass();
            self.held_back = false;
            while !self.tally.stopping()
                && !self.pinned_waiting
                && self.slots.any_free()
                && self.gate.may_start(self.jobs.len(), self.out.held_files())
            {
                let Some(spec) = self.source.next()? else {
                    break;
                };
                self.start(spec)?;
                if self.held_back {
                    break;
                }
            }
            if self.cfg.pipe.as_ref().is_some_and(|p| p.round_robin) {
                self.hand_out_blocks();
            }
            if self.jobs.is_empty() && (self.tally.stopping() || self.source.is_done()) {
                break;
            }
            let due = [
                self.jobs.next_due(),
                self.gate.next_due(self.slots.any_free()),
            ]
            .into_iter()
            .flatten()
            .min();
            let wake = self.source.wake_fd(self.slots.capacity());
            self.jobs.wait(&self.signals, wake, due, &mut self.out)?;
            self.source.drain_wake();
            while let Some(received) = self
                .signals
                .try_next()
                .map_err(|e| io_failure("reading signals", &e))?
            {
                match received.signal {
                    Signal::CHLD => {}
                    // GNU parallel: on SIGHUP finish running jobs, start no new ones.
                    Signal::HUP => self.tally.hang_up(),
                    // GNU parallel: SIGUSR1 lists the running jobs.
                    Signal::USR1 => {
                        let listing = self.jobs.listing(self.tally.done());
                        self.out.announce(listing.as_bytes());
                    }
                    signal => return Ok(self.die_of(signal)),
                }
            }
            self.jobs.reap(&mut self.out)?;
            let hosts: Vec<(PlaceId, String)> = if self.cfg.limit.is_some() {
                let places = self.backend.places();
                self.jobs
                    .places_running()
                    .into_iter()
                    .map(|p| (p, places[p].name.clone()))
                    .collect()
            } else {
                Vec::new()
            };
            let watch = self.gate.watch(self.jobs.len(), &hosts);
            for place in watch.kill_youngest {
                self.jobs.kill_youngest(place);
            }
            match watch.memory {
                Some(Memory::RunOldest(n)) => self.jobs.run_oldest(n),
                Some(Memory::ResumeOne) => self.jobs.resume_one(),
                None => {}
            }
            self.jobs.enforce_timeouts();
            while let Some(finished) = self.jobs.next_finished(&mut self.out)? {
                self.finish(finished)?;
            }
            if self.tally.kill_now() && !self.jobs.is_empty() {
                self.stop_all();
            }
        }
        self.jobs.wait_for_killed_groups(&self.signals);
        self.backend.stopped();
        self.out.progress(self.counts(), true);
        Ok(End::Code(self.tally.exit_code()))
    }

    /// --round-robin: once every slot runs a job, the blocks go to the
    /// running jobs; at the end of stdin their pipes close.
    fn hand_out_blocks(&mut self) {
        while !self.slots.any_free() && !self.tally.stopping() {
            let Some(block) = self.source.take_block() else {
                break;
            };
            if let Err(block) = self.jobs.give_block(block) {
                self.source.put_back_block(block);
                break;
            }
        }
        if self.source.is_done() || self.tally.stopping() {
            self.jobs.end_of_blocks();
        }
    }

    /// --tty, -o: the oldest running job's group gets the terminal: it
    /// reads it, so it must be the foreground group (a job in another
    /// group that reads it is stopped by SIGTTIN until its turn). A job
    /// that read before its turn was stopped: continued, it reads again,
    /// now in the foreground.
    fn hand_terminal_on(&mut self) {
        let (Some(terminal), Some(pid)) = (&self.terminal, self.jobs.oldest_running_pid()) else {
            return;
        };
        let _ = terminal.give_to(pid);
        let _ = proc::signal_group(pid, Signal::CONT);
        self.terminal_holder = Some(pid);
    }

    /// Starts one job: a placeholder for --resume and --dry-run, else the
    /// back-end's command, spawned. With no slot it may take now (busy
    /// hosts, or --limit said no) it goes back to the queue.
    fn start(&mut self, spec: JobSpec) -> Result<(), Failure> {
        let seq = spec.seq;
        if self.out.resumed(seq) {
            // Done in an earlier run; keep -k's order moving.
            return self.out.placeholder(seq, None);
        }
        let places = self.backend.places();
        let Some((slot, place)) =
            self.placement
                .slot_for(&spec, places, &mut self.slots, &mut self.gate)
        else {
            // A job bound to busy hosts waits for one of them (--onall,
            // --hostgroups).
            self.pinned_waiting = spec.place.is_some() || spec.groups.is_some();
            self.held_back = true;
            self.source.requeue(spec);
            return Ok(());
        };
        self.gate.started();
        let host = self.backend.places()[place].name.clone();
        let fill = Fill {
            total: self.source.total(),
            perl: self.perl.as_ref(),
            ..Fill::of(&spec.values, seq, slot, &host)
        };
        if !self.cfg.filters.is_empty() {
            let at = crate::perl::Context {
                seq,
                slot,
                total: fill.total,
            };
            let holds = |filter: &crate::template::Template| {
                let code = filter.fill_text(fill);
                self.perl.as_ref().is_some_and(|perl| perl.holds(&code, at))
            };
            if !self.cfg.filters.iter().all(holds) {
                // Filtered out: no job, but its turn passes (-k's order).
                self.slots.put(slot);
                return self.out.placeholder(seq, None);
            }
        }
        for (text, out) in &self.cfg.templates {
            let path =
                std::path::PathBuf::from(std::ffi::OsString::from_vec(out.fill_text(fill).into()));
            std::fs::write(&path, text.fill_text(fill)).map_err(|e| {
                Failure::io(
                    Exit::Error,
                    format!("writing --template {}", path.display()),
                    &e,
                )
            })?;
        }
        let tag = self.cfg.tag_of(fill);
        let invocation = self.cfg.invocation_of(fill);
        let command_line = invocation.display();
        if self.cfg.dry_run {
            self.slots.put(slot);
            let mut line = Vec::from(command_line);
            for _ in 0..self.cfg.shell_quote {
                line = crate::template::gnu_shell_quote(&line).into();
            }
            line.push(b'\n');
            return self.out.placeholder(seq, Some(line));
        }
        if self.cfg.interactive && !confirmed(&mut self.prompt, &command_line)? {
            // Declined: no job, but its turn passes (-k's order).
            self.slots.put(slot);
            return self.out.placeholder(seq, None);
        }
        let launch = Launch {
            spec: &spec,
            place,
            invocation: &invocation,
            fill,
        };
        if self.cfg.show_command_stderr {
            self.out.announce(&command_line);
        }
        let spawn = match self.backend.prepare(&launch) {
            Ok(spawn) => spawn,
            Err(failure) => match Shortage::of(failure.errno) {
                Some(shortage) => return self.short_of(shortage, spec, slot, &failure.message),
                None => return Err(failure),
            },
        };
        let (program, framed) = (spawn.program, spawn.framed);
        let mut command = spawn.command;
        if self.cfg.remote.hostgroups {
            let (host, arg) = self
                .placement
                .group_names(&spec, place, self.backend.places());
            command.env("PARALLEL_HOSTGROUPS", host);
            command.env("PARALLEL_ARGHOSTGROUPS", arg);
        }
        // GNU parallel's variables, in place in our environment (job_env.rs).
        self.job_env.set(seq, slot);
        match self
            .jobs
            .spawn(spec, (slot, place), command_line, command, spawn.feed)
        {
            Ok(()) => {
                self.out.open(slot, seq, tag, framed);
                if self.terminal_holder.is_none() {
                    self.hand_terminal_on();
                }
                Ok(())
            }
            Err(not) => {
                let not = *not;
                if let Some(shortage) = Shortage::of(not.err.raw_os_error()) {
                    return self.short_of(shortage, not.spec, slot, &not.err.to_string());
                }
                // The job could not start: a failed job with the shell's
                // code, and a line in its place in the output.
                self.slots.put(slot);
                let (code, why) = proc::spawn_error(&program, &not.err);
                let record = Record::not_started(not.spec, not.command_line, host, code);
                let line = format!("pool-run: job {seq}: {why}\n");
                self.settle(slot, record, Captured::message(line, tag))
            }
        }
    }

    /// A start ran short of descriptors or processes: not the job's
    /// failure. It goes back to the queue and starts once a running job
    /// has ended (the gate lowers the jobs at once). With nothing running
    /// no job can ever start: the run ends, 255 and one line.
    fn short_of(
        &mut self,
        shortage: Shortage,
        spec: JobSpec,
        slot: usize,
        why: &str,
    ) -> Result<(), Failure> {
        self.slots.put(slot);
        self.source.requeue(spec);
        if self.jobs.is_empty() {
            return Err(Failure::new(
                Exit::Error,
                format!(
                    "cannot start even one job: out of {} ({why})",
                    shortage.describe()
                ),
            ));
        }
        self.gate.short_of(shortage, self.jobs.len());
        Ok(())
    }

    /// A job's process ended: the back-end says whether it ran; if it did,
    /// it is settled, else it goes back to the queue.
    fn finish(&mut self, finished: Finished) -> Result<(), Failure> {
        let Finished {
            slot,
            place,
            mut record,
        } = finished;
        self.gate.job_ended();
        self.pinned_waiting = false;
        if let Some((spec, cpus)) = &self.cfg.jobs_file
            && self.backend.places().len() == 1
        {
            // E6: -j FILE is read again as each job ends.
            self.slots.resize(spec.resolve(*cpus));
        }
        if let Some(terminal) = &self.terminal {
            let _ = terminal.take_back();
            self.terminal_holder = None;
            self.hand_terminal_on();
        }
        let mut captured = self.out.close(slot, record.exit)?;
        let verdict = self.backend.conclude(Ended {
            spec: &record.spec,
            place,
            exit: record.exit,
            timed_out: record.timed_out,
            captured: &mut captured,
            jobs_done: self.tally.done(),
        })?;
        match verdict {
            Verdict::Lost { drop_place } => {
                if drop_place {
                    self.slots.drop_place(place);
                }
                record.host = self.backend.places()[place].name.clone();
                self.out.timeline(slot, &record, Outcome::Retried);
                self.slots.put(slot);
                self.source.requeue(record.spec);
                Ok(())
            }
            Verdict::Ran { host } => {
                self.slots.put(slot);
                record.host = host;
                self.settle(slot, record, captured)
            }
        }
    }

    /// A job ended: run it again, or count it and hand it to the output.
    fn settle(&mut self, slot: usize, record: Record, captured: Captured) -> Result<(), Failure> {
        if self.out.reader_gone(record.exit) {
            // Nobody reads any more: stop quietly, as on a broken pipe.
            return Err(Failure::quiet(0u8));
        }
        let retry = self.tally.wants_retry(&record);
        self.out
            .timeline(slot, &record, Outcome::of(&record, retry));
        if record.timed_out {
            note(format_args!(
                "warning: this job was killed because it timed out: {}",
                record.command
            ));
        }
        if retry {
            self.source.retry(record.spec.next_attempt());
            return Ok(());
        }
        let was_stopping = self.tally.stopping();
        self.tally.count(&record);
        self.out.record(&record, captured)?;
        // GNU parallel's notes under --halt, after the job's own output.
        if let Some(what) = self.tally.halt_note(&record) {
            note(format_args!("this job {what}: {}", record.command));
        }
        if !was_stopping && self.tally.stop() == Stop::Soon(Why::Halt) && !self.jobs.is_empty() {
            note(format_args!(
                "starting no more jobs; waiting for {} jobs to finish",
                self.jobs.len()
            ));
        }
        self.out.progress(self.counts(), false);
        Ok(())
    }

    fn counts(&self) -> Counts {
        Counts {
            done: self.tally.done(),
            running: self.jobs.len(),
            failed: self.tally.failed(),
        }
    }

    /// Ctrl-C, SIGTERM, `--halt now` or an error: every job's group goes,
    /// and nothing of the run stays queued.
    fn stop_all(&mut self) {
        let stopped = self.jobs.stop_all(&self.signals, &mut self.out);
        for job in &stopped {
            self.out.timeline(job.slot, &job.record, Outcome::Killed);
        }
        self.backend.stopped();
    }

    /// Ctrl-C or SIGTERM: stop the jobs, say what was done.
    fn die_of(&mut self, signal: Signal) -> End {
        let stopped = self.jobs.len();
        self.stop_all();
        let summary = format!(
            "pool-run: stopped by {signal}: {} jobs done ({} failed), {stopped} running jobs stopped\n",
            self.tally.done(),
            self.tally.failed()
        );
        let _ = io::stderr().write_all(summary.as_bytes());
        End::Signal(signal)
    }
}
