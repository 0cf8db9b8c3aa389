//! The `infra` binary end to end: files written, exit codes, one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn infra(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infra")).args(args).current_dir(cwd).output().unwrap()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn synth_all_writes_templates_and_manifests() {
    let out = tempfile::tempdir().unwrap();
    let o = infra(&["synth", "--all", "--out", out.path().to_str().unwrap()], &workspace());
    assert!(o.status.success(), "{}", stderr(&o));
    for env in ["dev", "staging", "prod"] {
        let dir = out.path().join(env);
        let template: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("service.template.json")).unwrap()).unwrap();
        assert_eq!(template["AWSTemplateFormatVersion"], "2010-09-09");
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["environment"], env);
        assert_eq!(manifest["stacks"][0]["name"], format!("token-service-{env}-bootstrap"));
        assert_eq!(manifest["stacks"][1]["name"], format!("token-service-{env}-service"));
        assert_eq!(manifest["stacks"][1]["termination_protection"], env == "prod");
        assert_eq!(manifest["stacks"][2]["name"], format!("token-service-{env}-monitoring"));
        assert!(dir.join("monitoring.template.json").is_file());
        let runbook = std::fs::read_to_string(dir.join("RUNBOOK.md")).unwrap();
        assert!(runbook.starts_with(&format!("# Runbook: token service, {env}")));
    }
}

#[test]
fn synth_is_byte_stable() {
    let a = infra(&["synth", "prod", "--stdout", "--stack", "monitoring"], &workspace());
    let b = infra(&["synth", "prod", "--stdout", "--stack", "monitoring"], &workspace());
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout);
    let both = infra(&["synth", "prod", "--stdout"], &workspace());
    assert_eq!(both.status.code(), Some(1));
    assert!(stderr(&both).contains("3 stacks match"), "{}", stderr(&both));
}

#[test]
fn synth_yaml_to_stdout() {
    let o = infra(&["synth", "dev", "--stdout", "--format", "yaml", "--stack", "service"], &workspace());
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_norway::Value = serde_norway::from_slice(&o.stdout).unwrap();
    assert!(v.get("Resources").and_then(|r| r.get("TokenFunction")).is_some());
    let o = infra(&["synth", "dev", "--stdout", "--stack", "nope"], &workspace());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("invalid value 'nope' for '--stack <ID>'"), "{}", stderr(&o));
    assert!(stderr(&o).contains("[possible values: bootstrap, service, monitoring]"), "{}", stderr(&o));
}

#[test]
fn works_from_a_subfolder() {
    let o = infra(&["validate", "--all"], &workspace().join("infra"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("prod: 3 stack(s)"), "{}", stderr(&o));
    // Outputs go beside the checkout's environments, as from the top; `docs --check` reads the
    // checkout's runbooks.
    let o = infra(&["synth", "dev"], &workspace().join("infra"));
    assert!(o.status.success(), "{}", stderr(&o));
    let at = workspace().canonicalize().unwrap().join("out/dev/service.template.json");
    assert!(stderr(&o).contains(&at.display().to_string()), "{}", stderr(&o));
    assert!(!workspace().join("infra/out").exists());
    let o = infra(&["docs", "--check"], &workspace().join("infra"));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `--stack` picks what `--stdout` prints; files are written for every stack. A template of the
/// other format from an earlier run is removed, so the folder holds what the manifest lists.
#[test]
fn written_folders_hold_what_the_manifest_lists() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let o = infra(&["synth", "dev", "--stack", "service", "--out", dir], &workspace());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--stdout"), "{}", stderr(&o));
    assert!(infra(&["synth", "dev", "--out", dir], &workspace()).status.success());
    let o = infra(&["synth", "dev", "--out", dir, "--format", "yaml"], &workspace());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("removed ") && stderr(&o).contains("service.template.json"), "{}", stderr(&o));
    let files: Vec<String> = std::fs::read_dir(out.path().join("dev"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".template."))
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| f.ends_with(".yaml")), "{files:?}");
}

