//! `clients <env> list | add | rotate | finish-rotation | remove | sync`: the deployed registry
//! (see `crate::clients` for the rules, `crate::deploy::registry` for the writes).

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{ClientAction, ClientsArgs};
use crate::clients::{Change, ClientStatus, Standing, describe};
use crate::env::Environment;
use crate::session::{block_on, connect, out, target, unix_now};

pub fn run(dir: &Path, args: ClientsArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    block_on(async {
        let aws = connect(&env).await?;
        let store = crate::deploy::registry::deployed(&aws, &env).await?;
        let target = target(&env.name);
        let (change, json) = match &args.action {
            ClientAction::List { json } => {
                let read = store.read().await?;
                print_status(&crate::clients::status(&env, &read.doc, unix_now()), *json, &target)?;
                return Ok(ExitCode::SUCCESS);
            }
            ClientAction::Add { id, json } => (Change::Add(id), *json),
            ClientAction::Rotate { id, overlap, json } => (Change::Rotate(id, *overlap), *json),
            ClientAction::FinishRotation { id } => (Change::FinishRotation(id), false),
            ClientAction::Remove { id, yes } => {
                confirm_removal(id, *yes)?;
                (Change::Remove(id), false)
            }
            ClientAction::Sync => (Change::Sync, false),
        };
        let differing: Vec<String> = match change {
            Change::Sync => crate::clients::status(&env, &store.read().await?.doc, unix_now())
                .into_iter()
                .filter(|r| r.standing == Standing::Differs)
                .map(|r| r.client_id)
                .collect(),
            _ => Vec::new(),
        };
        let secret = store.update(|doc| change.apply(&env, doc, unix_now())).await?;
        match (change, secret) {
            (Change::Add(id) | Change::Rotate(id, _), Some(secret)) => print_secret(id, &secret, json)?,
            (Change::FinishRotation(id), _) => eprintln!("`{id}`: the old secret is removed; only the new one works"),
            (Change::Remove(id), _) => eprintln!("`{id}` is removed from the registry"),
            _ if differing.is_empty() => {
                eprintln!("every registered client already had the file's scopes and lifetimes; nothing changed");
                return Ok(ExitCode::SUCCESS);
            }
            _ => eprintln!("now with the file's scopes and lifetimes: {}", differing.join(", ")),
        }
        eprintln!(
            "warm functions see the change within {} s (their registry cache)",
            token_function::registry::CACHE_TTL.as_secs()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// `remove` asks for the client id at a terminal; without one it needs `--yes`.
fn confirm_removal(id: &str, yes: bool) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(());
    }
    anyhow::ensure!(std::io::stdin().is_terminal(), "removing `{id}`: type its id at a terminal, or pass --yes");
    eprint!("type `{id}` to remove it (it gets no more tokens): ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    anyhow::ensure!(line.trim() == id, "`{id}` not confirmed; nothing removed");
    Ok(())
}

/// The new secret, once, on standard output: `client_id=…` and `client_secret=…` lines, or JSON.
fn print_secret(id: &str, secret: &str, json: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let text = match json {
        true => format!("{}\n", serde_json::json!({ "client_id": id, "client_secret": secret })),
        false => format!("client_id={id}\nclient_secret={secret}\n"),
    };
    // Not `out!`: a reader that went away must not end this quietly, the secret would be lost.
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).map_err(|e| {
        anyhow::anyhow!(
            "the new secret of `{id}` is stored but could not be shown ({e}); give it another with `rotate`, then `finish-rotation`"
        )
    })?;
    eprintln!("the secret is shown only this once: store it in the client's own secret store now");
    Ok(())
}

fn print_status(rows: &[ClientStatus], json: bool, target: &str) -> anyhow::Result<()> {
    if json {
        out!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    for r in rows {
        out!("{:<32} {}", r.client_id, describe(r, target));
    }
    Ok(())
}
