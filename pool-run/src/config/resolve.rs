//! Each flag's value resolved from the command line: the job count, the
//! record syntax, the replacement strings, the checks between flags, the
//! files read up front (--template). `Config::from_cli` calls these
//! and keeps what they give.

use bstr::BString;
use common::cli::Failure;

use super::{Batch, OutputMode, Slurm};
use crate::cli::{Cli, unescape};
use crate::exit::Exit;
use crate::input::SourceSpec;
use crate::template::{Parens, Renamed, Strings, Template};

/// The replacement strings besides the defaults: -I and the other renames,
/// --plus, --rpl.
pub(super) fn strings_of(cli: &Cli) -> Result<Strings, String> {
    let renames = [
        (&cli.strings.replace, Renamed::Whole),
        (&cli.strings.extension_replace, Renamed::NoExtension),
        (&cli.strings.basename_replace, Renamed::Basename),
        (&cli.strings.dirname_replace, Renamed::Dirname),
        (
            &cli.strings.basename_extension_replace,
            Renamed::BasenameNoExtension,
        ),
        (&cli.strings.seq_replace, Renamed::Seq),
        (&cli.strings.slot_replace, Renamed::Slot),
    ];
    let mut renamed: Vec<(BString, Renamed)> = renames
        .into_iter()
        .filter_map(|(token, what)| {
            token
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(|t| (BString::from(t), what))
        })
        .collect();
    // The longest token first: `{}` must not win over `{}.x` when both are tokens.
    renamed.sort_by_key(|(token, _)| std::cmp::Reverse(token.len()));
    let rpls = cli
        .strings
        .rpl
        .iter()
        .map(|definition| crate::perl::Rpl::parse(definition))
        .collect::<Result<Vec<_>, String>>()?;
    if cli.strings.parens.as_deref().is_some_and(|p| p.len() < 2) {
        return Err("--parens wants a left and a right half, like {==}".to_string());
    }
    Ok(Strings {
        plus: cli.strings.plus,
        renamed,
        rpls,
        codes: Default::default(),
        parens: cli
            .strings
            .parens
            .as_deref()
            .map(Parens::of)
            .unwrap_or_default(),
    })
}

/// --slurm: how each job runs as a step (inside an allocation when
/// SLURM_JOB_ID is set).
pub(super) fn slurm_of(cli: &Cli) -> Result<Option<Slurm>, Failure> {
    if !cli.remote.slurm {
        return Ok(None);
    }
    Ok(Some(Slurm {
        cpus_per_job: cli.remote.cpus_per_job,
        extra_args: shell_words(
            "--slurm-args",
            cli.remote.slurm_args.as_deref().unwrap_or(""),
        )?,
        in_allocation: std::env::var_os("SLURM_JOB_ID").is_some(),
        per_job: cli.remote.slurm_allocation == "per-job",
    }))
}

/// A flag's value split into words as a POSIX shell would (quotes and
/// backslashes), as GNU parallel splits `--ssh`.
pub(super) fn shell_words(flag: &str, text: &str) -> Result<Vec<String>, Failure> {
    let bad = |why: &str| Failure::new(Exit::Error, format!("{flag} '{text}': {why} (see --help)"));
    let words = shlex::split(text).ok_or_else(|| bad("unbalanced quotes"))?;
    if flag == "--ssh" && words.is_empty() {
        return Err(bad("no command"));
    }
    Ok(words)
}

