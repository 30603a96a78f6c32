//! The tutorial's game: a Ping process and a Pong process, both children of
//! pingpong, print their words until `count` words in total.
//!
//! - The default keeps the counter in the messages: each player receives it,
//!   prints, and sends it on, one channel per direction, so the words
//!   alternate and the total is exact.
//! - `--naive` is the tutorial's bug: each process counts its own copy of a
//!   global counter, so each prints `count` words.
//! - `--shared-queue` is the tutorial's fix as written: one queue both get
//!   from and put to. The total is right, but a player can take back its own
//!   message, so the order is not guaranteed.
//!
//! The parent only supervises: if a player dies it stops the other and says
//! which one died; on Ctrl-C it stops both.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::cli::{Failure, print};
use common::exit::ChildExit;
use common::ipc::Queue;
use common::proc::{fork_child, signal_process, wait_child};
use common::signal::{Signal, SignalWatcher};

use crate::cli::GameArgs;
use crate::exit::Exit;
use crate::transport::{self, End};

/// Child exit code: the channel broke (the other player is gone).
const CHANNEL_BROKEN: i32 = 3;
/// Child exit code: stdout failed.
const OUTPUT_FAILED: i32 = 4;
/// Child exit code: stdout's reader has gone (`pingpong | head`): the
/// reader's choice, so the game stops quietly.
const READER_GONE: i32 = 5;

/// The tutorial's global `counter`. After fork each player has its own copy.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Prints a player's word; on failure, the player's exit code.
fn say(word: &str) -> Result<(), i32> {
    match common::cli::print(Exit::Failed, word) {
        Ok(()) => Ok(()),
        // print's broken-pipe policy: a quiet failure with no words.
        Err(failure) if failure.message.is_empty() => Err(READER_GONE),
        Err(_) => Err(OUTPUT_FAILED),
    }
}

fn pause(delay: Duration) {
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
}

/// One player of the default game. Player 0 serves first.
fn play(mut end: End, player: u32, word: &str, count: u64, delay: Duration) -> i32 {
    let mut counter = if player == 0 {
        0
    } else {
        match end.recv() {
            Ok(value) => value,
            Err(_) => return CHANNEL_BROKEN,
        }
    };
    loop {
        if counter >= count {
            // Pass the end on so the other player stops too; it may be gone.
            let _ = end.send(counter);
            return 0;
        }
        if let Err(code) = say(word) {
            return code;
        }
        counter += 1;
        pause(delay);
        if end.send(counter).is_err() {
            return CHANNEL_BROKEN;
        }
        counter = match end.recv() {
            Ok(value) => value,
            Err(_) => return CHANNEL_BROKEN,
        };
    }
}

/// The two players, as forked.
struct Players {
    pids: [u32; 2],
    names: [String; 2],
}

/// Forks both players for the default game.
fn start_game(args: &GameArgs) -> Result<Players, Failure> {
    let failed = |what: &str, err: io::Error| Failure::new(Exit::Failed, format!("{what} ({err})"));
    let (end_a, end_b) =
        transport::pair(args.transport).map_err(|e| failed("creating the channel", e))?;
    let count = u64::from(args.count);
    let [word_a, word_b] = args.words.0.clone();
    let b_slot = RefCell::new(Some(end_b));
    let pid_a = fork_child(|| {
        // Close our copy of the other player's end, so its death is EOF here.
        drop(b_slot.borrow_mut().take());
        play(end_a, 0, &word_a, count, args.delay)
    })
    .map_err(|e| failed("fork", e))?;
    let end_b = b_slot.borrow_mut().take();
    let pid_b = match end_b {
        Some(end_b) => fork_child(|| play(end_b, 1, &word_b, count, args.delay)),
        None => Err(io::Error::other("lost the second player's end")),
    };
    let pid_b = pid_b.map_err(|e| {
        let _ = signal_process(pid_a, Signal::KILL);
        let _ = wait_child(pid_a, true);
        failed("fork", e)
    })?;
    Ok(Players {
        pids: [pid_a, pid_b],
        names: args.words.0.clone(),
    })
}

