//! Ctrl-C, once for the whole command. The first SIGINT (or SIGTERM) is recorded rather than
//! ending the process, so each step can stop where it is safe: before a change set runs, it is deleted and
//! nothing changes; while one runs, watching stops and the operation goes on in CloudFormation.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static NOTIFY: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Starts listening for Ctrl-C (SIGINT) and SIGTERM on the current tokio runtime: both stop
/// the command the same way (a CI runner that cancels a job sends SIGINT, then SIGTERM, "Canceling
/// a workflow", GitHub Actions docs). Call once, before any AWS call.
pub fn listen() {
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            trigger();
        }
    });
    #[cfg(unix)]
    tokio::spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate())
            && term.recv().await.is_some()
        {
            trigger();
        }
    });
}

/// Records an interruption, as Ctrl-C does (tests call it directly).
pub fn trigger() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    NOTIFY.notify_waiters();
}

/// Forgets an interruption (for tests that run several operations in one process).
pub fn reset() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}

/// `true` once Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Resolves when Ctrl-C is (or was already) pressed.
pub async fn wait() {
    let notified = NOTIFY.notified();
    if interrupted() {
        return;
    }
    notified.await;
}