/// Jobs at once: -j, else under --slurm inside an allocation as many as it
/// has tasks, else the CPU count.
pub(super) fn jobs_of(cli: &Cli, slurm: Option<&Slurm>) -> usize {
    let allocation_tasks = || {
        ["SLURM_NTASKS", "SLURM_NPROCS"]
            .iter()
            .find_map(|v| std::env::var(v).ok()?.parse::<usize>().ok())
            .filter(|n| *n > 0)
    };
    let cpus = || {
        let counts = crate::machine::cpus();
        if cli.machine.use_sockets_instead_of_threads || cli.machine.use_cpus_instead_of_cores {
            counts.sockets
        } else if cli.machine.use_cores_instead_of_threads {
            counts.cores
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    };
    if cli.tty {
        // --tty: one job at a time has the terminal.
        return 1;
    }
    match &cli.jobs {
        Some(spec) => spec.resolve(cpus()),
        None => slurm
            .filter(|s| s.in_allocation)
            .and_then(|_| allocation_tasks())
            .unwrap_or_else(cpus),
    }
}

/// The byte that ends an input record: NUL (-0), -d's (one byte, escapes
/// allowed), or newline.
pub(super) fn delimiter_of(cli: &Cli) -> Result<u8, String> {
    if cli.null {
        return Ok(0);
    }
    let Some(text) = &cli.delimiter else {
        return Ok(b'\n');
    };
    match crate::cli::unescape(text).as_slice() {
        [byte] => Ok(*byte),
        _ => Err(format!(
            "-d '{text}': the delimiter must be one byte (escapes: \\n, \\t, \\0)"
        )),
    }
}

/// The block flags need --pipe or --pipe-part, and --pipe-part needs
/// files to cut (GNU parallel: `-a FILE`) and cuts by size only.
pub(super) fn check_pipe_flags(cli: &Cli, sources: &[SourceSpec]) -> Result<(), String> {
    let blocks = cli.pipes.pipe || cli.pipes.pipe_part;
    for (given, flag) in [
        (cli.pipes.block.is_some(), "--block"),
        (cli.pipes.recend.is_some(), "--recend"),
        (cli.pipes.recstart.is_some(), "--recstart"),
        (cli.pipes.regexp, "--regexp"),
        (cli.pipes.cat, "--cat"),
        (cli.pipes.fifo, "--fifo"),
    ] {
        if given && !blocks {
            return Err(format!("{flag} needs --pipe or --pipe-part"));
        }
    }
    let elsewhere =
        !(cli.remote.sshlogin.is_empty() && cli.remote.sshloginfile.is_empty()) || cli.remote.slurm;
    if cli.pipes.tee && (elsewhere || cli.pipes.pipe_part || sources.is_empty()) {
        return Err(
            "--tee gives all of stdin to one job per ::: value, on this machine: give ::: values, not -S, --slurm or --pipe-part"
                .to_string(),
        );
    }
    if (cli.pipes.shard.is_some() || cli.pipes.bin.is_some()) && elsewhere {
        return Err(
            "--shard and --bin feed jobs on this machine: not with -S or --slurm".to_string(),
        );
    }
    if (cli.pipes.cat || cli.pipes.fifo) && elsewhere {
        return Err(
            "--cat and --fifo make files on this machine: not with -S or --slurm".to_string(),
        );
    }
    if matches!(cli.pipes.block, Some(crate::cli::BlockSize::PerSlot(_))) && !cli.pipes.pipe_part {
        return Err("--block -N (blocks per job slot) works with --pipe-part".to_string());
    }
    if cli.pipes.pipe_part {
        if cli.max_records.is_some() {
            return Err("--pipe-part cuts by --block; -N works with --pipe".to_string());
        }
        let files = sources.iter().all(
            |s| matches!(&s.source, crate::input::Source::File(path) if path.as_os_str() != "-"),
        );
        if sources.is_empty() || !files {
            return Err(
                "--pipe-part cuts files: give them with -a FILE (or :::: FILE)".to_string(),
            );
        }
    }
    Ok(())
}

/// --shard / --bin: the rule, VAL, and the --colsep GNU's sharder splits
/// at (`,` when not given).
pub(super) fn spread_of(cli: &Cli) -> Option<crate::spread::Spread> {
    use crate::spread::{Rule, Spread};
    let (rule, value) = match (&cli.pipes.shard, &cli.pipes.bin) {
        (Some(value), _) => (Rule::Hash, value),
        (None, Some(value)) => (Rule::Modulo, value),
        (None, None) => return None,
    };
    Some(Spread {
        rule,
        value: value.clone(),
        colsep: cli
            .colsep
            .as_ref()
            .map_or_else(|| ",".to_string(), |re| re.as_str().to_string()),
    })
}

/// --csv: the field separator, --colsep's one character or `,`.
pub(super) fn csv_of(cli: &Cli) -> Result<Option<u8>, String> {
    if !cli.csv {
        return Ok(None);
    }
    match cli.colsep.as_ref().map(regex::bytes::Regex::as_str) {
        None => Ok(Some(b',')),
        Some(sep) => match unescape(sep).as_slice() {
            [byte] => Ok(Some(*byte)),
            _ => Err(format!("--csv: --colsep '{sep}' is not one character")),
        },
    }
}

/// --template FILE=OUT: FILE read now; its text and OUT are filled in per job.
pub(super) fn template_file(spec: &str, strings: &Strings) -> Result<(Template, Template), String> {
    let (file, out) = spec
        .split_once('=')
        .ok_or_else(|| format!("--template '{spec}': want FILE=OUT"))?;
    let text = std::fs::read(file).map_err(|e| format!("--template: reading {file} ({e})"))?;
    Ok((
        Template::text_with(&text, strings),
        Template::text_with(out.as_bytes(), strings),
    ))
}

/// -n N given with -m or -X: at most N records per job (0: -m/-X's
/// batches, none of their records on the command line, as GNU parallel).
fn fit_cap_of(cli: &Cli) -> Option<usize> {
    let fits = cli.xargs_context || cli.xargs_words;
    cli.max_args.filter(|_| fits).map(|n| n as usize)
}

/// -s N: a command line stays under N bytes, counting the command's words
/// as written and a space before each value (GNU parallel's count); and
/// -n N's cap under -m/-X.
pub(super) fn fit_of(cli: &Cli, command: &[BString]) -> crate::source::Fit {
    let cap = fit_cap_of(cli);
    let Some(max) = cli.max_chars else {
        return crate::source::Fit {
            cap,
            ..crate::source::Fit::default()
        };
    };
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let command_len = command
        .iter()
        .map(|w| w.len() + 1)
        .sum::<usize>()
        .saturating_sub(1);
    crate::source::Fit {
        budget: max.saturating_sub(command_len + 1).max(1),
        command_len,
        // GNU parallel: one value per job that does not fit -s is an error
        // even without -x; -X/-m/--xargs only with it.
        exit_past: (cli.exit_if_too_long || matches!(batch_of(cli), Batch::One)).then_some(max),
        cap,
    }
}

/// How many records make a job: -n, -X, -m, or one.
pub(super) fn batch_of(cli: &Cli) -> Batch {
    let lines = cli.max_lines;
    // -n N with -m/-X: -m/-X's batches of at most N (fit_of keeps the N).
    let capped_fit = fit_cap_of(cli).is_some();
    match (
        cli.max_args
            .or(cli.max_records)
            .or(lines)
            .filter(|_| !capped_fit),
        cli.xargs_context,
        cli.xargs_words || cli.xargs_all,
    ) {
        (Some(n), _, _) if !cli.pipes.pipe && !cli.pipes.pipe_part => Batch::Max(n as usize),
        (None, true, _) => Batch::Fit { context: true },
        (None, false, true) => Batch::Fit { context: false },
        _ => Batch::One,
    }
}

/// The output mode the flags choose (clap keeps them exclusive).
pub(super) fn output_mode_of(cli: &Cli) -> OutputMode {
    if cli.display.ungroup || cli.tty {
        OutputMode::Ungrouped
    } else if cli.display.latest_line {
        OutputMode::LatestLine
    } else if cli.display.line_buffer {
        OutputMode::LineBuffer
    } else if cli.display.json {
        OutputMode::Json
    } else {
        OutputMode::Grouped
    }
}

/// xargs' old spellings GNU parallel keeps, as their new ones: -e is -E
/// (an empty EOF string is none), -i is -I.
pub(super) fn fold_old_spellings(cli: &mut Cli) {
    // -l takes a number only if one follows, as GNU parallel's: a word that
    // is not a number starts the command (clap took it for -l's value).
    if let Some(value) = cli.one_line.take() {
        let lines = value.to_str().and_then(|v| v.parse::<u32>().ok());
        if lines.is_none() {
            cli.command.insert(0, value);
        }
        cli.max_lines = Some(lines.unwrap_or(1).max(1));
    }
    if let Some(eof) = cli.eof_old.take().filter(|e| !e.is_empty()) {
        cli.eof = Some(eof);
    }
    if let Some(replace) = cli.strings.replace_old.take() {
        cli.strings.replace = Some(replace);
    }
    // GNU parallel: --group-by without --pipe-part means --pipe.
    if cli.pipes.group_by.is_some() && !cli.pipes.pipe_part {
        cli.pipes.pipe = true;
    }
}

/// --compress, --compress-program, --decompress-program, as GNU parallel
/// puts them together.
pub(super) fn compression_of(cli: &Cli) -> Option<crate::capture::Compression> {
    use crate::capture::Compression;
    if !cli.display.compress && cli.display.compress_program.is_none() {
        return None;
    }
    let chosen = match &cli.display.compress_program {
        Some(program) => Compression {
            compress: program.clone(),
            decompress: format!("{program} -dc"),
        },
        None => Compression::found_on_path(),
    };
    Some(Compression {
        decompress: cli
            .display
            .decompress_program
            .clone()
            .unwrap_or(chosen.decompress),
        compress: chosen.compress,
    })
}