/// `--naive`: both players loop on their own copy of COUNTER.
fn start_naive(args: &GameArgs) -> Result<Players, Failure> {
    let count = args.count;
    let mut pids = [0u32; 2];
    for (slot, word) in pids.iter_mut().zip(&args.words.0) {
        *slot = fork_child(|| {
            while COUNTER.load(Ordering::Relaxed) < count {
                if let Err(code) = say(word) {
                    return code;
                }
                COUNTER.fetch_add(1, Ordering::Relaxed);
                pause(args.delay);
            }
            0
        })
        .map_err(|e| Failure::new(Exit::Failed, format!("fork ({e})")))?;
    }
    Ok(Players {
        pids,
        names: args.words.0.clone(),
    })
}

/// `--shared-queue`: the tutorial's one queue. Each message is
/// `counter player`; a player that gets back its own message counts it.
/// Returns the players and the queue on which each reports that count.
fn start_shared_queue(args: &GameArgs) -> Result<(Players, Queue), Failure> {
    let failed = |what: &str, err: io::Error| Failure::new(Exit::Failed, format!("{what} ({err})"));
    let queue = Queue::new().map_err(|e| failed("creating the queue", e))?;
    let reports = Queue::new().map_err(|e| failed("creating the queue", e))?;
    queue
        .put(b"0 9")
        .map_err(|e| failed("starting the queue", e))?;
    let count = args.count;
    let mut pids = [0u32; 2];
    for (player, (slot, word)) in pids.iter_mut().zip(&args.words.0).enumerate() {
        let (queue, reports) = (&queue, &reports);
        *slot = fork_child(move || {
            let mut own_back = 0u32;
            loop {
                let Ok(Some(message)) = queue.get() else {
                    return CHANNEL_BROKEN;
                };
                let text = String::from_utf8_lossy(&message);
                let mut fields = text.split(' ');
                let counter: u32 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(count);
                if fields.next() == Some(&player.to_string()) {
                    own_back += 1;
                }
                if counter >= count {
                    // Leave the end for the other player, as the tutorial's
                    // parent does with queue.put(50).
                    let _ = queue.put(format!("{counter} 9").as_bytes());
                    let _ = reports.put(own_back.to_string().as_bytes());
                    return 0;
                }
                if let Err(code) = say(word) {
                    return code;
                }
                if queue
                    .put(format!("{} {player}", counter + 1).as_bytes())
                    .is_err()
                {
                    return CHANNEL_BROKEN;
                }
                pause(args.delay);
            }
        })
        .map_err(|e| failed("fork", e))?;
    }
    Ok((
        Players {
            pids,
            names: args.words.0.clone(),
        },
        reports,
    ))
}

/// How the supervision ended.
enum Ending {
    Finished,
    /// A player died or failed: (its name, pid, how).
    PlayerFailed(String, u32, ChildExit),
    /// Stdout's reader left (`| head`): both players stopped, quietly.
    ReaderGone,
    Interrupted(Signal),
}

fn describe(exit: ChildExit) -> String {
    match exit {
        ChildExit::Exited(CHANNEL_BROKEN_U8) => "lost its channel".to_string(),
        ChildExit::Exited(code) if i32::from(code) == OUTPUT_FAILED => {
            "could not write its word to stdout".to_string()
        }
        ChildExit::Exited(code) => format!("exited with {code}"),
        ChildExit::Signaled { signal, .. } => {
            let name = Signal::from_number(signal).map_or(signal.to_string(), Signal::name);
            format!("was killed by {name}")
        }
    }
}

const CHANNEL_BROKEN_U8: u8 = CHANNEL_BROKEN as u8;

