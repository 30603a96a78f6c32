//! The Cli resolved into the Config, once, before anything runs: every
//! flag's value and the checks between flags (each value's own rules are
//! in `resolve.rs`).

use std::os::unix::ffi::OsStringExt;

use bstr::BString;
use common::cli::Failure;

use super::resolve::{
    batch_of, check_pipe_flags, compression_of, csv_of, delimiter_of, fit_of, fold_old_spellings,
    jobs_of, output_mode_of, shell_words, slurm_of, spread_of, strings_of, template_file,
};
use super::*;
use crate::backend::ssh::parse_logins;
use crate::cli::{Cli, unescape};
use crate::exit::Exit;
use crate::input::{RecordSyntax, Separators, SourceSpec, split_sources};
use crate::template::Template;

impl Config {
    pub fn from_cli(mut cli: Cli) -> Result<Config, Failure> {
        fold_old_spellings(&mut cli);
        let usage = |e: String| Failure::new(Exit::Error, format!("{e} (see --help)"));
        let words: Vec<BString> = cli
            .command
            .iter()
            .map(|w| BString::from(w.clone().into_vec()))
            .collect();
        let separators = Separators {
            args: BString::from(cli.arg_sep.as_str()),
            files: BString::from(cli.arg_file_sep.as_str()),
        };
        let (mut command, mut sources) = split_sources(&words, &separators).map_err(usage)?;
        if cli.retry_failed {
            // GNU parallel: the joblog's own commands are the input, run as
            // command lines; the ones that succeeded are skipped below.
            let path = cli.joblog.as_deref().unwrap_or_default();
            let path = path.strip_prefix('+').unwrap_or(path);
            let logged = crate::output::report::logged_commands(std::path::Path::new(path))
                .map_err(|e| {
                    Failure::io(Exit::Error, format!("reading the joblog '{path}'"), &e)
                })?;
            command.clear();
            sources = vec![SourceSpec {
                source: crate::input::Source::Args(logged),
                linked: crate::input::Link::Product,
                skip_header: false,
            }];
        }
        for file in &cli.arg_file {
            sources.push(SourceSpec {
                source: crate::input::Source::File(file.clone()),
                linked: crate::input::Link::Product,
                skip_header: false,
            });
        }
        let delimiter = delimiter_of(&cli).map_err(usage)?;
        // --pipe's header is the input's first lines, given to every job.
        // With --pipe and --pipe-part the header is the data's, given to
        // every job; it names nothing.
        let pipe_header = cli.pipes.pipe || cli.pipes.pipe_part;
        let names = match cli.header {
            Some(_) if pipe_header => Vec::new(),
            Some(_) if sources.is_empty() => {
                return Err(usage(
                    "--header needs ::: or :::: sources (stdin records have no name line here)"
                        .to_string(),
                ));
            }
            Some(_) => {
                let syntax = RecordSyntax {
                    delimiter,
                    eof: None,
                    continued: false,
                };
                crate::header::take_names(&mut sources, cli.colsep.as_ref(), &syntax)
                    .map_err(usage)?
            }
            None => Vec::new(),
        };
        let command: Vec<BString> = command
            .iter()
            .map(|w| crate::header::rename(w, &names))
            .collect();
        let tagstring = cli
            .display
            .tagstring
            .as_deref()
            .or(cli.display.ctagstring.as_deref())
            .map(|t| crate::header::rename(t.as_bytes(), &names));
        if cli.link {
            // --link: every source paired with the one before it.
            for source in sources.iter_mut().skip(1) {
                source.linked = crate::input::Link::Wrap;
            }
        }
        check_pipe_flags(&cli, &sources).map_err(usage)?;
        let group_by = cli
            .pipes
            .group_by
            .as_ref()
            .map(|value| crate::group_by::GroupBy {
                value: value.clone(),
                colsep: cli
                    .colsep
                    .as_ref()
                    .map_or_else(|| "\t".to_string(), |re| re.as_str().to_string()),
                marker: crate::group_by::marker(),
            });
        let hosts = parse_logins(&cli.remote.sshlogin, &cli.remote.sshloginfile).map_err(usage)?;
        let slurm = slurm_of(&cli)?;
        if slurm.is_some() && (cli.display.ungroup || cli.display.line_buffer) {
            return Err(Failure::new(
                Exit::Error,
                "-u and --line-buffer do not work with --slurm yet (see --help)",
            ));
        }
        let strings = strings_of(&cli).map_err(usage)?;
        let csv = csv_of(&cli).map_err(usage)?;
        // --transfer is --transferfile {}.
        let transfer_all = [String::from("{}")];
        let transfer_all: &[String] = if cli.remote.transfer {
            &transfer_all
        } else {
            &[]
        };
        let files = |list: &[String], extra: &[String]| -> Vec<Template> {
            list.iter()
                .chain(extra)
                .chain(&cli.remote.trc)
                .map(|f| Template::text(f.as_bytes()))
                .collect()
        };
        // --group-by: each group starts with its marker, no record end.
        let boundary = match &group_by {
            Some(group) => crate::boundary::Boundary {
                recend: Vec::new(),
                recstart: group.marker.clone().into_bytes(),
                regexp: None,
            },
            None if cli.pipes.regexp => crate::boundary::Boundary::of_regexp(
                cli.pipes.recend.as_deref(),
                cli.pipes.recstart.as_deref(),
                cli.pipes.pipe_part,
            )
            .map_err(|e| Failure::new(Exit::Error, e))?,
            None => crate::boundary::Boundary::of(
                cli.pipes.recend.as_deref().map(unescape),
                cli.pipes.recstart.as_deref().map(unescape),
            ),
        };
        Ok(Config {
            jobs: jobs_of(&cli, slurm.as_ref()),
            jobs_given: cli.jobs.is_some(),
            jobs_file: match &cli.jobs {
                Some(spec @ crate::cli::JobsSpec::File(_)) => Some((
                    spec.clone(),
                    std::thread::available_parallelism().map_or(1, |n| n.get()),
                )),
                _ => None,
            },
            keep_order: cli.keep_order && !cli.no_keep_order,
            output: output_mode_of(&cli),
            tag: match (&tagstring, cli.display.tag || cli.display.ctag) {
                (Some(text), _) => Some(Tag::Text(Template::text_with(text, &strings))),
                (None, true) => Some(Tag::Values),
                (None, false) => None,
            },
            remote: Remote {
                hosts,
                hostgroups: cli.remote.hostgroups,
                transfer: files(&cli.remote.transferfile, transfer_all),
                fetch: files(&cli.remote.return_file, &[]),
                rsync_opts: cli
                    .remote
                    .rsync_opts
                    .clone()
                    .unwrap_or_else(|| "-rlDR".to_string()),
                ssh_delay: cli.remote.ssh_delay,
                cleanup: cli.remote.cleanup || !cli.remote.trc.is_empty(),
                env: cli.env.clone(),
                base_files: cli
                    .remote
                    .basefile
                    .iter()
                    .map(|f| BString::from(f.as_str()))
                    .collect(),
                ssh: shell_words("--ssh", &cli.remote.ssh)?,
            },
            slurm,
            dry_run: cli.dry_run || cli.shell_quote > 0,
            shell_quote: cli.shell_quote,
            records: RecordSyntax {
                delimiter,
                eof: cli.eof.as_deref().map(BString::from),
                // xargs' -L: a line ending in a blank goes on with the next.
                continued: cli.max_lines.is_some() && !cli.pipes.pipe,
            },
            show_command_stdout: cli.display.verbose_stdout && !cli.display.silent,
            total_jobs: cli.total_jobs,
            spread_fit: !cli.xargs_all,
            fit: fit_of(&cli, &command),
            compression: compression_of(&cli),
            files_in: cli.display.files.then(|| {
                cli.display
                    .tmpdir
                    .clone()
                    .unwrap_or_else(std::env::temp_dir)
            }),
            skip_first_line: cli.skip_first_line,
            process_slot_var: cli.process_slot_var.clone(),
            show_command_stderr: cli.display.verbose,
            template: (!command.is_empty()).then(|| {
                let run = if cli.quote {
                    crate::template::Run::Direct
                } else if cli.shell {
                    crate::template::Run::Shell
                } else {
                    crate::template::Run::AsNeeded
                };
                Template::parse_full(&command, run, &strings)
            }),
            tty_stdin: cli.tty || cli.open_tty,
            interactive: cli.interactive,
            color_failed: cli.display.color_failed,
            color: cli.display.color || cli.display.ctag || cli.display.ctagstring.is_some(),
            onall: cli.remote.onall || cli.remote.nonall,
            nonall: cli.remote.nonall,
            templates: cli
                .template
                .iter()
                .map(|spec| template_file(spec, &strings))
                .collect::<Result<_, _>>()
                .map_err(usage)?,
            filters: cli
                .filter
                .iter()
                .map(|code| Template::text_with(code.as_bytes(), &strings))
                .collect(),
            perl_codes: strings.codes.take(),
            sources,
            timeout: cli
                .timeout
                .filter(|t| *t != crate::cli::Timeout::After(std::time::Duration::ZERO)),
            // GNU parallel: --retries 0 is no limit; without it, one run.
            max_runs: match cli.retries {
                None => Some(1),
                Some(0) => None,
                Some(n) => Some(n),
            },
            delay: cli.delay.unwrap_or_default(),
            halt: cli.halt,
            joblog: cli
                .joblog
                .as_deref()
                .map(|path| match path.strip_prefix('+') {
                    Some(rest) => Joblog {
                        path: rest.into(),
                        append: true,
                    },
                    None => Joblog {
                        path: path.into(),
                        append: false,
                    },
                }),
            resume: match (cli.resume, cli.resume_failed || cli.retry_failed) {
                (true, _) => Resume::Finished,
                (false, true) => Resume::Succeeded,
                (false, false) => Resume::No,
            },
            batch: batch_of(&cli),
            spread: spread_of(&cli),
            tee: cli.pipes.tee,
            pipe: (cli.pipes.pipe && !cli.pipes.tee && spread_of(&cli).is_none()
                || cli.pipes.pipe_part)
                .then(|| PipeSpec {
                    block: match cli.pipes.block {
                        Some(crate::cli::BlockSize::Bytes(bytes)) => bytes,
                        _ => 1024 * 1024,
                    },
                    // GNU parallel: --pipe-part cuts 10 blocks per job slot
                    // unless told a size, one with --round-robin.
                    part_blocks_per_slot: match cli.pipes.block {
                        _ if !cli.pipes.pipe_part => None,
                        _ if cli.pipes.round_robin => Some(1),
                        Some(crate::cli::BlockSize::PerSlot(n)) => Some(n),
                        Some(crate::cli::BlockSize::Bytes(_)) => None,
                        None => Some(10),
                    },
                    block_timeout: cli.pipes.block_timeout.filter(|t| !t.is_zero()),
                    // GNU parallel: --pipe -N0 is one block of all of stdin.
                    records: cli.max_records.filter(|&n| n > 0).map(|n| n as usize),
                    // --group-by: each group starts with its marker, no record end.
                    boundary,
                    part: cli.pipes.pipe_part,
                    named: match (cli.pipes.cat, cli.pipes.fifo) {
                        (true, _) => NamedBlocks::File,
                        (false, true) => NamedBlocks::Fifo,
                        (false, false) => NamedBlocks::No,
                    },
                    round_robin: cli.pipes.round_robin,
                    lines: cli.max_lines.map_or(1, |n| n as usize),
                    remove_separators: cli.pipes.remove_rec_sep || group_by.is_some(),
                    header: cli.header.clone(),
                    group_by: group_by.clone(),
                }),
            trim: Trim::of(cli.trim.as_deref()),
            workdir: cli.wd.as_ref().map(|dir| {
                if dir.as_os_str() == "..." {
                    WorkDir::Fresh
                } else {
                    WorkDir::At(dir.clone())
                }
            }),
            nice: cli.nice,
            shuffle: cli.shuf,
            termseq: cli.termseq,
            results: cli.display.results,
            timeline: cli.display.timeline,
            csv,
            colsep: cli.colsep,
            // -u: jobs write to the terminal themselves; an in-place bar
            // would be drawn over their lines.
            bar: crate::progress::BarMode::resolve(
                cli.display.bar.as_deref(),
                !cli.display.ungroup && crate::progress::BarMode::stderr_is_terminal(),
            ),
            memfree: cli.admission.memfree.map(|n| n as u64),
            load: cli.admission.load,
            noswap: cli.admission.noswap,
            memsuspend: cli.admission.memsuspend.map(|n| n as u64),
            limit: cli.admission.limit.as_deref().map(|text| {
                crate::limit::LimitSpec::parse(text, |n| {
                    crate::cli::parse_size(n).ok().map(|n| n as u64)
                })
            }),
        })
    }
}
