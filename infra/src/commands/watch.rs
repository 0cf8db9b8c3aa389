//! `watch`: the function rebuilt on every save and hotswapped (`deploy --hotswap`), until
//! Ctrl-C, as `cdk watch`, `sam sync --watch` and `cargo lambda watch` do. A change that is not
//! code-only is named and left to `deploy`; watching goes on.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use notify::{EventKind, RecursiveMode, Watcher};

use crate::cli::WatchArgs;
use crate::deploy::pipeline;
use crate::deploy::{guards, interrupt};
use crate::env::Environment;
use crate::session::{block_on, checkout, target, unix_now};
use crate::stacks::service;

/// How long the files must stay quiet after a change before the rebuild starts: an editor's
/// save, or a build writing a zip, is several events.
const QUIET: Duration = Duration::from_millis(300);

/// What is watched: folders (a file replaced by rename is a new file to a watch on the file
/// itself) and which paths under each count.
struct Watched {
    folders: Vec<(PathBuf, RecursiveMode)>,
    files: Vec<PathBuf>,
}

impl Watched {
    /// With `zip`, that file; else the function's crate, the workspace's manifest and lock
    /// file. The environment file always: its change is reported as not code-only.
    fn new(env: &Environment, zip: Option<&Path>) -> anyhow::Result<Self> {
        let mut folders = Vec::new();
        let mut files = vec![absolute(&env.source)?];
        match zip {
            Some(zip) => files.push(absolute(zip)?),
            None => {
                let root = checkout();
                folders.push((root.join("function"), RecursiveMode::Recursive));
                files.extend([root.join("Cargo.toml"), root.join("Cargo.lock")]);
            }
        }
        for file in &files {
            let parent = file.parent().context("a watched file has no folder")?.to_path_buf();
            if !folders.iter().any(|(f, _)| *f == parent) {
                folders.push((parent, RecursiveMode::NonRecursive));
            }
        }
        Ok(Watched { folders, files })
    }

    /// What is watched, for the user: the files and the function crate's folder.
    fn describe(&self) -> String {
        let root = checkout();
        let shown = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
        let mut parts: Vec<String> = self.files.iter().map(|f| shown(f)).collect();
        if self.folders.iter().any(|(_, mode)| *mode == RecursiveMode::Recursive) {
            parts.push(format!("{}/", shown(&root.join("function"))));
        }
        parts.join(", ")
    }

    /// Whether a change of `path` calls for a rebuild.
    fn counts(&self, path: &Path) -> bool {
        let root = checkout().join("function");
        self.files.iter().any(|f| f == path) || (path.starts_with(&root) && !path.starts_with(root.join("target")))
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

pub fn run(dir: &Path, args: WatchArgs) -> anyhow::Result<ExitCode> {
    let env = super::environment(dir, &args.env)?;
    guards::allows_hotswap(&env, &format!("watch {}", args.env))?;
    let watched = Watched::new(&env, args.function_zip.as_deref())?;
    block_on(async {
        let (tx, mut changes) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(e) = event
                && matches!(e.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_))
            {
                e.paths.into_iter().for_each(|p| drop(tx.send(p)));
            }
        })
        .context("cannot watch files")?;
        for (folder, mode) in &watched.folders {
            anyhow::ensure!(folder.is_dir(), "cannot watch {}: no such folder", folder.display());
            watcher.watch(folder, *mode).map_err(|e| anyhow::anyhow!("cannot watch {}: {e}", folder.display()))?;
        }
        eprintln!("watching {}", watched.describe());
        // What the function was last seen running, and whether that is not its stack's code.
        let mut running = None;
        loop {
            // What changed until now is read by this round; later changes start another.
            while changes.try_recv().is_ok() {}
            match cycle(dir, &args).await {
                Ok(Some(seen)) => running = Some(seen),
                Ok(None) => {}
                Err(e) if interrupt::interrupted() => eprintln!("{e:#}"),
                Err(e) => eprintln!("error: {e:#}"),
            }
            if interrupt::interrupted() || !next_change(&mut changes, &watched).await {
                break;
            }
        }
        drop(watcher);
        eprintln!("stopped watching {}", target(&args.env));
        match running {
            Some((key, true)) => eprintln!(
                "{} was last seen running {key}, which is not its stack's code: `cargo run -- drift {}` shows it until a full deploy (`cargo run -- deploy {}`)",
                service::function_name(&env),
                target(&env.name),
                target(&env.name)
            ),
            Some((key, false)) => {
                eprintln!("{} was last seen running its stack's code {key}", service::function_name(&env))
            }
            None => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Waits for a change that counts, then for the files to stay quiet for [`QUIET`]; `false` on
/// Ctrl-C.
async fn next_change(changes: &mut tokio::sync::mpsc::UnboundedReceiver<PathBuf>, watched: &Watched) -> bool {
    eprintln!("watching for changes (Ctrl-C stops)");
    loop {
        tokio::select! {
            changed = changes.recv() => match changed {
                Some(path) if watched.counts(&path) => break,
                Some(_) => {}
                None => return false,
            },
            () = interrupt::wait() => return false,
        }
    }
    loop {
        tokio::select! {
            _ = changes.recv() => {}
            () = tokio::time::sleep(QUIET) => return true,
            () = interrupt::wait() => return false,
        }
    }
}

/// One rebuild and hotswap, with the environment file read again. Returns the key of the code
/// the function runs now and whether it is other than its stack names, where the round found
/// out.
async fn cycle(dir: &Path, args: &WatchArgs) -> anyhow::Result<Option<(String, bool)>> {
    super::forget_folders();
    let env = super::environment(dir, &args.env)?;
    guards::allows_hotswap(&env, &format!("watch {}", args.env))?;
    if !args.ignore_change_window {
        guards::in_change_window(&env, unix_now())?;
    }
    let stacks = super::deploy::validated(&env)?;
    // The build stops its compilers itself on Ctrl-C; the calls after it are stopped at once.
    let artifact = pipeline::artifact(&env, args.function_zip.as_deref()).await?;
    let started = Instant::now();
    let opts = pipeline::Options::default();
    let done = super::deploy::interruptible(&env, async {
        let mut swapper = pipeline::Hotswapper::connect(&env, &opts).await?;
        swapper.attempt(&stacks, &artifact).await
    })
    .await?;
    super::deploy::report(&env, &artifact, &done, started.elapsed());
    Ok(done.drifted().map(|drifted| (artifact.key(), drifted)))
}