/// Waits for both players. A player that dies gets its peer stopped at
/// once (eventfd and shm would never tell the peer); Ctrl-C stops both.
fn supervise(players: &Players, signals: &SignalWatcher) -> Result<Ending, Failure> {
    let mut exits: [Option<ChildExit>; 2] = [None, None];
    loop {
        // Ctrl-C reaches the players too: a pending interrupt explains their
        // deaths, so it is looked at first.
        while let Some(received) = signals
            .try_next()
            .map_err(|e| Failure::new(Exit::Failed, format!("reading signals ({e})")))?
        {
            if received.signal != Signal::CHLD {
                stop_all(players, &exits);
                return Ok(Ending::Interrupted(received.signal));
            }
        }
        for (i, pid) in players.pids.iter().enumerate() {
            if exits[i].is_none()
                && let Some((exit, _)) = wait_child(*pid, false).map_err(|e| {
                    Failure::new(Exit::Failed, format!("waiting for a player ({e})"))
                })?
            {
                exits[i] = Some(exit);
            }
        }
        // A broken channel means the peer is exiting: let it finish, so its
        // own exit (the reason) is known before the survivor's is judged.
        if exits.contains(&Some(ChildExit::Exited(CHANNEL_BROKEN_U8))) {
            settle_peers(players, &mut exits);
        }
        // The reader left: a broken channel or pipe after that is expected.
        if exits.contains(&Some(ChildExit::Exited(READER_GONE as u8))) {
            stop_all(players, &exits);
            return Ok(Ending::ReaderGone);
        }
        // A death by signal names the dead peer; a broken channel is only
        // the survivor noticing it.
        let failed = (0..2)
            .filter_map(|i| exits[i].filter(|e| !e.success()).map(|e| (i, e)))
            .min_by_key(|(_, e)| u8::from(e.signal().is_none()));
        if let Some((i, exit)) = failed {
            stop_all(players, &exits);
            return Ok(Ending::PlayerFailed(
                players.names[i].clone(),
                players.pids[i],
                exit,
            ));
        }
        if exits.iter().all(Option::is_some) {
            return Ok(Ending::Finished);
        }
        let received = signals
            .wait(None)
            .map_err(|e| Failure::new(Exit::Failed, format!("waiting for signals ({e})")))?;
        if let Some(received) = received.filter(|r| r.signal != Signal::CHLD) {
            stop_all(players, &exits);
            return Ok(Ending::Interrupted(received.signal));
        }
    }
}

/// Reaps the players still running that exit within a moment (a peer
/// whose channel end just closed is on its way out).
fn settle_peers(players: &Players, exits: &mut [Option<ChildExit>; 2]) {
    let give_up = std::time::Instant::now() + Duration::from_millis(200);
    while exits.iter().any(Option::is_none) && std::time::Instant::now() < give_up {
        for (i, pid) in players.pids.iter().enumerate() {
            if exits[i].is_none()
                && let Ok(Some((exit, _))) = wait_child(*pid, false)
            {
                exits[i] = Some(exit);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Kills and reaps every player still running.
fn stop_all(players: &Players, exits: &[Option<ChildExit>; 2]) {
    for (i, pid) in players.pids.iter().enumerate() {
        if exits[i].is_none() {
            let _ = signal_process(*pid, Signal::KILL);
            let _ = wait_child(*pid, true);
        }
    }
}

pub fn run(args: &GameArgs) -> Result<u8, Failure> {
    // The players print; with stdout closed the game is owed to nobody.
    if common::stdio::was_closed(1) {
        return Err(Failure::new(Exit::Failed, common::cli::CLOSED_STDOUT));
    }
    let signals = SignalWatcher::new(&[Signal::INT, Signal::TERM, Signal::HUP, Signal::CHLD])
        .map_err(|e| Failure::new(Exit::Failed, format!("watching signals ({e})")))?;
    let (players, reports) = if args.naive {
        (start_naive(args)?, None)
    } else if args.shared_queue {
        let (players, reports) = start_shared_queue(args)?;
        (players, Some(reports))
    } else {
        (start_game(args)?, None)
    };
    let ending = supervise(&players, &signals)?;
    match ending {
        Ending::Interrupted(signal) => {
            let _ = print(Exit::Failed, "\n");
            Ok(common::signal::reraise(signal))
        }
        Ending::PlayerFailed(name, pid, exit) => {
            let _ = print(Exit::Failed, "\n");
            Err(Failure::new(
                Exit::Failed,
                format!(
                    "the {name} process ({pid}) {}; stopped the game",
                    describe(exit)
                ),
            ))
        }
        Ending::ReaderGone => Err(Failure::quiet(Exit::Success)),
        Ending::Finished => {
            print(Exit::Failed, "\n")?;
            if args.naive {
                let line = format!(
                    "pingpong: --naive: each process counted its own copy of the counter to {}, so {} words came out, not {}\n",
                    args.count,
                    2 * args.count,
                    args.count
                );
                let _ = io::stderr().write_all(line.as_bytes());
            }
            if let Some(mut reports) = reports {
                reports.close_sending();
                let mut own_back = 0u32;
                while let Ok(Some(report)) = reports.get() {
                    own_back += String::from_utf8_lossy(&report).parse::<u32>().unwrap_or(0);
                }
                let line = format!(
                    "pingpong: --shared-queue: {} words; a process took back its own message {own_back} times\n",
                    args.count
                );
                let _ = io::stderr().write_all(line.as_bytes());
            }
            Ok(Exit::Success.into())
        }
    }
}