#[test]
fn bad_input_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let dev = std::fs::read_to_string(workspace().join("environments/dev.yaml")).unwrap();
    std::fs::write(dir.path().join("dev.yaml"), dev.replace("memory_mb: 256", "memory_mb: 99999")).unwrap();
    std::fs::write(dir.path().join("broken.yaml"), "function: [unclosed\n").unwrap();
    let envs = dir.path().to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["synth", "qa"], "unknown environment `qa`"),
        (&["validate", "dev"], "dev.yaml: function.memory_mb: 99999 is out of range: expected 128 to 10240 at line"),
        (&["validate", "broken"], "broken.yaml: "),
        (&["synth", "--all"], "broken.yaml: function: invalid type: sequence"),
    ];
    for (args, want) in cases {
        let mut full = vec!["--environments", envs];
        full.extend_from_slice(args);
        let o = infra(&full, &workspace());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn validation_errors_exit_1_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let prod = std::fs::read_to_string(workspace().join("environments/prod.yaml")).unwrap();
    std::fs::write(
        dir.path().join("prod.yaml"),
        prod.replace("\ntermination_protection: true", "\ntermination_protection: false"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = infra(
        &["--environments", dir.path().to_str().unwrap(), "synth", "prod", "--out", out.to_str().unwrap()],
        &workspace(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("error[POL001]"), "{}", stderr(&o));
    assert!(!out.exists());
    let o = infra(&["--environments", dir.path().to_str().unwrap(), "validate", "prod", "--json"], &workspace());
    assert_eq!(o.status.code(), Some(1));
    let findings: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(findings[0]["rule"], "POL001");
    assert_eq!(findings[0]["severity"], "error");
}

#[test]
fn list_shows_environments() {
    let o = infra(&["list"], &workspace());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "dev\nprod\nstaging\n");
}

/// Exit codes as Terraform's `-detailed-exitcode`: 2 means "changes" and never an error, so
/// every error path, usage errors included, exits 1.
#[test]
fn errors_never_exit_2() {
    let cases: [(&[&str], i32); 8] = [
        (&["list"], 0),
        (&["--help"], 0),
        (&["synth"], 1),
        (&["no-such-command"], 1),
        (&["diff", "qa"], 1),
        (&["drift", "qa"], 1),
        (&["deploy", "dev", "--no-such-flag"], 1),
        (&["validate", "prod", "--format", "xml"], 1),
    ];
    for (args, code) in cases {
        let o = infra(args, &workspace());
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
    }
}

/// A file whose name cannot be an environment name is refused by `list`, `--all` and by name,
/// in one line naming the file; nothing is skipped silently.
#[test]
fn bad_environment_file_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dev = std::fs::read_to_string(workspace().join("environments/dev.yaml")).unwrap();
    std::fs::write(dir.path().join("dev.yaml"), &dev).unwrap();
    std::fs::write(dir.path().join("qa_1.yaml"), &dev).unwrap();
    let envs = dir.path().to_str().unwrap();
    for args in [&["list"][..], &["validate", "--all"], &["synth", "--all", "--out", envs], &["validate", "qa_1"]] {
        let mut full = vec!["--environments", envs];
        full.extend_from_slice(args);
        let o = infra(&full, &workspace());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("qa_1.yaml: `qa_1` cannot be an environment name"), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    let o = infra(&["--environments", envs, "validate", "dev"], &workspace());
    assert!(o.status.success(), "{}", stderr(&o));
}

/// An STS endpoint on loopback answering every call with `GetCallerIdentity` for `account`, as
/// the real one does for credentials of that account. Returns its URL.
fn sts_answering(account: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let body = format!(
                r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::{account}:user/someone</Arn><UserId>AIDAEXAMPLE</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// `diff` and `drift` exit 2 only for changes or drift: credentials of another account (the
/// issue's case) and a dead endpoint are errors, exit 1, in one line. (A stack in
/// `ROLLBACK_COMPLETE` is the LocalStack test `failed_first_create_is_replaced_on_request`.)
#[test]
fn diff_and_drift_errors_exit_1() {
    let sts = sts_answering("999999999999");
    let dead = "http://127.0.0.1:9";
    // (command, the variable pointing at the endpoint and its value, what the error names)
    let rows = [
        ("diff", ("AWS_ENDPOINT_URL_STS", sts.as_str()), "999999999999"),
        ("drift", ("AWS_ENDPOINT_URL_STS", sts.as_str()), "999999999999"),
        ("diff", ("AWS_ENDPOINT_URL", dead), "GetCallerIdentity"),
        ("drift", ("AWS_ENDPOINT_URL", dead), "GetCallerIdentity"),
    ];
    for (command, var, says) in rows {
        let vars = [var];
        let o = Command::new(env!("CARGO_BIN_EXE_infra"))
            .args([command, "dev"])
            .current_dir(workspace())
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .envs([
                ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                ("INFRA_AWS_TIMEOUT_MS", "3000"),
            ])
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{command} {vars:?}: {err}");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert!(errors.len() == 1 && errors[0].contains(says), "{command} {vars:?}: {err}");
    }
}

/// A port something else holds: one line that says how to choose another, exit 1, for `serve`
/// and the local Lambda's `serve --lambda` alike (which fails before building anything).
#[test]
fn a_taken_port_says_how_to_choose_another() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let o = infra(&["serve", "dev", "--port", &port], &workspace());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("cannot listen on 127.0.0.1:{port}: something else listens there")), "{err}");
    assert!(err.contains("pass --port with another port (--port 0 takes any free one)"), "{err}");
    let o = infra(&["serve", "dev", "--lambda", "--port", &port], &workspace());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("something else listens there"), "{}", stderr(&o));
}
